// frugal tokenizer-train --input FILES... --vocab-size N -o tokenizer.json:
// trains a byte-level BPE tokenizer with the DeepSeek chat tokens on text files
// and writes tokenizer.json and tokenizer_config.json (beside it), the pair that
// frugal and Hugging Face load for a model directory.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/seconds_since.h"
#include "tokenizer/bpe_trainer.h"

namespace frugal {

namespace {

namespace fs = std::filesystem;

struct TokenizerTrainArgs {
  std::vector<std::string> inputs;
  std::string output;
  int64_t vocab_size = 0;
  uint64_t min_frequency = 2;
  uint64_t max_bytes = 0;
  int64_t model_max_length = 4096;
};

// Progress on a terminal only, at most ten updates a second.
class ProgressLine {
 public:
  explicit ProgressLine(bool on) : on_(on) {}
  template <typename... Args>
  void show(fmt::format_string<Args...> f, Args&&... args) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::fprintf(stderr, "\r\033[K%s", fmt::format(f, std::forward<Args>(args)...).c_str());
  }
  void done() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_{};
};

int run_tokenizer_train(const TokenizerTrainArgs& a) {
  const auto added = bpe_trainer_added_tokens();
  const int64_t base = int64_t(added.size()) + 256;
  if (a.vocab_size < base)
    fail("--vocab-size {} is too small: the {} chat tokens and 256 byte tokens alone take {}; ask for more "
         "(a few thousand for a small model)",
         a.vocab_size, added.size(), base);
  if (a.model_max_length <= 0) fail("--model-max-length must be positive, got {}", a.model_max_length);

  if (a.output.empty()) fail("-o: give the path of the tokenizer.json to write");
  // -o may name a directory (existing, or ending in '/'): tokenizer.json goes inside.
  fs::path out = a.output;
  if (fs::is_directory(out) || a.output.back() == '/') out /= "tokenizer.json";
  const fs::path config = out.parent_path() / "tokenizer_config.json";
  if (out.filename() == "tokenizer_config.json")
    fail("-o {}: that name is the config file written beside tokenizer.json; name the tokenizer.json", a.output);

  ProgressLine progress(isatty(2));
  auto t0 = std::chrono::steady_clock::now();
  BpeWordCounter words({.max_bytes = a.max_bytes, .on_progress = [&](uint64_t bytes) {
                          progress.show("tokenizer-train: counting words: {:.1f} MB", double(bytes) / 1e6);
                        }});
  for (const std::string& path : a.inputs)
    if (!words.add_file(path)) break;  // --max-bytes reached
  progress.done();
  const double count_s = seconds_since(t0);
  if (words.bytes() == 0) fail("no text in the --input files ({} given)", a.inputs.size());

  t0 = std::chrono::steady_clock::now();
  const BpeTrainResult r = bpe_train(words, {.vocab_size = a.vocab_size,
                                             .min_frequency = a.min_frequency,
                                             .on_progress = [&](int64_t done, int64_t total) {
                                               progress.show("tokenizer-train: merges {} / {}", done, total);
                                             }});
  progress.done();
  const double merge_s = seconds_since(t0);

  if (!out.parent_path().empty()) fs::create_directories(out.parent_path());
  write_file_atomic(out.string(), bpe_tokenizer_json(r));
  write_file_atomic(config.string(), bpe_tokenizer_config_json(r, a.model_max_length));

  const int64_t learned = int64_t(r.vocab.size()) - base;
  std::fprintf(stderr,
               "tokenizer-train: %.2f MB, %zu distinct words counted in %.2f s (%.1f MB/s); %zu merges (%lld new "
               "tokens) in %.2f s; vocabulary %zu = %zu chat tokens + 256 bytes + %lld\n",
               double(words.bytes()) / 1e6, words.distinct_words(), count_s,
               count_s > 0 ? double(words.bytes()) / count_s / 1e6 : 0.0, r.merges.size(), (long long)learned, merge_s,
               r.vocab.size(), added.size(), (long long)learned);
  if (r.exhausted) {
    const std::string why =
        a.min_frequency <= 1 ? std::string("every word of the text is a single token already (more text gives more)")
                             : fmt::format("no pair of tokens occurs {} times or more any more (more text or a lower "
                                           "--min-frequency gives more)",
                                           a.min_frequency);
    std::fprintf(stderr, "tokenizer-train: warning: the vocabulary has %zu tokens, not %lld: %s\n", r.vocab.size(),
                 (long long)a.vocab_size, why.c_str());
  }
  std::fprintf(stderr, "tokenizer-train: wrote %s and %s\n", out.c_str(), config.c_str());
  return 0;
}

}  // namespace

Command tokenizer_train_command(CLI::App& app) {
  auto a = std::make_shared<TokenizerTrainArgs>();
  CLI::App* sub = app.add_subcommand("tokenizer-train", "Train a byte-level BPE tokenizer.json on text files");
  sub->add_option("--input", a->inputs, "Text files to train on (UTF-8; read in order)")->required()->expected(1, -1);
  const size_t chat_tokens = bpe_trainer_added_tokens().size();
  sub->add_option("--vocab-size", a->vocab_size,
                  fmt::format("Tokens in all, counting the {} chat tokens (ids 0-{}, BOS = 0, EOS = 1) and the 256 bytes",
                              chat_tokens, chat_tokens - 1))
      ->required();
  sub->add_option("-o,--output", a->output,
                  "Where to write tokenizer.json (a directory: DIR/tokenizer.json); tokenizer_config.json goes beside "
                  "it")
      ->required();
  sub->add_option("--min-frequency", a->min_frequency, "Never merge a pair seen fewer times than this")
      ->capture_default_str();
  sub->add_option("--max-bytes", a->max_bytes, "Read at most this much text (e.g. 64MB; default: all)")
      ->transform(CLI::AsSizeValue(false));
  sub->add_option("--model-max-length", a->model_max_length, "model_max_length of tokenizer_config.json")
      ->capture_default_str();
  return {sub, [a] { return run_tokenizer_train(*a); }};
}

}  // namespace frugal
