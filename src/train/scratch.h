// Reusable buffers for the temporaries of a training step (gradients of
// activations, per-expert staging).
//
// A step's temporaries were std::vectors made and freed in every call: blocks
// above glibc's mmap threshold come back from the kernel as fresh pages each
// time, so every step paid a page fault per 4 KiB touched plus the clearing,
// ~20 % of a 5M-parameter model's step on this machine (perf, docs/performance.md).
// A Scratch takes a buffer from a per-thread free list and gives it back, with
// its memory, when it goes out of scope: from the second step on, a step's
// requests are met by the buffers of the first (the sequence of sizes repeats).
//
// Only the thread that drives a forward / backward makes Scratch buffers (never
// inside a parallel_for body); the buffer itself may be read and written by
// the pool's threads like any other array.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace frugal::train {

template <typename S>
class Scratch {
 public:
  enum Init { kZero, kUninitialized };

  // n elements, set to zero (kZero) or left as a previous user left them.
  Scratch(int64_t n, Init init) : n_(std::max<int64_t>(n, 0)) {
    std::vector<std::vector<S>>& free = free_list();
    // Best fit: the smallest free buffer that holds n; if none does, the
    // largest (grown below).
    auto fits = [&](const std::vector<S>& v) { return int64_t(v.size()) >= n_; };
    auto best = free.end();
    for (auto it = free.begin(); it != free.end(); ++it) {
      if (best == free.end() || fits(*it) != fits(*best)) {
        if (best == free.end() || fits(*it)) best = it;
      } else if (fits(*it) ? it->size() < best->size() : it->size() > best->size()) {
        best = it;
      }
    }
    if (best != free.end()) {
      buf_ = std::move(*best);
      free.erase(best);
    }
    if (int64_t(buf_.size()) < n_) {
      buf_.clear();  // no copy of the old contents
      buf_.resize(size_t(n_));
    } else if (init == kZero) {
      std::fill_n(buf_.data(), n_, S(0));
    }
  }
  ~Scratch() {
    if (!buf_.empty()) free_list().push_back(std::move(buf_));
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  S* data() { return buf_.data(); }
  const S* data() const { return buf_.data(); }
  int64_t size() const { return n_; }
  S& operator[](int64_t i) { return buf_[size_t(i)]; }
  const S& operator[](int64_t i) const { return buf_[size_t(i)]; }
  S* begin() { return buf_.data(); }
  S* end() { return buf_.data() + n_; }

  // Buffers held by this thread's free list (for tests).
  static int64_t free_buffers() { return int64_t(free_list().size()); }

 private:
  static std::vector<std::vector<S>>& free_list() {
    thread_local std::vector<std::vector<S>> free;
    return free;
  }

  std::vector<S> buf_;  // size() >= n_
  int64_t n_;
};

}  // namespace frugal::train
