// One verifiable problem of either task, as the corpus, GRPO and eval see it:
// its question, the prompt given to the model, its exact verifier, and its JSON
// form ({"numbers": [..], "target": N} for Countdown, DESIGN.md "frugal eval").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rl/arithmetic.h"
#include "rl/countdown.h"

namespace frugal {

enum class TaskKind { Countdown, Arithmetic };
// "countdown" | "arithmetic"; throws frugal::Error otherwise.
TaskKind task_kind_parse(std::string_view name);
std::string_view task_kind_name(TaskKind kind);

struct TaskProblem {
  TaskKind kind = TaskKind::Countdown;
  CountdownProblem countdown;
  ArithmeticProblem arithmetic;

  std::string question() const;
  bool verify(std::string_view answer) const;  // the <answer> text
  nlohmann::json to_json() const;
  // Throws frugal::Error naming the bad field.
  static TaskProblem from_json(TaskKind kind, const nlohmann::json& j);
};

// Problem `index` of a split; hard: the held-out extrapolation band.
TaskProblem task_problem(TaskKind kind, uint64_t seed, TaskSplit split, bool hard, int64_t index);

// What identifies a problem whatever its presentation (Countdown: the numbers
// as a multiset and the target), for excluding seen problems.
std::string task_problem_key(const TaskProblem& p);

// Problems of `kind`, one JSON object per line (blank lines skipped); throws
// frugal::Error naming the line of a bad record, or when there is none.
std::vector<TaskProblem> task_problems_read(const std::string& path, TaskKind kind);

// The user turn: the question and the answer format the rewards check.
std::string task_user_message(const TaskProblem& p);

}  // namespace frugal
