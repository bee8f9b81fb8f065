#include "rl/task.h"

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

}  // namespace frugal
