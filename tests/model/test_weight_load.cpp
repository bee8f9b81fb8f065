// A checkpoint's shards copied into huge pages hold the bytes the mapping does,
// and a model loaded either way gives the same logits; FRUGAL_WEIGHTS chooses the
// mode of WeightLoad::Auto and rejects anything but map / copy / auto.
#include <cstdlib>
#include <cstring>

#include "model/synth.h"
#include "model_test_util.h"

namespace frugal {
namespace {

using namespace testing_util;

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(const char* n, const char* value) : name(n) { ::setenv(n, value, 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

TEST(WeightLoad, CopiedShardsHoldTheMappedBytes) {
  TempDir dir("weightload");
  // Two shards (fp8 weights with their scales), so every file is copied.
  synth_checkpoint({.like = "tiny", .dtype = SynthDType::FP8, .seed = 3, .shard_bytes = 200 << 10}, dir.str());
  int shards = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.str())) shards += e.path().extension() == ".safetensors";
  ASSERT_GE(shards, 2);
  const Checkpoint mapped(dir.str(), WeightLoad::Map), copied(dir.str(), WeightLoad::Copy);
  EXPECT_EQ(mapped.load(), FileLoad::Map);
  EXPECT_EQ(copied.load(), FileLoad::Copy);
  ASSERT_EQ(mapped.size(), copied.size());
  for (const auto& [name, t] : mapped.tensors()) {
    const TensorInfo& c = copied.get(name);
    ASSERT_EQ(t->nbytes, c.nbytes) << name;
    EXPECT_NE(t->data, c.data) << name;
    EXPECT_EQ(std::memcmp(t->data, c.data, t->nbytes), 0) << name;
  }
}

TEST(WeightLoad, SameLogitsEitherWay) {
  TempDir dir("weightload_logits");
  synth_checkpoint({.like = "tiny-v2-lite", .dtype = SynthDType::FP8, .seed = 5}, dir.str());
  ThreadPool pool(2);
  const std::vector<int32_t> ids = {1, 17, 99, 4, 250, 3, 42};
  auto mapped = model_load(dir.str(), WeightLoad::Map);
  auto copied = model_load(dir.str(), WeightLoad::Copy);
  ASSERT_EQ(copied->checkpoint->load(), FileLoad::Copy);
  const std::vector<float> a = all_logits(*mapped, ids, AttnMode::Auto, pool);
  const std::vector<float> b = all_logits(*copied, ids, AttnMode::Auto, pool);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

TEST(WeightLoad, EnvironmentChoosesTheAutoMode) {
  TempDir dir("weightload_env");
  synth_checkpoint({.like = "tiny"}, dir.str());
  {
    ScopedEnv env("FRUGAL_WEIGHTS", "map");
    EXPECT_EQ(Checkpoint(dir.str(), WeightLoad::Auto).load(), FileLoad::Map);
    EXPECT_EQ(Checkpoint(dir.str(), WeightLoad::Copy).load(), FileLoad::Copy) << "an explicit mode wins";
  }
  {
    ScopedEnv env("FRUGAL_WEIGHTS", "copy");
    EXPECT_EQ(Checkpoint(dir.str(), WeightLoad::Auto).load(), FileLoad::Copy);
    EXPECT_EQ(Checkpoint(dir.str(), WeightLoad::Map).load(), FileLoad::Map);
  }
  {
    ScopedEnv env("FRUGAL_WEIGHTS", "hugepages");
    try {
      Checkpoint c(dir.str(), WeightLoad::Auto);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("FRUGAL_WEIGHTS=hugepages"), std::string::npos) << e.what();
    }
  }
  // Unset: a model this small takes far less than half the available memory.
  EXPECT_EQ(Checkpoint(dir.str(), WeightLoad::Auto).load(), FileLoad::Copy);
}

}  // namespace
}  // namespace frugal
