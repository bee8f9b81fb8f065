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
  EXPECT_GT(answers(chat_plain.out).size(), 4u) << chat_plain.out;
  EXPECT_NE(chat_spec.out.find("speculative: "), std::string::npos) << chat_spec.out;
}

// bench --speculative: per depth, the figures are present and consistent. With
// random weights the drafts are almost never right (about 1 in vocab_size), so
// each step yields one token and costs more weight traffic than a plain step:
// the MTP passes, and the union of the experts of depth + 1 rows.
TEST(SpeculativeCli, BenchReportsSpeculativeFigures) {
  test::TinyChatModel t(/*load=*/false);
  auto r = run_frugal("bench -m " + t.dir.string() + " --prompt 8 --gen 12 --batch 1 --repeat 1 -t 1 --speculative 1,3 --json 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  const auto& rows = j["speculative"];
  ASSERT_EQ(rows.size(), 3u);  // plain, then each depth
  EXPECT_EQ(rows[0]["depth"], 0);
  const double plain_bytes = rows[0]["weight_bytes_per_token"], plain_experts = rows[0]["experts_per_main_pass"];
  EXPECT_GT(plain_bytes, 0);
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const int64_t depth = row["depth"];
    EXPECT_EQ(depth, i == 1 ? 1 : 3);
    EXPECT_EQ(row["acceptance"].size(), size_t(depth));
    EXPECT_TRUE(row["same_tokens"].get<bool>());
    EXPECT_GE(row["tokens_per_step"].get<double>(), 1.0);
    EXPECT_LE(row["tokens_per_step"].get<double>(), double(depth + 1));
    EXPECT_GT(row["tok_per_s"].get<double>(), 0);
    EXPECT_NEAR(row["mtp_passes_per_step"].get<double>(), double(depth), 0.5);
    EXPECT_GT(row["weight_bytes_per_token"].get<double>(), plain_bytes);
    EXPECT_GE(row["experts_per_main_pass"].get<double>(), plain_experts);
  }
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
