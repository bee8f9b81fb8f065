#include "train/train_plots.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "train/svg_chart.h"

namespace frugal {

namespace {

constexpr size_t kMaxHeatColumns = 200;  // steps are averaged into at most this many columns

SvgSeries series(const std::string& name, const std::vector<StepMetrics>& h, double (*get)(const StepMetrics&)) {
  SvgSeries s{name, {}, {}};
  for (const StepMetrics& m : h) {
    s.x.push_back(double(m.step));
    s.y.push_back(get(m));
  }
  return s;
}

}  // namespace

void train_plots_write(const std::string& run_dir, const std::vector<StepMetrics>& h) {
  namespace fs = std::filesystem;
  auto out = [&](const char* name) { return (fs::path(run_dir) / name).string(); };

  SvgSeries val{"validation (main)", {}, {}};
  for (const StepMetrics& m : h)
    if (m.val) val.x.push_back(double(m.step)), val.y.push_back(m.val->main);
  write_file_atomic(out("loss.svg"), svg_line_chart({.title = "loss", .x_label = "step", .y_label = "cross-entropy (nats)",
                                                     .series = {series("train (total)", h, [](const StepMetrics& m) { return m.loss; }),
                                                                series("train (main)", h, [](const StepMetrics& m) { return m.main; }),
                                                                val}}));
  write_file_atomic(out("lr.svg"), svg_line_chart({.title = "learning rate", .x_label = "step", .y_label = "lr",
                                                   .series = {series("lr", h, [](const StepMetrics& m) { return m.lr; })}}));
  SvgSeries mtp_val{"validation", {}, {}};
  for (const StepMetrics& m : h)
    if (m.val) mtp_val.x.push_back(double(m.step)), mtp_val.y.push_back(m.val->mtp);
  write_file_atomic(out("mtp_loss.svg"), svg_line_chart({.title = "MTP loss", .x_label = "step", .y_label = "cross-entropy (nats)",
                                                         .series = {series("train", h, [](const StepMetrics& m) { return m.mtp; }), mtp_val}}));

  const size_t layers = h.empty() ? 0 : h.back().max_vio.size();
  SvgLineChart vio{.title = "MaxVio per MoE layer", .x_label = "step", .y_label = "(max load - mean) / mean"};
  for (size_t l = 0; l < layers; ++l) {
    SvgSeries s{"MoE layer " + std::to_string(l), {}, {}};
    for (const StepMetrics& m : h)
      if (l < m.max_vio.size()) s.x.push_back(double(m.step)), s.y.push_back(m.max_vio[l]);
    vio.series.push_back(std::move(s));
  }
  write_file_atomic(out("max_vio.svg"), svg_line_chart(vio));

  // Rows: (layer, expert); columns: bins of steps; cell: the expert's share of
  // the layer's routed tokens in that bin.
  SvgHeatMap heat{.title = "expert load (share of the layer's tokens)", .x_label = "step",
                  .y_label = "MoE layer L, expert E"};
  if (!h.empty() && !h.back().expert_load.empty()) {
    const auto& shape = h.back().expert_load;
    const size_t bins = std::min(h.size(), kMaxHeatColumns);
    for (size_t l = 0; l < shape.size(); ++l)
      for (size_t e = 0; e < shape[l].size(); ++e) {
        heat.cells.emplace_back(bins, 0.0);
        heat.row_labels.push_back(shape.size() > 1 ? fmt::format("L{} E{}", l, e) : fmt::format("E{}", e));
      }
    std::vector<double> totals(bins * shape.size(), 0.0);
    for (size_t i = 0; i < h.size(); ++i) {
      const size_t bin = i * bins / h.size();
      size_t row = 0;
      for (size_t l = 0; l < shape.size() && l < h[i].expert_load.size(); ++l)
        for (size_t e = 0; e < shape[l].size() && e < h[i].expert_load[l].size(); ++e, ++row) {
          heat.cells[row][bin] += double(h[i].expert_load[l][e]);
          totals[bin * shape.size() + l] += double(h[i].expert_load[l][e]);
        }
    }
    size_t row = 0;
    for (size_t l = 0; l < shape.size(); ++l)
      for (size_t e = 0; e < shape[l].size(); ++e, ++row)
        for (size_t b = 0; b < bins; ++b) {
          const double t = totals[b * shape.size() + l];
          heat.cells[row][b] = t > 0 ? heat.cells[row][b] / t : 0.0;
        }
    for (size_t b = 0; b < bins; ++b) heat.x_values.push_back(double(h[b * h.size() / bins].step));
  }
  write_file_atomic(out("expert_load.svg"), svg_heat_map(heat));
}

}  // namespace frugal
