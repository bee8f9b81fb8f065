// frugal run [-m DIR] -p TEXT [--raw] | --tokens "..." : one answer, streamed.
// -p renders TEXT as a user turn in the model's chat format (reasoning shown
// apart); --raw continues TEXT as plain text; --tokens takes and prints ids.
#include <cstdio>
#include <memory>
#include <unistd.h>

#include "cli/chat_display.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "infer/generate.h"

namespace frugal {

namespace {

struct RunArgs : GenerationArgs {
  std::string prompt, tokens, system;
  bool raw = false, ignore_eos = false;
};

int run_token_ids(const RunArgs& a, const std::string& dir) {
  std::vector<int32_t> prompt = parse_token_ids(a.tokens, "--tokens");
  auto m = model_load(dir, weight_load(a.mmap));
  ThreadPool pool(a.threads > 0 ? a.threads : default_threads());
  GenerateOptions o;
  o.max_tokens = a.max_tokens;
  o.context = std::min<int64_t>(a.ctx, int64_t(prompt.size()) + a.max_tokens);
  o.attn = generation_attn(a);
  o.sampling = generation_sampling(a);
  o.speculative = a.speculative;
  if (!a.ignore_eos && m->config.eos_token_id >= 0) o.stop_tokens = {int32_t(m->config.eos_token_id)};
  GenerateStats st = generate(*m, prompt, o, [](int32_t id) {
    std::printf("%d ", id);
    std::fflush(stdout);
    return true;
  }, pool);
  std::printf("\n");
  std::fflush(stdout);
  std::fprintf(stderr, "prompt %lld tokens in %.3f s (%.1f tok/s); generated %lld tokens in %.3f s (%.1f tok/s)%s\n",
               (long long)st.prompt_tokens, st.prefill_seconds, st.prompt_tokens / std::max(st.prefill_seconds, 1e-9),
               (long long)st.generated_tokens, st.decode_seconds, st.generated_tokens / std::max(st.decode_seconds, 1e-9),
               st.stopped_at_stop_token ? ", stopped at EOS" : "");
  if (st.spec.steps > 0) std::fprintf(stderr, "%s\n", spec_summary(st.spec).c_str());
  return 0;
}

int run_text(const RunArgs& a, const std::string& dir) {
  auto m = model_load(dir, weight_load(a.mmap));
  Tokenizer tok = tokenizer_load_dir(dir);
  ThreadPool pool(a.threads > 0 ? a.threads : default_threads());
  ChatSessionOptions o = generation_session_options(a);
  if (a.raw && o.format.empty()) o.format = "deepseek-v3";  // unused by complete(); skips detection
  ChatSession session(*m, tok, o, pool);
  ChatReplyStats st;
  if (a.raw) {
    std::fputs(a.prompt.c_str(), stdout);
    st = session.complete(a.prompt, [](const std::string& s) { std::fputs(s.c_str(), stdout), std::fflush(stdout); });
    std::fputs("\n", stdout);
  } else {
    session.set_system(a.system);
    ChatDisplay show(isatty(1));
    st = session.reply(a.prompt, [&](const std::string& r, const std::string& c) {
      show.reasoning(r);
      show.content(c);
    });
    show.end();
  }
  chat_stats_print(st);
  return 0;
}

}  // namespace

Command run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  a->max_tokens = 256;
  CLI::App* sub = app.add_subcommand("run", "Generate one answer to a prompt");
  generation_flags_add(sub, *a);
  auto* p = sub->add_option("-p,--prompt", a->prompt, "Prompt text (the model needs a tokenizer.json)");
  auto* t = sub->add_option("--tokens", a->tokens, "Prompt as token ids, space-separated; prints ids");
  p->excludes(t);
  sub->add_option("--system", a->system, "System prompt (with -p)");
  sub->add_flag("--raw", a->raw, "Continue the prompt as plain text instead of a chat turn");
  sub->add_flag("--ignore-eos", a->ignore_eos, "Do not stop at the end-of-sequence token (with --tokens)");
  return {sub, [a] {
            const std::string dir = resolve_model_dir(a->model);
            if (!a->tokens.empty()) return run_token_ids(*a, dir);
            if (a->prompt.empty()) fail("give a prompt: -p TEXT, or --tokens \"1 2 3\"");
            return run_text(*a, dir);
          }};
}

}  // namespace frugal
