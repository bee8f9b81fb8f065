// The run directory's charts, redrawn from the metrics history at each
// evaluation, checkpoint and at the end: loss.svg (train and validation loss),
// lr.svg, max_vio.svg (MaxVio per MoE layer), expert_load.svg (each expert's
// share of its layer's tokens over the steps), mtp_loss.svg.
#pragma once

#include <string>
#include <vector>

#include "train/metrics.h"

namespace frugal {

void train_plots_write(const std::string& run_dir, const std::vector<StepMetrics>& history);

}  // namespace frugal
