// The run's record: metrics.jsonl in the run directory, one JSON object per
// optimizer step:
//   {"step", "lr", "loss", "main", "mtp", "balance", "z", "tokens", "grad_norm",
//    "clip_scale", "tokens_per_s", "elapsed_s", "max_vio": [per MoE layer],
//    "expert_load": [[per expert] per MoE layer], "val": {"loss", "main", "mtp",
//    "tokens"} (on evaluation steps only)}
// A resumed run first drops the records after its checkpoint's step, so the
// file reads as one uninterrupted run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal {

struct EvalMetrics {
  double loss = 0, main = 0, mtp = 0;
  int64_t tokens = 0;
};

struct StepMetrics {
  int64_t step = 0;  // optimizer steps done, counting this one (1-based)
  double lr = 0;
  double loss = 0, main = 0, mtp = 0, balance = 0, z = 0;
  int64_t tokens = 0;  // main-loss targets in this step's batches
  double grad_norm = 0, clip_scale = 1;
  double tokens_per_s = 0, elapsed_s = 0;
  std::vector<double> max_vio;
  std::vector<std::vector<int64_t>> expert_load;
  std::optional<EvalMetrics> val;
};

nlohmann::json step_metrics_to_json(const StepMetrics& m);
StepMetrics step_metrics_from_json(const nlohmann::json& j);

// The records of a metrics JSONL file with "step" <= last_step, the file
// rewritten to hold only those (a resumed run drops what a killed run logged
// past its checkpoint). Throws frugal::Error naming a line that is not a record.
std::vector<nlohmann::json> metrics_keep_through(const std::string& path, int64_t last_step);

class MetricsLog {
 public:
  // A new run (keep_through_step < 0) starts the file afresh; a resumed one
  // keeps the records with step <= keep_through_step.
  MetricsLog(const std::string& path, int64_t keep_through_step);
  void append(const StepMetrics& m);  // written and flushed at once
  const std::vector<StepMetrics>& history() const { return history_; }

 private:
  std::string path_;
  std::vector<StepMetrics> history_;
};

}  // namespace frugal
