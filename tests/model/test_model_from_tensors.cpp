// model_from_tensors (a model over a trainer's fp32 tensors) computes what the
// loaded checkpoint computes, MTP included, and follows in-place changes.
#include <gtest/gtest.h>

#include <map>

#include "model/synth.h"
#include "model_test_util.h"

namespace frugal {
namespace {

TEST(ModelFromTensors, MatchesTheLoadedCheckpointAndTracksUpdates) {
  testing_util::TempDir dir("from-tensors");
  synth_checkpoint({.like = "tiny", .dtype = SynthDType::BF16, .seed = 9}, dir.str());
  auto loaded = model_load(dir.str());
  ASSERT_TRUE(loaded->has_mtp());
  // Every tensor decoded to fp32 by the checkpoint's own element reader.
  std::map<std::string, std::vector<float>> tensors;
  for (const auto& [name, info] : loaded->checkpoint->tensors()) {
    const int64_t rows = info->shape.size() == 2 ? info->shape[0] : 1, cols = info->shape.back();
    MatrixView v = info->shape.size() == 2 ? loaded->checkpoint->matrix(name, rows, cols)
                                           : loaded->checkpoint->vector(name, cols);
    std::vector<float>& t = tensors[name];
    t.resize(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) v.row_to_f32(r, t.data() + r * cols);
  }
  auto lookup = [&](const std::string& name) -> const float* {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : it->second.data();
  };
  auto from = model_from_tensors(loaded->config, lookup);
  ASSERT_TRUE(from->has_mtp());

  const std::vector<int32_t> tokens = {3, 14, 15, 92, 65, 35, 89, 79};
  ThreadPool pool(2);
  auto run = [&](const Model& m, std::vector<float>& mtp_logits) {
    LatentKvCache cache = m.new_cache(16), mtp_cache = m.new_mtp_cache(16);
    ForwardScratch s;
    ForwardResult out;
    transformer_fwd(m, tokens.data(), int64_t(tokens.size()), cache, {}, out, s, pool);
    std::vector<int32_t> next(tokens.begin() + 1, tokens.end());
    next.push_back(1);
    mtp_fwd(m, 0, out.hidden.data(), next.data(), int64_t(next.size()), mtp_cache, AttnMode::Auto, mtp_logits, s, pool);
    return out.logits;
  };
  std::vector<float> mtp_a, mtp_b;
  std::vector<float> a = run(*loaded, mtp_a), b = run(*from, mtp_b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 2e-5) << i;
  for (size_t i = 0; i < mtp_a.size(); ++i) ASSERT_NEAR(mtp_a[i], mtp_b[i], 2e-5) << i;

  // The model reads the tensors in place: zeroing the head zeroes the logits.
  std::fill(tensors["lm_head.weight"].begin(), tensors["lm_head.weight"].end(), 0.0f);
  std::vector<float> c = run(*from, mtp_b);
  for (float x : c) ASSERT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace frugal
