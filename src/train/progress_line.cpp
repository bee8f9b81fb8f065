#include "train/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace frugal {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = int64_t(std::llround(s));
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

ProgressLine::ProgressLine(int64_t total_steps, const ProgressOptions& opt) : total_(total_steps), opt_(opt) {
  tty_ = ::isatty(::fileno(stderr)) != 0;
  if (opt_.plain_every <= 0) opt_.plain_every = std::max<int64_t>(1, total_steps / 50);
}

void ProgressLine::update(int64_t step, double loss, double tok_s, double eta_s) {
  if (!opt_.enabled) return;
  const std::string line = fmt::format("step {}/{}  loss {:.4f}  {:.0f} tok/s  ETA {}", step, total_, loss, tok_s,
                                       format_duration(eta_s));
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    open_line_ = true;
  } else if (step % opt_.plain_every == 0 || step == total_ || step == 1) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressLine::message(const std::string& text) {
  if (!opt_.enabled) return;
  if (open_line_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", text.c_str());
  open_line_ = false;
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (opt_.enabled && open_line_) std::fprintf(stderr, "\n");
  open_line_ = false;
}

}  // namespace frugal
