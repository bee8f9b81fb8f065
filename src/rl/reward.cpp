#include "rl/reward.h"

#include <cctype>

#include "rl/task_rng.h"

namespace frugal {
namespace {

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>", kAnswerClose = "</answer>";

std::string_view skip_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}
bool all_space(std::string_view s) { return skip_space(s).empty(); }

}  // namespace

CompletionParts completion_parse(std::string_view text, bool starts_in_reasoning) {
  CompletionParts out;
  // The answer: the last <answer>...</answer> pair, wherever it is.
  size_t a_close = text.rfind(kAnswerClose);
  size_t a_open = a_close == std::string_view::npos ? a_close : text.rfind(kAnswerOpen, a_close);
  if (a_open != std::string_view::npos) {
    out.has_answer = true;
    out.answer = std::string(text.substr(a_open + kAnswerOpen.size(), a_close - a_open - kAnswerOpen.size()));
  }

  std::string_view rest = text;
  if (!starts_in_reasoning) {
    rest = skip_space(rest);
    if (rest.substr(0, kThinkOpen.size()) != kThinkOpen) return out;
    rest.remove_prefix(kThinkOpen.size());
  }
  size_t t_close = rest.find(kThinkClose);
  if (t_close == std::string_view::npos) return out;
  out.thinking = std::string(rest.substr(0, t_close));
  if (out.thinking.find(kThinkOpen) != std::string::npos) return out;  // nested or repeated block
  rest = skip_space(rest.substr(t_close + kThinkClose.size()));
  if (rest.substr(0, kAnswerOpen.size()) != kAnswerOpen) return out;
  rest.remove_prefix(kAnswerOpen.size());
  size_t close = rest.find(kAnswerClose);
  if (close == std::string_view::npos) return out;
  std::string_view answer = rest.substr(0, close);
  if (answer.find(kAnswerOpen) != std::string_view::npos) return out;
  out.format_ok = all_space(rest.substr(close + kAnswerClose.size()));
  return out;
}

Reward reward_compute(const CompletionParts& parts, bool correct, const RewardOptions& opt, uint64_t sample_id) {
  Reward r;
  r.correct = correct && parts.has_answer;
  r.format_ok = parts.format_ok;
  if (opt.random) {
    TaskRng rng(opt.random_seed, sample_id);
    r.total = rng.unit() < opt.random_p ? opt.accuracy_weight + opt.format_weight : 0.0f;
  } else {
    r.total = (r.correct ? opt.accuracy_weight : 0.0f) + (r.format_ok ? opt.format_weight : 0.0f);
  }
  return r;
}

}  // namespace frugal
