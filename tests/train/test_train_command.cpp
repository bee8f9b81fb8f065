// `frugal train` as users meet it: its settings from flags and a JSON config,
// and a clear one-line error (exit code 1) for each mistake; a complete command
// trains the DeepSeek-V3 model (fp8 on) and leaves a checkpoint `frugal run`
// loads. The loop itself is tested in test_trainer.cpp.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "core/atomic_file.h"
#include "../common/temp_dir.h"

namespace frugal {
namespace {

using test::run_frugal;

class TrainCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string corpus;
    for (int i = 0; i < 40; ++i) corpus += "The answer is forty two. What is six times seven? Rows of packed tokens.\n";
    write_file_atomic(dir / "corpus.txt", corpus);
    write_file_atomic(dir / "chat.jsonl",
                      "{\"text\": \"hello there\"}\n"
                      "{\"messages\": [{\"role\": \"user\", \"content\": \"six times seven?\"}, "
                      "{\"role\": \"assistant\", \"content\": \"forty two\"}]}\n");
    std::filesystem::create_directories(dir / "tok");
    const auto r = run_frugal("tokenizer-train --input " + dir / "corpus.txt" + " --vocab-size 300 -o " + dir / "tok");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  std::string train(const std::string& args) {
    const auto r = run_frugal("train --no-progress " + args);
    code = r.code;
    return r.out;
  }
  test::TempDir dir{"train_command"};
  int code = 0;
};

TEST_F(TrainCommand, MissingPiecesAreNamed) {
  EXPECT_NE(train("--tokenizer " + dir / "tok" + " -o " + dir / "run").find("no training data: pass --data FILE"), std::string::npos);
  EXPECT_EQ(code, 1);
  EXPECT_NE(train("--data " + dir / "corpus.txt" + " -o " + dir / "run").find("no tokenizer: pass --tokenizer DIR"), std::string::npos);
  EXPECT_EQ(code, 1);
  EXPECT_NE(train("--tokenizer " + dir / "tok" + " --data " + dir / "corpus.txt").find("no run folder: pass -o DIR"), std::string::npos);
  EXPECT_EQ(code, 1);
  EXPECT_NE(train("--resume " + dir / "nothing").find("no checkpoint there"), std::string::npos);
  EXPECT_EQ(code, 1);
  const std::string bad_data = train("--tokenizer " + dir / "tok" + " --data " + dir / "absent.jsonl" + " -o " + dir / "run");
  EXPECT_NE(bad_data.find("absent.jsonl: cannot read the data file"), std::string::npos) << bad_data;
  const std::string small_vocab = train("--tokenizer " + dir / "tok" + " --data " + dir / "corpus.txt" + " -o " + dir / "run" +
                                        " --set '{\"vocab_size\": 100}'");
  EXPECT_NE(small_vocab.find("vocab_size 100 is smaller than the tokenizer's 300 tokens"), std::string::npos) << small_vocab;
  EXPECT_NE(train("--tokenizer " + dir / "tok" + " --data " + dir / "corpus.txt" + " -o " + dir / "run" + " --like huge")
                .find("'huge' is not a known shape"), std::string::npos);
}

TEST_F(TrainCommand, JsonConfigSuppliesSettingsAndFlagsWin) {
  write_file_atomic(dir / "bogus.json", "{\"like\": \"tiny\", \"learning-rate\": 3}");
  EXPECT_NE(train("--config " + dir / "bogus.json").find("unknown setting \"learning-rate\""), std::string::npos);
  EXPECT_EQ(code, 1);
  write_file_atomic(dir / "badvalue.json", "{\"steps\": \"many\"}");
  EXPECT_NE(train("--config " + dir / "badvalue.json").find("\"steps\""), std::string::npos);
  EXPECT_EQ(code, 1);
  // A complete config (data from the JSON list, a switch, a nested --set object):
  // a short fp8 run whose checkpoint `frugal run` loads as is.
  write_file_atomic(dir / "run.json", "{\"like\": \"tiny\", \"data\": [\"" + dir / "corpus.txt" + "\", \"" + dir / "chat.jsonl" +
                                          "\"], \"seq-len\": 16, \"fp8\": true, \"steps\": 3, \"set\": {\"num_hidden_layers\": 2},"
                                          " \"tokenizer\": \"" + dir / "tok" + "\", \"out\": \"" + dir / "run" + "\"}");
  const std::string out = train("--config " + dir / "run.json");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("train: 3 training documents"), std::string::npos) << out;
  EXPECT_NE(out.find("rows of 16"), std::string::npos) << out;
  const std::string ckpt = dir / "run/checkpoints/step-00000003";
  EXPECT_NE(out.find("train: done; model in " + ckpt), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir / "run/metrics.jsonl"));
  const auto generated = run_frugal("run -m " + ckpt + " --raw -p 'six times' --max-tokens 4 --temperature 0");
  EXPECT_EQ(generated.code, 0) << generated.out;
  // The flag wins over the JSON value.
  EXPECT_NE(train("--config " + dir / "run.json" + " --seq-len 32").find("rows of 32"), std::string::npos);
  EXPECT_NE(train("--config " + dir / "run.json" + " --set '{\"vocab_size\": 10}'").find("vocab_size 10 is smaller"), std::string::npos);
}

// --resume RUN takes the flags RUN was started with from its train_config.json;
// flags given now win.
TEST_F(TrainCommand, ResumeReusesTheRecordedFlags) {
  // A run folder as a crashed run leaves it: one checkpoint (a model folder with
  // a train state beside it) and the record of the flags.
  const auto synth = run_frugal("synth --like tiny --dtype f32 -o " + dir / "run/checkpoints/step-00000005");
  ASSERT_EQ(synth.code, 0) << synth.out;
  write_file_atomic(dir / "run/checkpoints/step-00000005/train_state.safetensors", "x");
  write_file_atomic(dir / "run/train_config.json",
                    nlohmann::json{{"args", {{"--tokenizer", {dir / "tok"}}, {"--data", {dir / "corpus.txt", dir / "chat.jsonl"}},
                                             {"--seq-len", {"16"}}, {"--fp8", {""}}, {"--out", {"elsewhere"}}}}}.dump());
  std::string out = train("--resume " + dir / "run");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("3 training documents"), std::string::npos) << out;
  EXPECT_NE(out.find("rows of 16"), std::string::npos) << out;
  // The crashed run's train state is damaged: named, nothing trained.
  EXPECT_NE(out.find("train_state.safetensors: truncated"), std::string::npos) << out;
  out = train("--resume " + dir / "run/checkpoints/step-00000005 --seq-len 32");
  EXPECT_NE(out.find("rows of 32"), std::string::npos) << out;
}

}  // namespace
}  // namespace frugal
