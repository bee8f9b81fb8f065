// The progress line when stderr is not a terminal (as under CTest): plain lines
// at the first step, every plain_every steps and the last, no control characters.
#include <gtest/gtest.h>

#include "train/progress_line.h"

namespace frugal {
namespace {

TEST(ProgressLine, PlainLinesWhenNotATerminal) {
  ::testing::internal::CaptureStderr();
  {
    ProgressLine p(10, {.plain_every = 4});
    for (int s = 1; s <= 10; ++s) p.update(s, 2.0 / s, 1234.4, 10.0 - s);
    p.message("step 10: checkpoint x");
    p.finish();
  }
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out,
            "step 1/10  loss 2.0000  1234 tok/s  ETA 9s\n"
            "step 4/10  loss 0.5000  1234 tok/s  ETA 6s\n"
            "step 8/10  loss 0.2500  1234 tok/s  ETA 2s\n"
            "step 10/10  loss 0.2000  1234 tok/s  ETA 0s\n"
            "step 10: checkpoint x\n");
  ::testing::internal::CaptureStderr();
  {
    ProgressLine quiet(10, {.enabled = false});
    quiet.update(1, 1, 1, 1);
    quiet.message("x");
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(ProgressLine, Durations) {
  EXPECT_EQ(format_duration(45.4), "45s");
  EXPECT_EQ(format_duration(478), "7m58s");
  EXPECT_EQ(format_duration(3 * 3600 + 125), "3h02m");
  EXPECT_EQ(format_duration(-1), "?");
}

}  // namespace
}  // namespace frugal
