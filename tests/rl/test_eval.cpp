// frugal eval: the judging of completions, the summary's identities on a real
// (random-weight) model run, and the command's files and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "../infer/tiny_chat_model.h"
#include "rl/corpus.h"
#include "rl/eval.h"
#include "rl/reward.h"

namespace frugal {
namespace {

TaskProblem countdown(std::vector<int64_t> numbers, int64_t target) {
  TaskProblem p;
  p.countdown = {std::move(numbers), target};
  return p;
}

TEST(EvalJudge, HandMadeCompletions) {
  const TaskProblem p = countdown({13, 7, 3}, 60);
  EvalAnswer a = eval_judge(p, "try 13 + 7 + 3: 23, not 60\ntry (13 + 7) * 3: 60, yes\n</think>\n\n<answer>(13 + 7) * 3</answer>", true, 30);
  EXPECT_TRUE(a.correct);
  EXPECT_TRUE(a.format_ok);
  EXPECT_TRUE(a.self_corrected);
  EXPECT_EQ(a.answer, "(13 + 7) * 3");
  a = eval_judge(p, "</think><answer>13 * 7 - 3</answer>", true, 5);
  EXPECT_FALSE(a.correct);
  EXPECT_TRUE(a.format_ok);
  a = eval_judge(p, "(13 + 7) * 3", true, 5);  // right, but no answer tag
  EXPECT_FALSE(a.correct);
  EXPECT_FALSE(a.format_ok);
  a = eval_judge(p, "<answer>(13 + 7) * 3</answer>", true, 5);  // judged, format wrong
  EXPECT_TRUE(a.correct);
  EXPECT_FALSE(a.format_ok);
}

TEST(EvalRun, SummaryAgreesWithItsRecords) {
  test::TinyChatModel tiny;
  ThreadPool pool(2);
  std::vector<TaskProblem> problems;
  for (int i = 0; i < 5; ++i) problems.push_back(task_problem(TaskKind::Countdown, 1, TaskSplit::Test, false, i));
  std::vector<EvalRecord> records;
  const ChatFormat format = ChatFormat::Frugal;
  EvalSummary s = eval_run(*tiny.model, *tiny.tokenizer, format, problems,
                           {.samples = 4, .max_new_tokens = 12, .seed = 3}, pool, records);
  ASSERT_EQ(records.size(), 5u);
  int64_t correct = 0, format_ok = 0, tokens = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const EvalRecord& r = records[i];
    EXPECT_EQ(r.prompt, eval_prompt(problems[i], format));
    EXPECT_NE(r.prompt.find(problems[i].question()), std::string::npos);
    ASSERT_EQ(r.samples.size(), 4u);
    for (const EvalAnswer& a : r.samples) {
      // Re-judge each completion from its text alone.
      CompletionParts parts = completion_parse(a.completion, chat_prompt_opens_reasoning(r.prompt));
      EXPECT_EQ(a.correct, parts.has_answer && problems[i].verify(parts.answer));
      EXPECT_LE(a.tokens, 12);
      EXPECT_GT(a.tokens, 0);
      correct += a.correct, format_ok += a.format_ok, tokens += a.tokens;
    }
  }
  EXPECT_EQ(s.problems, 5);
  EXPECT_DOUBLE_EQ(s.mean_accuracy, correct / 20.0);
  EXPECT_DOUBLE_EQ(s.format_rate, format_ok / 20.0);
  EXPECT_DOUBLE_EQ(s.mean_length, tokens / 20.0);
  // The unbiased pass@1 estimator is the mean accuracy; pass@j grows with j.
  EXPECT_NEAR(s.pass_at.at(1), s.mean_accuracy, 1e-12);
  EXPECT_LE(s.pass_at.at(1), s.pass_at.at(2));
  EXPECT_LE(s.pass_at.at(2), s.pass_at.at(4));
  EXPECT_EQ(s.pass_at.count(8), 0u);
  nlohmann::json j = s.to_json();
  EXPECT_TRUE(j.contains("pass@1_greedy"));
  EXPECT_TRUE(j["pass_at_k"].contains("pass@4"));
}

TEST(EvalCommand, WritesRecordsAndRejectsBadProblems) {
  test::TinyChatModel tiny(/*load=*/false);
  const std::string dir = tiny.dir.string(), problems = dir + "/problems.jsonl", out = dir + "/results.jsonl";
  std::ofstream(problems) << "{\"numbers\": [25, 5, 3], \"target\": 60}\n\n{\"numbers\": [1, 2, 3], \"target\": 6}\n";
  test::CommandResult r = test::run_frugal("eval -m " + dir + " --problems " + problems + " --out " + out +
                                           " --samples 2 --max-new-tokens 8 --format frugal --json -t 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"mean_accuracy\""), std::string::npos) << r.out;
  std::ifstream in(out);
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["numbers"], nlohmann::json::array({25, 5, 3}));
  EXPECT_EQ(rows[1]["target"], 6);
  for (const auto& row : rows) {
    TaskProblem p = TaskProblem::from_json(TaskKind::Countdown, row);
    EXPECT_EQ(row["prompt"], eval_prompt(p, ChatFormat::Frugal));
    EXPECT_EQ(row["correct"].get<bool>(), p.verify(row["answer"].get<std::string>()) &&
                                              completion_parse(row["completion"].get<std::string>(), true).has_answer);
  }

  std::ofstream(problems) << "{\"numbers\": [25, 5, 3], \"target\": 60}\n{\"numbers\": \"25\", \"target\": 60}\n";
  r = test::run_frugal("eval -m " + dir + " --problems " + problems + " --samples 0 -t 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("problems.jsonl:2: problem"), std::string::npos) << r.out;
  std::ofstream(problems) << "{\"numbers\": [25, 5, 3], \"target\": 60\n";
  r = test::run_frugal("eval -m " + dir + " --problems " + problems + " --samples 0 -t 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("problems.jsonl:1: not valid JSON"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// --problems-out lists each Countdown problem of the corpus once (numbers as a
// multiset), the ones corpus_doc() draws for the same seed and documents.
TEST(CorpusCommand, ProblemsOutListsTheCorpusProblems) {
  const std::string dir = ::testing::TempDir() + "/corpus-problems";
  std::filesystem::create_directories(dir);
  test::CommandResult r =
      test::run_frugal("corpus --docs 60 --seed 3 -o " + dir + "/c.jsonl --problems-out " + dir + "/p.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  std::set<std::string> expected;
  CorpusOptions opt;
  opt.seed = 3;
  for (int64_t i = 0; i < 60; ++i) {
    const CorpusDoc d = corpus_doc(opt, i);
    if (d.problem.kind == TaskKind::Countdown) expected.insert(task_problem_key(d.problem));
  }
  ASSERT_GT(expected.size(), 10u);
  std::vector<std::string> listed;
  for (const TaskProblem& p : task_problems_read(dir + "/p.jsonl", TaskKind::Countdown))
    listed.push_back(task_problem_key(p));
  EXPECT_EQ(listed.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), expected);
}

TEST(TaskProblemKey, IgnoresTheOrderOfTheNumbersOnly) {
  TaskProblem a, b, c;
  a.countdown = {.numbers = {3, 5, 7}, .target = 15};
  b.countdown = {.numbers = {7, 3, 5}, .target = 15};
  c.countdown = {.numbers = {3, 5, 7}, .target = 16};
  EXPECT_EQ(task_problem_key(a), task_problem_key(b));
  EXPECT_NE(task_problem_key(a), task_problem_key(c));
}

TEST(GrpoCommand, TrainsResumesAndItsCheckpointEvaluates) {
  test::TinyChatModel tiny(/*load=*/false);
  const std::string dir = tiny.dir.string(), run = dir + "/rl";
  const std::string common = " --task arithmetic --prompts 1 --group 2 --max-new-tokens 4 --format frugal -t 2";
  test::CommandResult r = test::run_frugal("grpo -m " + dir + " -o " + run + " --steps 2" + common);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("grpo step 2/2"), std::string::npos) << r.out;
  // Keeping one checkpoint deletes the one the resume started from: later
  // checkpoints still carry the tokenizer (the run folder keeps its own copy).
  r = test::run_frugal("grpo --resume " + run + " --steps 4 --checkpoint-every 1 --keep 1" + common);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resumed from " + run + "/checkpoints/step-00000002 at step 2"), std::string::npos) << r.out;
  std::ifstream metrics(run + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"], ++lines);
    EXPECT_GE(j["reward"].get<double>(), 0.0);
  }
  EXPECT_EQ(lines, 4);
  EXPECT_TRUE(std::filesystem::exists(run + "/grpo_reward.svg"));
  EXPECT_FALSE(std::filesystem::exists(run + "/checkpoints/step-00000002"));
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/step-00000004/tokenizer.json"));
  r = test::run_frugal("eval -m " + run + "/checkpoints/step-00000004 --task arithmetic --n 1 --samples 0 "
                       "--max-new-tokens 4 --format frugal -t 2");
  EXPECT_EQ(r.code, 0) << r.out;
  r = test::run_frugal("grpo -m " + dir + common);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no run folder: pass -o DIR"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace frugal
