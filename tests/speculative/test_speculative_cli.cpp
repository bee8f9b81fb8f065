// frugal run / chat / bench with --speculative: the same greedy output as
// without, the acceptance summary, and one-line errors for models without MTP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "../infer/tiny_chat_model.h"

namespace frugal {
namespace {

using test::run_frugal;

// stdout and stderr come together: the first line holds the token ids.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(SpeculativeCli, RunTokensSameAsWithout) {
  test::TinyChatModel t(/*load=*/false);
  const std::string base = "run -m " + t.dir.string() + " --tokens \"5 6 7 8\" -n 24 --temperature 0 --ignore-eos";
  auto plain = run_frugal(base);
  ASSERT_EQ(plain.code, 0) << plain.out;
  for (int n = 1; n <= 4; ++n) {
    auto spec = run_frugal(base + " --speculative " + std::to_string(n));
    ASSERT_EQ(spec.code, 0) << spec.out;
    EXPECT_EQ(first_line(spec.out), first_line(plain.out));
    EXPECT_NE(spec.out.find("speculative: "), std::string::npos) << spec.out;
  }
}

TEST(SpeculativeCli, RunPromptAndChatSameAsWithout) {
  test::TinyChatModel t(/*load=*/false);
  const std::string m = " -m " + t.dir.string() + " -n 20 --temperature 0 --format deepseek-v3";
  auto plain = run_frugal("run" + m + " -p \"hello world\"");
  auto spec = run_frugal("run" + m + " -p \"hello world\" --speculative 2");
  ASSERT_EQ(plain.code, 0) << plain.out;
  ASSERT_EQ(spec.code, 0) << spec.out;
  EXPECT_EQ(first_line(spec.out), first_line(plain.out));
  const std::string in = "printf 'hello\\nmore words\\n' | ";
  auto chat_plain = test::run_command(in + test::frugal_binary() + " chat" + m);
  auto chat_spec = test::run_command(in + test::frugal_binary() + " chat" + m + " --speculative 3");
  ASSERT_EQ(chat_plain.code, 0) << chat_plain.out;
  ASSERT_EQ(chat_spec.code, 0) << chat_spec.out;
  // The answers (stdout lines without the [stats] lines) agree.
  auto answers = [](const std::string& s) {
    std::string out, line;
    std::istringstream is(s);
    while (std::getline(is, line))
      if (!line.starts_with("[") && !line.starts_with("frugal chat:")) out += line + "\n";
    return out;
  };
  EXPECT_EQ(answers(chat_spec.out), answers(chat_plain.out));
  EXPECT_NE(chat_spec.out.find("speculative: "), std::string::npos) << chat_spec.out;
}

TEST(SpeculativeCli, ModelWithoutMtpIsAOneLineError) {
  test::TinyChatModel t(/*load=*/false);
  const std::string dir = t.dir.string() + "-v2";
  auto s = run_frugal("synth --like tiny-v2 -o " + dir);
  ASSERT_EQ(s.code, 0) << s.out;
  for (const std::string cmd : {"run --tokens \"1 2\" -n 4 --speculative 1", "bench --prompt 8 --gen 2 --batch 1 --repeat 1 --speculative 1"}) {
    auto r = run_frugal(cmd.substr(0, cmd.find(' ')) + " -m " + dir + cmd.substr(cmd.find(' ')));
    EXPECT_NE(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("has no MTP layer"), std::string::npos) << r.out;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace frugal
