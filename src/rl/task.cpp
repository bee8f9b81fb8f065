#include "rl/task.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"

namespace frugal {

TaskKind task_kind_parse(std::string_view name) {
  if (name == "countdown") return TaskKind::Countdown;
  if (name == "arithmetic") return TaskKind::Arithmetic;
  fail("unknown task '{}': expected countdown or arithmetic", name);
}

std::string_view task_kind_name(TaskKind kind) { return kind == TaskKind::Countdown ? "countdown" : "arithmetic"; }

std::string TaskProblem::question() const {
  return kind == TaskKind::Countdown ? countdown_question(countdown) : arithmetic_question(arithmetic);
}

bool TaskProblem::verify(std::string_view answer) const {
  return kind == TaskKind::Countdown ? countdown_verify(countdown, answer) == CountdownVerdict::Correct
                                     : arithmetic_verify(arithmetic, answer) == ArithmeticVerdict::Correct;
}

nlohmann::json TaskProblem::to_json() const {
  if (kind == TaskKind::Countdown) return {{"numbers", countdown.numbers}, {"target", countdown.target}};
  return {{"a", arithmetic.a}, {"b", arithmetic.b}, {"op", std::string(1, arithmetic.op)}};
}

TaskProblem TaskProblem::from_json(TaskKind kind, const nlohmann::json& j) {
  TaskProblem p;
  p.kind = kind;
  auto integer = [&](const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer())
      fail("problem {}: field '{}' must be an integer", j.dump(), key);
    return j[key].get<int64_t>();
  };
  if (kind == TaskKind::Countdown) {
    if (!j.is_object() || !j.contains("numbers") || !j["numbers"].is_array() || j["numbers"].empty())
      fail("problem {}: field 'numbers' must be a non-empty array of integers", j.dump());
    for (const nlohmann::json& n : j["numbers"]) {
      if (!n.is_number_integer() || n.get<int64_t>() < 1)
        fail("problem {}: 'numbers' must hold positive integers", j.dump());
      p.countdown.numbers.push_back(n.get<int64_t>());
    }
    p.countdown.target = integer("target");
  } else {
    p.arithmetic.a = integer("a");
    p.arithmetic.b = integer("b");
    if (!j.contains("op") || !j["op"].is_string() || j["op"].get<std::string>().size() != 1 ||
        std::string_view("+-*").find(j["op"].get<std::string>()[0]) == std::string_view::npos)
      fail("problem {}: field 'op' must be \"+\", \"-\" or \"*\"", j.dump());
    p.arithmetic.op = j["op"].get<std::string>()[0];
  }
  return p;
}

TaskProblem task_problem(TaskKind kind, uint64_t seed, TaskSplit split, bool hard, int64_t index) {
  TaskProblem p;
  p.kind = kind;
  if (kind == TaskKind::Countdown)
    p.countdown = countdown_problem(seed, split, hard ? kCountdownHard : kCountdownStandard, index);
  else
    p.arithmetic = arithmetic_problem(seed, split, hard ? kArithmeticHard : kArithmeticStandard, index);
  return p;
}

std::string task_user_message(const TaskProblem& p) {
  return p.question() + " Think it through in <think> </think> and give the " +
         (p.kind == TaskKind::Countdown ? "equation" : "number") + " in <answer> </answer>.";
}

std::string task_problem_key(const TaskProblem& p) {
  if (p.kind != TaskKind::Countdown) return p.to_json().dump();
  std::vector<int64_t> numbers = p.countdown.numbers;
  std::sort(numbers.begin(), numbers.end());
  return nlohmann::json{{"numbers", numbers}, {"target", p.countdown.target}}.dump();
}

std::vector<TaskProblem> task_problems_read(const std::string& path, TaskKind kind) {
  std::ifstream in(path);
  if (!in) fail("cannot read problems file {}", path);
  std::vector<TaskProblem> out;
  std::string line;
  for (int64_t no = 1; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) fail("{}:{}: not valid JSON", path, no);
    try {
      out.push_back(TaskProblem::from_json(kind, j));
    } catch (const Error& e) {
      fail("{}:{}: {}", path, no, e.what());
    }
  }
  if (out.empty()) fail("{} holds no problems", path);
  return out;
}

}  // namespace frugal
