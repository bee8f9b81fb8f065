// Model directories (Hugging Face layout) written from and read into a
// ParamTensor list; train state round trips; checkpoint folders that survive a
// failure or a kill in the middle of a save.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "../common/command.h"

#include "core/atomic_file.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/npy.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "../common/temp_dir.h"
#include "run_files.h"
#include "toy_model.h"
#include "train/checkpoint_io.h"
#include "train/train_state.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::ToyModel;

TEST(ModelDir, SavesAHuggingFaceFolderAndLoadsItBackExactly) {
  TempDir dir("model_dir_f32");
  fs::create_directories(dir / "tok");
  write_file_atomic(dir / "tok/tokenizer.json", "{\"fake\": 1}");
  write_file_atomic(dir / "tok/tokenizer_config.json", "{\"bos_token\": null}");
  ToyModel a(16, 8, 1), b(16, 8, 99);
  model_dir_save(a.params(), a.config(), dir / "out", {.tokenizer_dir = dir / "tok"});
  // config.json is a valid config of the same model; the tokenizer files are copied.
  const ModelConfig cfg = config_load(dir / "out/config.json");
  EXPECT_EQ(config_to_json(cfg), config_to_json(a.config()));
  EXPECT_EQ(test::read_file(dir / "out/tokenizer.json"), "{\"fake\": 1}");
  EXPECT_EQ(test::read_file(dir / "out/tokenizer_config.json"), "{\"bos_token\": null}");
  // The inference loader sees every tensor by its name, in F32.
  const Checkpoint ck(dir / "out");
  ASSERT_EQ(ck.size(), a.params().size());
  for (const ParamTensor& p : a.params()) {
    const TensorInfo& t = ck.get(p.name);
    EXPECT_EQ(t.dtype, DType::F32);
    EXPECT_EQ(t.shape, p.shape);
    EXPECT_EQ(std::memcmp(t.data, p.value, size_t(p.numel()) * 4), 0) << p.name;
  }
  EXPECT_NE(a.values_[0], b.values_[0]);
  model_dir_load_params(b.params(), dir / "out");
  EXPECT_EQ(a.values_, b.values_);
}

TEST(ModelDir, SavedConfigHasNoQuantization) {
  TempDir dir("model_dir_noquant");
  ToyModel a(16, 8, 1);
  ModelConfig fp8 = a.config();
  fp8.fp8_blocks = true;  // e.g. the config of an fp8 --init folder
  model_dir_save(a.params(), fp8, dir / "out", {});
  const ModelConfig back = config_load(dir / "out/config.json");
  EXPECT_FALSE(back.fp8_blocks);
  EXPECT_EQ(back.packed_format, DType::F32);
  EXPECT_EQ(test::read_file(dir / "out/config.json").find("quantization_config"), std::string::npos);
}

TEST(ModelDir, Bf16OptionRoundsToNearestEven) {
  TempDir dir("model_dir_bf16");
  ToyModel a(16, 8, 1), b(16, 8, 2);
  model_dir_save(a.params(), a.config(), dir / "out", {.dtype = SavedDType::BF16});
  EXPECT_EQ(config_load(dir / "out/config.json").vocab_size, 16);
  model_dir_load_params(b.params(), dir / "out");
  for (size_t k = 0; k < a.values_.size(); ++k)
    for (size_t i = 0; i < a.values_[k].size(); ++i)
      ASSERT_EQ(b.values_[k][i], bf16_to_f32(f32_to_bf16(a.values_[k][i])));
}

TEST(ModelDir, LoadsBlockScaledFp8) {
  TempDir dir("model_dir_fp8");
  ToyModel a(16, 8, 1);
  // lm_head.weight [16, 8] as e4m3 with 128x128 block scales (one block): value = q * scale_inv.
  const float scale_inv = 0.01f;
  std::vector<uint8_t> q(16 * 8);
  std::vector<float> want(16 * 8);
  for (size_t i = 0; i < q.size(); ++i) {
    q[i] = uint8_t((i * 37) % 0x7E);
    want[i] = fp8_e4m3_to_f32(q[i]) * scale_inv;
  }
  std::vector<TensorToWrite> t;
  for (const ParamTensor& p : a.params())
    if (p.name != "lm_head.weight") t.push_back({{p.name, DType::F32, p.shape}, p.value});
  t.push_back({{"lm_head.weight", DType::F8_E4M3, {16, 8}}, q.data()});
  t.push_back({{"lm_head.weight_scale_inv", DType::F32, {1, 1}}, &scale_inv});
  fs::create_directories(dir / "fp8");
  safetensors_write(dir / "fp8/model.safetensors", t);
  model_dir_load_params(a.params(), dir / "fp8");
  EXPECT_EQ(a.values_[4], want);
}

