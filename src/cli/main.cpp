// frugal: DeepSeek-V3 / R1 in one native program.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "kernels/dispatch.h"

int main(int argc, char** argv) {
  CLI::App app{"frugal: run, serve and train DeepSeek-V3 / R1 models on CPUs"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  std::vector<frugal::Command> commands = {
      frugal::run_command(app),
      frugal::chat_command(app),
      frugal::logits_command(app),
      frugal::synth_command(app),
      frugal::tokenize_command(app),
      frugal::tokenizer_train_command(app),
      frugal::bench_command(app),
      frugal::quantize_command(app),
      frugal::eval_command(app),
      frugal::grpo_command(app),
      frugal::corpus_command(app),
      frugal::train_command(app),
      frugal::serve_command(app),
  };
  try {
    frugal::kernels_env_check();  // a bad FRUGAL_FP8 stops here, not inside a kernel
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const frugal::Error& e) {
    std::fprintf(stderr, "frugal: error: %s\n", e.what());
    return 1;
  }
  try {
    for (auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const frugal::Error& e) {
    std::fprintf(stderr, "frugal: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "frugal: error: out of memory\n");
    return 1;
  }
  return 1;
}
