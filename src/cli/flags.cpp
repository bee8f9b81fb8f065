#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "kernels/dispatch.h"

namespace frugal {

std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& flag) {
  std::vector<int32_t> ids;
  std::string s = text;
  for (char& c : s)
    if (c == ',') c = ' ';
  std::istringstream in(s);
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(word.c_str(), &end, 10);
    if (*end != '\0' || errno || v < 0 || v > INT32_MAX)
      fail("{}: '{}' is not a token id (expected non-negative integers separated by spaces)", flag, word);
    ids.push_back(int32_t(v));
  }
  if (ids.empty()) fail("{}: no token ids given", flag);
  return ids;
}

std::string resolve_model_dir(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("FRUGAL_MODEL"); env && *env) return env;
  // The shipped reasoning model (make model), found from the project root.
  for (const char* dir : {"models/frugal-r1-tiny", "models/default"})
    if (std::filesystem::exists(std::filesystem::path(dir) / "config.json")) return dir;
  fail("no model given: pass -m DIR (a Hugging Face model folder) or set FRUGAL_MODEL");
}

AttnMode attn_mode_parse(const std::string& name) {
  return name == "naive" ? AttnMode::Naive : name == "absorb" ? AttnMode::Absorb : AttnMode::Auto;
}

int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

void mmap_flag_add(CLI::App* sub, bool& mmap) {
  sub->add_flag("--mmap", mmap,
                "Map the weights from their files instead of copying them into huge pages (the default when they "
                "take at most half of the available memory; FRUGAL_WEIGHTS=map|copy sets it too)");
}

WeightLoad weight_load(bool mmap) { return mmap ? WeightLoad::Map : WeightLoad::Auto; }

void bf16_activations_flag_add(CLI::App* sub) {
  sub->add_flag_callback(
      "--bf16-activations", [] { dpbf16_x_single_set(true); },
      "fp8 and bf16 weight products round the activations to one bf16 (2^-9 relative) instead of two (2^-17): "
      "about twice the products per second in batched decode and prefill on AVX512-BF16 CPUs; results stay "
      "independent of the batch (FRUGAL_FP8=bf16 sets it too)");
}

}  // namespace frugal
