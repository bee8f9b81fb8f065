// The tiny synthetic model the engine and KV pool tests share (one per test
// process), prompts of given lengths, and the independent reference: greedy
// single-sequence generation (infer/generate.cpp: one contiguous cache, no
// scheduler, no pool).
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "infer/engine.h"
#include "infer/generate.h"
#include "model/synth.h"

namespace frugal::test {

struct EngineTestModel {
  std::string dir = std::string(FRUGAL_BINARY_DIR) + "/test-tmp/engine-" + std::to_string(::getpid());
  std::unique_ptr<Model> model;
  EngineTestModel() {
    synth_checkpoint({.like = "tiny", .dtype = SynthDType::BF16, .seed = 7}, dir);
    model = model_load(dir);
  }
  ~EngineTestModel() { std::filesystem::remove_all(dir); }
};

inline EngineTestModel& tiny() {
  static EngineTestModel m;
  return m;
}

inline std::vector<int32_t> some_prompt(int64_t n, uint32_t seed) {
  std::vector<int32_t> p;
  for (int64_t i = 0; i < n; ++i) p.push_back(int32_t((seed * 7919u + uint32_t(i) * 104729u) % 500u + 3u));
  return p;
}

inline std::vector<int32_t> reference_greedy(const std::vector<int32_t>& prompt, int64_t max_tokens) {
  ThreadPool pool(1);
  std::vector<int32_t> out;
  generate(*tiny().model, prompt, {.max_tokens = max_tokens, .context = 512},
           [&](int32_t t) {
             out.push_back(t);
             return true;
           },
           pool);
  return out;
}

inline std::vector<int32_t> read_all(RequestStream& s) {
  std::vector<int32_t> out;
  while (s.read(out, std::chrono::milliseconds(1000))) {
  }
  return out;
}

}  // namespace frugal::test
