// GRPO end to end on a tiny random model: with a trivially verifiable reward
// (the share of even token ids in the answer) the mean reward rises within a few
// steps from a fixed seed; a run resumed from a checkpoint repeats the
// uninterrupted run exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../infer/tiny_chat_model.h"
#include "rl/grpo_trainer.h"
#include "train/checkpoint_io.h"
#include "train/train_model.h"

namespace frugal {
namespace {

Reward even_share(const TaskProblem&, const std::vector<int32_t>& completion, const std::string&, uint64_t) {
  int even = 0;
  for (int32_t t : completion) even += t % 2 == 0;
  Reward r;
  r.total = float(even) / float(completion.size());
  r.correct = r.total > 0.5f;
  return r;
}

struct GrpoFixture : ::testing::Test {
  test::TinyChatModel tiny{/*load=*/true};
  ThreadPool pool{2};
  std::string run_dir = tiny.dir.string() + "/grpo-run";

  std::unique_ptr<TrainModel> policy() {
    auto m = train_model_create(tiny.model->config, {});
    model_dir_load_params(m->params(), tiny.dir.string());
    return m;
  }
  // Arithmetic prompts are the shortest (the byte-level test tokenizer makes
  // every prompt byte a token).
  GrpoOptions options(int64_t steps, int64_t updates) {
    return GrpoOptions{.task = TaskKind::Arithmetic, .steps = steps, .prompts_per_step = 2, .group = 6,
                       .max_new_tokens = 6, .seed = 11, .token = {.beta = 0.02f}, .updates_per_batch = updates,
                       .ref_reset_every = 2,
                       .lr = {.lr = 3e-3}, .checkpoint_every = 2, .run_dir = run_dir,
                       .progress = {.enabled = false}};
  }
};

TEST_F(GrpoFixture, RewardRisesOnATrivialTask) {
  auto m = policy();
  GrpoTrainer trainer(*m, *tiny.tokenizer, ChatFormat::Frugal, options(12, 1), pool, even_share);
  std::vector<double> rewards;
  for (int s = 0; s < 12; ++s) rewards.push_back(trainer.step().reward);
  const double first = (rewards[0] + rewards[1] + rewards[2]) / 3, last = (rewards[9] + rewards[10] + rewards[11]) / 3;
  std::printf("[ measured ] mean reward %.3f (steps 1-3) -> %.3f (steps 10-12)\n", first, last);
  EXPECT_GT(last, first + 0.2);
}

// The matched-compute baseline trains on the correct samples only: with none
// correct the weights do not move; with some, the reward rises too.
TEST_F(GrpoFixture, RejectionSftTrainsOnCorrectSamplesOnly) {
  auto m = policy();
  GrpoOptions o = options(1, 1);
  o.algorithm = GrpoAlgorithm::RejectionSft;
  o.token.beta = 0;
  std::vector<float> before;
  for (const ParamTensor& p : m->params()) before.insert(before.end(), p.value, p.value + p.numel());
  auto never = [](const TaskProblem& p, const std::vector<int32_t>& c, const std::string& t, uint64_t id) {
    Reward r = even_share(p, c, t, id);
    r.correct = false;
    return r;
  };
  {
    GrpoTrainer t(*m, *tiny.tokenizer, ChatFormat::Frugal, o, pool, never);
    EXPECT_EQ(t.step().groups_kept, 0);
  }
  std::vector<float> after;
  for (const ParamTensor& p : m->params()) after.insert(after.end(), p.value, p.value + p.numel());
  EXPECT_TRUE(before == after);

  GrpoTrainer t(*m, *tiny.tokenizer, ChatFormat::Frugal, o, pool, even_share);
  std::vector<double> rewards;
  for (int s = 0; s < 12; ++s) rewards.push_back(t.step().reward);
  const double first = (rewards[0] + rewards[1] + rewards[2]) / 3, last = (rewards[9] + rewards[10] + rewards[11]) / 3;
  std::printf("[ measured ] rejection-sampling SFT: mean reward %.3f -> %.3f\n", first, last);
  EXPECT_GT(last, first + 0.1);
}

// The prompts of a run that excludes problems: none of the excluded, the same
// ones again for the same slots (resume draws what the first run drew), and
// the run without exclusions draws the excluded ones (the test can fail).
TEST_F(GrpoFixture, ExcludedProblemsAreNeverPrompts) {
  auto prompts_of = [&](const GrpoOptions& o) {
    std::vector<std::string> keys;
    auto record = [&](const TaskProblem& p, const std::vector<int32_t>& c, const std::string& t, uint64_t id) {
      if (id % uint64_t(o.group) == 0) keys.push_back(task_problem_key(p));  // once per prompt
      return even_share(p, c, t, id);
    };
    auto m = policy();
    GrpoTrainer t(*m, *tiny.tokenizer, ChatFormat::Frugal, o, pool, record);
    t.step(), t.step();
    return keys;
  };
  GrpoOptions o = options(2, 1);
  o.task = TaskKind::Arithmetic;
  const std::vector<std::string> plain = prompts_of(o);
  ASSERT_EQ(plain.size(), 4u);
  o.exclude = {plain[0], plain[2], plain[3]};
  const std::vector<std::string> excluding = prompts_of(o);
  ASSERT_EQ(excluding.size(), 4u);
  for (const std::string& k : excluding) EXPECT_EQ(o.exclude.count(k), 0u) << k;
  EXPECT_EQ(prompts_of(o), excluding);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(GrpoFixture, ResumeRepeatsTheUninterruptedRun) {
  std::vector<float> straight, resumed;
  std::string straight_metrics;
  {
    auto m = policy();
    GrpoTrainer t(*m, *tiny.tokenizer, ChatFormat::Frugal, options(3, 2), pool, even_share);
    t.run();
    straight_metrics = read_text(run_dir + "/metrics.jsonl");
    for (const ParamTensor& p : m->params()) straight.insert(straight.end(), p.value, p.value + p.numel());
  }
  std::filesystem::remove_all(run_dir);
  {
    auto m = policy();
    GrpoTrainer t(*m, *tiny.tokenizer, ChatFormat::Frugal, options(2, 2), pool, even_share);
    t.run();  // checkpoint at step 2
  }
  {  // the killed run got one step past its checkpoint: a record the resume must drop
    std::ofstream(run_dir + "/metrics.jsonl", std::ios::app) << R"({"step":3,"reward":-1})" << "\n";
  }
  {
    auto m = policy();  // fresh weights: everything must come from the checkpoint
    GrpoTrainer t(*m, *tiny.tokenizer, ChatFormat::Frugal, options(3, 2), pool, even_share);
    t.resume_from(checkpoint_latest(run_dir));
    EXPECT_EQ(t.steps_done(), 2);
    t.run();
    for (const ParamTensor& p : m->params()) resumed.insert(resumed.end(), p.value, p.value + p.numel());
  }
  ASSERT_EQ(straight.size(), resumed.size());
  EXPECT_TRUE(straight == resumed) << "resumed weights differ from the uninterrupted run";
  // Steps 1..3 once each, with the values of the uninterrupted run (seconds aside).
  auto without_seconds = [](const std::string& text) {
    std::vector<nlohmann::json> records;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line);
      j.erase("seconds");
      records.push_back(j);
    }
    return records;
  };
  EXPECT_EQ(without_seconds(read_text(run_dir + "/metrics.jsonl")), without_seconds(straight_metrics));
}

}  // namespace
}  // namespace frugal
