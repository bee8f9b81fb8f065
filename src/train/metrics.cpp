#include "train/metrics.h"

#include <cmath>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace frugal {

using nlohmann::json;

json step_metrics_to_json(const StepMetrics& m) {
  json j = {{"step", m.step},       {"lr", m.lr},
            {"loss", m.loss},       {"main", m.main},
            {"mtp", m.mtp},         {"balance", m.balance},
            {"z", m.z},             {"tokens", m.tokens},
            {"grad_norm", m.grad_norm}, {"clip_scale", m.clip_scale},
            {"tokens_per_s", m.tokens_per_s}, {"elapsed_s", m.elapsed_s},
            {"max_vio", m.max_vio}, {"expert_load", m.expert_load}};
  if (m.val) j["val"] = {{"loss", m.val->loss}, {"main", m.val->main}, {"mtp", m.val->mtp}, {"tokens", m.val->tokens}};
  return j;
}

namespace {
// JSON has no NaN / inf: nlohmann writes them as null, read back as NaN.
double num(const json& j, const char* key, double missing) {
  auto it = j.find(key);
  if (it == j.end()) return missing;
  return it->is_number() ? it->get<double>() : std::nan("");
}
}  // namespace

StepMetrics step_metrics_from_json(const json& j) {
  StepMetrics m;
  m.step = j.at("step").get<int64_t>();
  m.lr = num(j, "lr", 0.0);
  m.loss = num(j, "loss", 0.0);
  m.main = num(j, "main", 0.0);
  m.mtp = num(j, "mtp", 0.0);
  m.balance = num(j, "balance", 0.0);
  m.z = num(j, "z", 0.0);
  m.tokens = j.value("tokens", int64_t(0));
  m.grad_norm = num(j, "grad_norm", 0.0);
  m.clip_scale = num(j, "clip_scale", 1.0);
  m.tokens_per_s = num(j, "tokens_per_s", 0.0);
  m.elapsed_s = num(j, "elapsed_s", 0.0);
  if (j.contains("max_vio")) for (const json& x : j["max_vio"]) m.max_vio.push_back(x.is_number() ? x.get<double>() : std::nan(""));
  if (j.contains("expert_load")) m.expert_load = j["expert_load"].get<std::vector<std::vector<int64_t>>>();
  if (j.contains("val")) {
    const json& v = j["val"];
    m.val = EvalMetrics{num(v, "loss", 0.0), num(v, "main", 0.0), num(v, "mtp", 0.0), v.value("tokens", int64_t(0))};
  }
  return m;
}

std::vector<json> metrics_keep_through(const std::string& path, int64_t last_step) {
  std::vector<json> kept;
  std::string text;
  std::ifstream in(path);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step"))
      fail("{}:{}: not a metrics record (the file should hold one JSON object per line)", path, n);
    if (j.at("step").get<int64_t>() > last_step) continue;
    kept.push_back(std::move(j));
    text += line + "\n";
  }
  write_file_atomic(path, text);
  return kept;
}

MetricsLog::MetricsLog(const std::string& path, int64_t keep_through_step) : path_(path) {
  if (keep_through_step < 0) {
    write_file_atomic(path, "");
    return;
  }
  for (const json& j : metrics_keep_through(path, keep_through_step)) history_.push_back(step_metrics_from_json(j));
}

void MetricsLog::append(const StepMetrics& m) {
  std::ofstream out(path_, std::ios::app);
  out << step_metrics_to_json(m).dump() << "\n";
  out.flush();
  if (!out) fail("{}: cannot append metrics", path_);
  history_.push_back(m);
}

}  // namespace frugal
