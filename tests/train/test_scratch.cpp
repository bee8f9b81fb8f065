// Scratch (train/scratch.h): per-step temporaries reuse the memory of earlier
// ones, so a training step in its steady state allocates nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "train/scratch.h"

namespace frugal::train {
namespace {

// The free list is per thread: each test runs in a fresh thread so that what
// other tests left there does not count.
template <class F>
void in_fresh_thread(F f) {
  std::thread t(f);
  t.join();
}

TEST(Scratch, ReusesAReleasedBufferWithoutAllocating) {
  in_fresh_thread([] {
    float* first = nullptr;
    {
      Scratch<float> a(1000, Scratch<float>::kZero);
      first = a.data();
      for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], 0.0f);
      a[7] = 3.0f;
    }
    EXPECT_EQ(Scratch<float>::free_buffers(), 1);
    Scratch<float> b(800, Scratch<float>::kUninitialized);  // smaller: the same memory
    EXPECT_EQ(b.data(), first);
    EXPECT_EQ(b.size(), 800);
    EXPECT_EQ(b[7], 3.0f);  // uninitialized means: as the last user left it
    EXPECT_EQ(Scratch<float>::free_buffers(), 0);
  });
}

TEST(Scratch, ZeroClearsReusedMemory) {
  in_fresh_thread([] {
    { Scratch<double> a(64, Scratch<double>::kUninitialized); std::fill(a.begin(), a.end(), 5.0); }
    Scratch<double> b(64, Scratch<double>::kZero);
    for (int64_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i], 0.0);
  });
}

TEST(Scratch, BestFitAndGrowth) {
  in_fresh_thread([] {
    const float* small = nullptr;
    {
      Scratch<float> a(100, Scratch<float>::kZero), b(10000, Scratch<float>::kZero);
      small = a.data();
    }
    EXPECT_EQ(Scratch<float>::free_buffers(), 2);
    {
      Scratch<float> c(50, Scratch<float>::kZero);  // the smallest that holds it
      EXPECT_EQ(c.data(), small);
      Scratch<float> d(20000, Scratch<float>::kZero);  // none holds it: the largest, grown
      EXPECT_EQ(d.size(), 20000);
      for (int64_t i = 0; i < d.size(); ++i) ASSERT_EQ(d[i], 0.0f);
    }
    EXPECT_EQ(Scratch<float>::free_buffers(), 2);  // nothing leaks, nothing is added
    Scratch<float> e(0, Scratch<float>::kZero);
    EXPECT_EQ(e.size(), 0);
  });
}

TEST(Scratch, ASteadySequenceOfRequestsIsMetFromTheFirstRound) {
  // A training step asks for the same sizes, nested the same way, every time:
  // from the second round on, every request gets memory from the first round.
  in_fresh_thread([] {
    std::vector<const float*> round1, round2;
    for (int r = 0; r < 2; ++r) {
      std::vector<const float*>& seen = r == 0 ? round1 : round2;
      Scratch<float> a(3000, Scratch<float>::kZero);
      seen.push_back(a.data());
      for (int64_t n : {500, 2000, 500}) {
        Scratch<float> b(n, Scratch<float>::kZero), c(2 * n, Scratch<float>::kUninitialized);
        seen.push_back(b.data());
        seen.push_back(c.data());
      }
    }
    for (const float* p : round2) EXPECT_NE(std::find(round1.begin(), round1.end(), p), round1.end());
  });
}

}  // namespace
}  // namespace frugal::train
