// The trainer's progress on stderr: "step 120/1000  loss 3.412  1840 tok/s  ETA 7m58s",
// rewritten in place ("\r") when stderr is a terminal, else printed as plain
// lines now and then (log files and CI get no control characters).
#pragma once

#include <cstdint>
#include <string>

namespace frugal {

struct ProgressOptions {
  bool enabled = true;
  int64_t plain_every = 0;  // when not a terminal: a line every this many steps (0: about 50 lines per run)
};

class ProgressLine {
 public:
  ProgressLine(int64_t total_steps, const ProgressOptions& opt);
  void update(int64_t step, double loss, double tokens_per_s, double eta_s);
  // A line of its own (an evaluation, a checkpoint), not overwritten.
  void message(const std::string& text);
  void finish();

 private:
  int64_t total_;
  ProgressOptions opt_;
  bool tty_ = false, open_line_ = false;
};

std::string format_duration(double seconds);  // "45s", "7m58s", "3h02m"

}  // namespace frugal