TEST(ModelDir, MissingOrMisshapenTensorsAreClearErrors) {
  TempDir dir("model_dir_errors");
  ToyModel small(16, 8, 1), big(32, 8, 1);
  model_dir_save(small.params(), small.config(), dir / "out", {});
  try {
    model_dir_load_params(big.params(), dir / "out");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.embed_tokens.weight' is [16, 8] in the checkpoint, the model expects [32, 8]"),
              std::string::npos) << e.what();
  }
  std::vector<ParamTensor> extra = small.params();
  extra.push_back({.name = "model.norm.weight", .shape = {8}, .value = small.values_[2].data()});
  EXPECT_THROW(model_dir_load_params(extra, dir / "out"), Error);
}

// What training writes is what inference reads: a synthetic tiny V3 checkpoint
// (MLA, MoE, MTP) taken in as a ParamTensor list and saved again gives the
// same logits through `frugal logits`, MTP head included.
TEST(ModelDir, InferenceLoadsASavedModelAsTheOriginal) {
  TempDir dir("model_dir_inference");
  auto r = test::run_frugal("synth --like tiny --dtype f32 --seed 3 -o " + dir / "orig");
  ASSERT_EQ(r.code, 0) << r.out;
  const ModelConfig cfg = config_load(dir / "orig/config.json");
  std::vector<ParamTensor> params;
  std::vector<std::vector<float>> values;
  {
    const Checkpoint ck(dir / "orig");
    for (const auto& [name, t] : ck.tensors()) {
      params.push_back({.name = name, .shape = t->shape});
      values.emplace_back(size_t(t->numel()));
    }
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].value = values[i].data();
  model_dir_load_params(params, dir / "orig");
  model_dir_save(params, cfg, dir / "saved", {});
  const std::string tokens = " --tokens '0 17 300 5 99 511 42' --attn naive -t 1";
  r = test::run_frugal("logits -m " + dir / "orig" + tokens + " --out " + dir / "a.npy" + " --mtp-out " + dir / "a_mtp.npy");
  ASSERT_EQ(r.code, 0) << r.out;
  r = test::run_frugal("logits -m " + dir / "saved" + tokens + " --out " + dir / "b.npy" + " --mtp-out " + dir / "b_mtp.npy");
  ASSERT_EQ(r.code, 0) << r.out;
  // The same f32 weights through the same kernels: the same logits, bit for bit.
  for (const char* f : {"a.npy", "a_mtp.npy"}) {
    const NpyArray a = npy_read(dir / f), b = npy_read(dir / (std::string("b") + (f + 1)));
    ASSERT_EQ(a.shape, b.shape) << f;
    EXPECT_GE(a.numel(), 6 * 512);
    EXPECT_TRUE(a.bytes == b.bytes) << f << ": logits differ";
  }
}

TEST(TrainState, RoundTripsMomentsBalanceSumsAndTrainerJson) {
  TempDir dir("train_state");
  ToyModel a(16, 8, 1);
  AdamW adam_a(a.params(), {});
  BiasBalancer bb_a(a.params(), a.config(), {.accumulate_steps = 3});
  for (size_t k = 0; k < adam_a.exp_avg().size(); ++k)
    for (size_t i = 0; i < adam_a.exp_avg()[k].size(); ++i) {
      adam_a.exp_avg()[k][i] = float(k) + 0.001f * float(i);
      adam_a.exp_avg_sq()[k][i] = 1e-7f * float(i + 1);
    }
  adam_a.set_steps_taken(17);
  bb_a.add_load({{5, 6, 7, 8}});
  train_state_save(dir / "s.safetensors", a.params(), adam_a, bb_a, {{"step", 17}, {"data_position", {{"epoch", 1}, {"row", 4}}}});

  AdamW adam_b(a.params(), {});
  BiasBalancer bb_b(a.params(), a.config(), {.accumulate_steps = 3});
  const nlohmann::json meta = train_state_load(dir / "s.safetensors", a.params(), adam_b, bb_b);
  EXPECT_EQ(meta["step"], 17);
  EXPECT_EQ(meta["data_position"]["row"], 4);
  EXPECT_EQ(adam_b.exp_avg(), adam_a.exp_avg());
  EXPECT_EQ(adam_b.exp_avg_sq(), adam_a.exp_avg_sq());
  EXPECT_EQ(adam_b.steps_taken(), 17);
  EXPECT_EQ(bb_b.pending_load(), (std::vector<std::vector<int64_t>>{{5, 6, 7, 8}}));
  EXPECT_EQ(bb_b.pending_steps(), 1);
  // A state of another model is refused with the tensor named.
  ToyModel c(32, 8, 1);
  AdamW adam_c(c.params(), {});
  BiasBalancer bb_c(c.params(), c.config(), {});
  EXPECT_THROW(train_state_load(dir / "s.safetensors", c.params(), adam_c, bb_c), Error);
}

