// Self-contained SVG charts for the run directory (no plotting library): line
// charts with axes, ticks and a legend, and a heat map with a colour scale.
// Non-finite points are skipped.
#pragma once

#include <string>
#include <vector>

namespace frugal {

struct SvgSeries {
  std::string name;
  std::vector<double> x, y;
};

struct SvgLineChart {
  std::string title, x_label, y_label;
  std::vector<SvgSeries> series;
  bool log_y = false;  // logarithmic y axis (values <= 0 skipped)
};
std::string svg_line_chart(const SvgLineChart& chart);

struct SvgHeatMap {
  std::string title, x_label, y_label;
  std::vector<std::vector<double>> cells;  // [row (y, drawn top to bottom)][column (x)]
  std::vector<double> x_values;            // the x of each column, for the axis ticks
  std::vector<std::string> row_labels;     // one per row (default: the row index)
};
std::string svg_heat_map(const SvgHeatMap& map);

}  // namespace frugal
