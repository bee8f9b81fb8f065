// The whole `frugal train` path (tokenizer, config, documents, packing, model
// factory, trainer, checkpoints, resume) with the toy model in place of the
// DeepSeek-V3 one.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "../common/temp_dir.h"
#include "run_files.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer.h"
#include "toy_model.h"
#include "train/checkpoint_io.h"
#include "train/train_run.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TrainRun : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string corpus;
    for (int i = 0; i < 30; ++i)
      corpus += "Line " + std::to_string(i % 7) + ": the answer is forty two, six times seven.\n";
    write_file_atomic(dir / "corpus.txt", corpus);
    std::string jsonl;
    for (int i = 0; i < 12; ++i)
      jsonl += json{{"messages", {{{"role", "user"}, {"content", "What is " + std::to_string(i) + " times seven?"}},
                                  {{"role", "assistant"}, {"content", "It is " + std::to_string(7 * i) + "."}}}}}.dump() + "\n" +
               json{{"text", "Document number " + std::to_string(i) + " is short."}}.dump() + "\n";
    write_file_atomic(dir / "chat.jsonl", jsonl);
    BpeWordCounter words;
    words.add_text(corpus);
    const BpeTrainResult r = bpe_train(words, {.vocab_size = 320});
    fs::create_directories(dir / "tok");
    write_file_atomic(dir / "tok/tokenizer.json", bpe_tokenizer_json(r));
    write_file_atomic(dir / "tok/tokenizer_config.json", bpe_tokenizer_config_json(r, 4096));
  }
  TrainRunSettings settings(const std::string& out, int64_t steps) {
    return {.tokenizer = dir / "tok", .data = {dir / "corpus.txt", dir / "chat.jsonl"}, .seq_len = 24,
            .val_docs = 3, .batch = 2, .accum = 2, .steps = steps, .lr = 0.02, .warmup = 3,
            .bias_gamma = 0.01, .eval_every = 5, .checkpoint_every = 6, .keep_checkpoints = 0,
            .seed = 4, .threads = 2, .out = out, .progress = false};
  }
  test::TempDir dir{"train_run"};
  // The toy model sized by the config the run resolved (vocab from the tokenizer).
  TrainableFactory toy = [](const ModelConfig& cfg, const TrainableOptions& opt) -> std::unique_ptr<Trainable> {
    return std::make_unique<test::ToyModel>(cfg.vocab_size, 8, opt.seed);
  };
};

TEST_F(TrainRun, TrainsRecordsAndResumesFromACheckpointFolder) {
  train_run(settings(dir / "a", 20), toy, {{"--steps", {"20"}}});
  const std::vector<json> ma = test::read_metrics(dir / "a/metrics.jsonl");
  ASSERT_EQ(ma.size(), 20u);
  EXPECT_LT(ma[19]["main"].get<double>(), ma[0]["main"].get<double>());
  // Checkpoints at 6, 12, 18 and the end, each with the tokenizer beside the model.
  const std::vector<std::string> ckpts = checkpoint_list(dir / "a");
  ASSERT_EQ(ckpts.size(), 4u);
  EXPECT_EQ(test::read_file(ckpts.back() + "/tokenizer.json"), test::read_file(dir / "tok/tokenizer.json"));
  EXPECT_EQ(test::read_file(ckpts.back() + "/tokenizer_config.json"), test::read_file(dir / "tok/tokenizer_config.json"));
  const int64_t vocab = tokenizer_load_dir(dir / "tok").vocab_size();  // the tokenizer sets vocab_size
  EXPECT_GT(vocab, 256);
  EXPECT_EQ(config_load(ckpts.back() + "/config.json").vocab_size, vocab);
  const json record = json::parse(test::read_file(dir / "a/train_config.json"));
  EXPECT_EQ(record["args"]["--steps"][0], "20");
  EXPECT_EQ(record["settings"]["seq_len"], 24);
  EXPECT_EQ(record["model_config"]["vocab_size"], vocab);

  // Resume from the step-12 folder into another run folder: steps 13-20 repeat run a's.
  TrainRunSettings b = settings(dir / "b", 20);
  b.resume = ckpts[1];
  b.tokenizer.clear();  // the checkpoint carries its tokenizer
  train_run(b, toy, {});
  const std::vector<json> mb = test::read_metrics(dir / "b/metrics.jsonl");
  ASSERT_EQ(mb.size(), 8u);
  for (size_t i = 0; i < mb.size(); ++i) {
    EXPECT_EQ(mb[i]["step"], ma[12 + i]["step"]);
    EXPECT_EQ(mb[i]["loss"].get<double>(), ma[12 + i]["loss"].get<double>()) << "step " << 13 + i;
    EXPECT_EQ(mb[i]["expert_load"], ma[12 + i]["expert_load"]);
  }
  EXPECT_EQ(test::read_file(checkpoint_latest(dir / "b") + "/model.safetensors"), test::read_file(ckpts.back() + "/model.safetensors"));

  // Resume a run folder in place for more steps: its metrics continue.
  TrainRunSettings more = settings("", 24);
  more.resume = dir / "a";
  more.decay = 17;  // the schedule of the first 20 steps (decay = steps - warmup) kept
  train_run(more, toy, {});
  const std::vector<json> mc = test::read_metrics(dir / "a/metrics.jsonl");
  ASSERT_EQ(mc.size(), 24u);
  EXPECT_EQ(mc[19]["loss"], ma[19]["loss"]);
  EXPECT_EQ(mc[23]["step"], 24);
}

TEST_F(TrainRun, UserMistakesAreOneLineErrors) {
  TrainRunSettings s = settings(dir / "e", 2);
  s.data = {};
  EXPECT_THROW(train_run(s, toy, {}), Error);
  s = settings(dir / "e", 2);
  s.seq_len = 100000;  // fewer tokens than one row is fine (padded), but the split must leave training documents
  s.val_docs = 100;
  try {
    train_run(s, toy, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("leaving none to train on"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