void write_three_files(const std::string& d, const std::string& tag) {
  write_file_atomic(d + "/a.txt", tag);
  write_file_atomic(d + "/b.txt", tag);
  write_file_atomic(d + "/c.txt", tag);
}

TEST(CheckpointCommit, KeepsTheNewestNAndFindsTheLatest) {
  TempDir run("ckpt_keep");
  EXPECT_EQ(checkpoint_latest(run.str()), "");
  for (int64_t s : {10, 20, 30, 40}) checkpoint_commit(run.str(), s, [&](const std::string& d) { write_three_files(d, std::to_string(s)); }, 2);
  const std::vector<std::string> all = checkpoint_list(run.str());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(fs::path(all[0]).filename(), "step-00000030");
  EXPECT_EQ(checkpoint_latest(run.str()), run / "checkpoints/step-00000040");
  EXPECT_EQ(test::read_file(checkpoint_latest(run.str()) + "/c.txt"), "40");
}

TEST(CheckpointCommit, AFailureBetweenFilesLeavesThePreviousCheckpoint) {
  TempDir run("ckpt_fail");
  checkpoint_commit(run.str(), 5, [&](const std::string& d) { write_three_files(d, "five"); }, 3);
  EXPECT_THROW(checkpoint_commit(run.str(), 6, [&](const std::string& d) {
                 write_file_atomic(d + "/a.txt", "six");
                 fail("disk full (simulated)");
               }, 3),
               Error);
  EXPECT_EQ(checkpoint_latest(run.str()), run / "checkpoints/step-00000005");
  EXPECT_EQ(checkpoint_list(run.str()).size(), 1u);
  EXPECT_EQ(test::read_file(checkpoint_latest(run.str()) + "/a.txt"), "five");
  // The next save clears the leftover partial folder.
  checkpoint_commit(run.str(), 6, [&](const std::string& d) { write_three_files(d, "six"); }, 3);
  for (const auto& e : fs::directory_iterator(run / "checkpoints"))
    EXPECT_FALSE(e.path().filename().string().ends_with(".partial")) << e.path();
  EXPECT_EQ(checkpoint_list(run.str()).size(), 2u);
}

TEST(CheckpointCommit, AProcessKilledMidSaveLeavesThePreviousCheckpoint) {
  TempDir run("ckpt_kill");
  ToyModel a(16, 8, 1);
  checkpoint_commit(run.str(), 1, [&](const std::string& d) { model_dir_save(a.params(), a.config(), d, {}); }, 3);
  const std::string before = test::read_file(checkpoint_latest(run.str()) + "/model.safetensors");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child dies by SIGKILL after the weights, before config.json is complete
    for (float& v : a.values_[0]) v += 1.0f;
    checkpoint_commit(run.str(), 2, [&](const std::string& d) {
      model_dir_save(a.params(), a.config(), d, {});
      AtomicFile f(d + "/train_state.safetensors");
      f.write("partial", 7);
      ::kill(::getpid(), SIGKILL);
    }, 3);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(checkpoint_latest(run.str()), run / "checkpoints/step-00000001");
  EXPECT_EQ(test::read_file(checkpoint_latest(run.str()) + "/model.safetensors"), before);
  ToyModel b(16, 8, 5);
  model_dir_load_params(b.params(), checkpoint_latest(run.str()));
  EXPECT_EQ(b.values_, a.values_);
}

}  // namespace
}  // namespace frugal
