#include "train/svg_chart.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace frugal {

namespace {

constexpr double kW = 720, kH = 420;                            // canvas
constexpr double kLeft = 70, kRight = 170, kTop = 40, kBottom = 50;  // margins (legend on the right)
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

std::string header(const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n",
      kW, kH, kW / 2, escape(title));
}

// About n "nice" tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int n) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(std::fabs(v) < 1e-12 * step ? 0 : v);
  return t;
}

std::string axes(double x0, double x1, double y0, double y1, bool log_y, const std::string& xl, const std::string& yl) {
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  std::string s = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n",
                              kLeft, kTop, pw, ph);
  for (double t : ticks(x0, x1, 6)) {
    const double px = kLeft + (t - x0) / (x1 - x0) * pw;
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
                     "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:g}</text>\n",
                     px, kTop, kTop + ph, kTop + ph + 16, t);
  }
  for (double t : ticks(y0, y1, 5)) {
    const double py = kTop + ph - (t - y0) / (y1 - y0) * ph;
    s += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
                     "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.4g}</text>\n",
                     kLeft, py, kLeft + pw, kLeft - 6, py + 4, log_y ? std::pow(10.0, t) : t);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, kH - 10, escape(xl));
  s += fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n",
                   kTop + ph / 2, escape(yl));
  return s;
}

}  // namespace

std::string svg_line_chart(const SvgLineChart& c) {
  auto ty = [&](double y) { return c.log_y ? std::log10(y) : y; };
  auto usable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!c.log_y || y > 0); };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const SvgSeries& s : c.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (usable(s.x[i], s.y[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
      }
  std::string out = header(c.title);
  if (!std::isfinite(x0)) return out + "<text x=\"50%\" y=\"50%\" text-anchor=\"middle\">no data yet</text>\n</svg>\n";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  out += axes(x0, x1, y0, y1, c.log_y, c.x_label, c.y_label);
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  for (size_t k = 0; k < c.series.size(); ++k) {
    const SvgSeries& s = c.series[k];
    const char* colour = kColours[k % std::size(kColours)];
    std::string pts;
    size_t n_pts = 0;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (usable(s.x[i], s.y[i])) {
        pts += fmt::format("{:.1f},{:.1f} ", kLeft + (s.x[i] - x0) / (x1 - x0) * pw, kTop + ph - (ty(s.y[i]) - y0) / (y1 - y0) * ph);
        ++n_pts;
      }
    if (n_pts == 1) {  // a lone point (e.g. one evaluation) is drawn as a dot
      const auto comma = pts.find(',');
      out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", pts.substr(0, comma),
                         pts.substr(comma + 1, pts.size() - comma - 2), colour);
    } else if (n_pts > 1) {
      out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", colour, pts);
    }
    const double ly = kTop + 10 + 18 * double(k);
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
                       "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
                       kW - kRight + 12, ly, kW - kRight + 32, colour, kW - kRight + 38, ly + 4, escape(s.name));
  }
  return out + "</svg>\n";
}

std::string svg_heat_map(const SvgHeatMap& m) {
  std::string out = header(m.title);
  const size_t rows = m.cells.size(), cols = rows ? m.cells[0].size() : 0;
  if (rows == 0 || cols == 0) return out + "<text x=\"50%\" y=\"50%\" text-anchor=\"middle\">no data yet</text>\n</svg>\n";
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : m.cells)
    for (double v : r)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi == lo) hi = lo + 1;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const double cw = pw / double(cols), ch = ph / double(rows);
  // White (lo) to dark blue (hi).
  auto colour = [&](double v) {
    const double t = std::isfinite(v) ? (v - lo) / (hi - lo) : 0;
    return fmt::format("rgb({},{},{})", int(255 - 225 * t), int(255 - 180 * t), int(255 - 75 * t));
  };
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < std::min(cols, m.cells[r].size()); ++c)
      out += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n",
                         kLeft + double(c) * cw, kTop + double(r) * ch, cw + 0.05, ch + 0.05, colour(m.cells[r][c]));
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", kLeft, kTop, pw, ph);
  for (size_t r = 0; r < rows; ++r)
    if (rows <= 32 || r % (rows / 16) == 0)
      out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
                         kTop + (double(r) + 0.5) * ch + 4, r < m.row_labels.size() ? escape(m.row_labels[r]) : std::to_string(r));
  if (!m.x_values.empty()) {
    const double x0 = m.x_values.front(), x1 = m.x_values.back();
    for (double t : ticks(x0, x1, 6)) {
      const double px = kLeft + (x1 > x0 ? (t - x0) / (x1 - x0) : 0) * (pw - cw) + cw / 2;
      out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", px, kTop + ph + 16, t);
    }
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, kH - 10, escape(m.x_label));
  out += fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n",
                     kTop + ph / 2, escape(m.y_label));
  // Colour scale.
  for (int i = 0; i < 10; ++i) {
    const double v = lo + (hi - lo) * (9 - i) / 9.0;
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{:.1f}\" fill=\"{}\"/>\n", kW - kRight + 20,
                       kTop + i * ph / 10, ph / 10 + 0.5, colour(v));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\">{:.3g}</text><text x=\"{}\" y=\"{}\">{:.3g}</text>\n", kW - kRight + 42,
                     kTop + 10, hi, kW - kRight + 42, kTop + ph, lo);
  return out + "</svg>\n";
}

}  // namespace frugal
