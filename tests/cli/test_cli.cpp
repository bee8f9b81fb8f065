// The frugal binary as users call it: outputs, exit codes and one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

#include "../common/command.h"
#include "core/npy.h"
#include "infer/sampler.h"
#include "kernels/dispatch.h"
#include "model/transformer.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

using Result = test::CommandResult;

Result frugal(const std::string& args) { return test::run_frugal(args); }

struct Dir {
  fs::path path = fs::path(FRUGAL_BINARY_DIR) / "test-tmp" / ("cli-" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  std::string operator/(const std::string& c) const { return (path / c).string(); }
};

std::string reference_path(const std::string& rel) { return std::string(FRUGAL_SOURCE_DIR) + "/tests/data/reference/" + rel; }

std::string seq_tokens(const std::string& model, int seq) {
  NpyArray a = npy_read(reference_path(model + "/seq" + std::to_string(seq) + "_ids.npy"));
  std::string s;
  for (int64_t i = 0; i < a.numel(); ++i)
    s += (i ? " " : "") + std::to_string(int64_t(load_as_f32(a.dtype, a.bytes.data(), size_t(i))));
  return s;
}

TEST(Cli, LogitsMatchOfficialReference) {
  Dir d;
  for (const char* attn : {"naive", "absorb"}) {
    Result r = frugal(std::string("logits -m ") + reference_path("tiny-fp8") + " --tokens \"" + seq_tokens("tiny-fp8", 2) +
                      "\" --out " + (d / "l.npy") + " --attn " + attn + " --mtp-out " + (d / "m.npy"));
    ASSERT_EQ(r.code, 0) << r.out;
    NpyArray got = npy_read(d / "l.npy"), want = npy_read(reference_path("tiny-fp8/seq2_all_logits.npy"));
    ASSERT_EQ(got.shape, want.shape);
    for (int64_t i = 0; i < got.numel(); ++i) ASSERT_NEAR(got.f32()[i], want.f32()[i], 1e-4) << attn << " " << i;
    NpyArray mtp = npy_read(d / "m.npy"), want_mtp = npy_read(reference_path("tiny-fp8/seq2_mtp_logits_unofficial.npy"));
    ASSERT_EQ(mtp.shape, want_mtp.shape);
    for (int64_t i = 0; i < mtp.numel(); ++i) ASSERT_NEAR(mtp.f32()[i], want_mtp.f32()[i], 1e-4) << i;
  }
}

// --bf16-activations (fp8 products with x as one bf16) stays near the official
// logits (measured max |diff| 4.7e-3 on logits up to 4.4; 6e-6 without it) and
// keeps every argmax; where the CPU has the AVX512-BF16 kernel, it changes them.
TEST(Cli, Bf16ActivationsStayNearOfficialReference) {
  Dir d;
  const std::string args = "logits -m " + reference_path("tiny-fp8") + " --tokens \"" + seq_tokens("tiny-fp8", 2) +
                           "\" --out ";
  Result a = frugal(args + (d / "a.npy"));
  Result b = frugal(args + (d / "b.npy") + " --bf16-activations");
  ASSERT_EQ(a.code, 0) << a.out;
  ASSERT_EQ(b.code, 0) << b.out;
  NpyArray exact = npy_read(d / "a.npy"), got = npy_read(d / "b.npy");
  NpyArray want = npy_read(reference_path("tiny-fp8/seq2_all_logits.npy"));
  ASSERT_EQ(got.shape, want.shape);
  const int64_t vocab = want.shape.back();
  bool changed = false;
  for (int64_t i = 0; i < got.numel(); ++i) {
    ASSERT_NEAR(got.f32()[i], want.f32()[i], 2e-2) << i;
    changed |= got.f32()[i] != exact.f32()[i];
  }
  for (int64_t p = 0; p < got.numel() / vocab; ++p)
    EXPECT_EQ(argmax(got.f32() + p * vocab, vocab), argmax(want.f32() + p * vocab, vocab)) << "position " << p;
  EXPECT_EQ(changed, dpbf16_enabled()) << "--bf16-activations changes the products exactly where the kernel runs";
  // also while --bf16-activations is parsed
  Result bad = test::run_command("FRUGAL_FP8=bogus " + test::frugal_binary() + " " + args + (d / "c.npy") +
                                 " --bf16-activations");
  EXPECT_EQ(bad.code, 1) << bad.out;  // a clean error, not an uncaught exception
  EXPECT_NE(bad.out.find("frugal: error: FRUGAL_FP8=bogus: expected f16c, bf16 or bf16x2"), std::string::npos)
      << bad.out;
}

TEST(Cli, SynthThenGreedyRunFollowsTheLogits) {
  Dir d;
  Result s = frugal("synth --like tiny --dtype fp8 --seed 5 -o " + (d / "m"));
  ASSERT_EQ(s.code, 0) << s.out;
  Result r = frugal("run -m " + (d / "m") + " --tokens \"3 14 15 92\" -n 6 --ignore-eos --temperature 0");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<int32_t> seq = {3, 14, 15, 92}, generated;
  {
    std::istringstream in(r.out.substr(0, r.out.find('\n')));
    int32_t id;
    while (in >> id) generated.push_back(id);
  }
  ASSERT_EQ(generated.size(), 6u) << r.out;
  // Each generated token is the argmax of a fresh full-sequence pass.
  auto m = model_load(d / "m");
  ThreadPool pool(1);
  for (int32_t tok : generated) {
    LatentKvCache cache = m->new_cache(int64_t(seq.size()));
    ForwardScratch sc;
    ForwardResult out;
    transformer_fwd(*m, seq.data(), int64_t(seq.size()), cache, {.all_logits = false}, out, sc, pool);
    EXPECT_EQ(tok, argmax(out.logits.data(), m->config.vocab_size));
    seq.push_back(tok);
  }
}

TEST(Cli, SamplingIsSeeded) {
  Dir d;
  ASSERT_EQ(frugal("synth --like tiny-v2-lite -o " + (d / "m")).code, 0);
  auto run = [&](int seed) {
    Result r = frugal("run -m " + (d / "m") + " --tokens \"1 2 3\" -n 12 --ignore-eos --temperature 1.5 --top-p 0.95 "
                      "--top-k 50 --min-p 0.01 --seed " + std::to_string(seed));
    EXPECT_EQ(r.code, 0) << r.out;
    return r.out.substr(0, r.out.find('\n'));
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

// Bad input: a non-zero exit and one line naming what is wrong.
void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(Cli, BadInputGivesOneLineErrors) {
  Dir d;
  ASSERT_EQ(frugal("synth --like tiny -o " + (d / "m")).code, 0);
  expect_one_line_error(frugal("logits -m " + (d / "m") + " --tokens \"1 x 3\" --out " + (d / "o.npy")), "'x' is not a token id");
  expect_one_line_error(frugal("logits -m " + (d / "m") + " --tokens \"1 99999\" --out " + (d / "o.npy")), "token id 99999");
  expect_one_line_error(frugal("logits -m " + (d / "nowhere") + " --tokens 1 --out " + (d / "o.npy")), "nowhere");
  expect_one_line_error(frugal("synth --like gpt5 -o " + (d / "x")), "'gpt5'");
  expect_one_line_error(frugal("synth --like tiny --set '{\"hidden_size\": \"big\"}' -o " + (d / "x")), "'hidden_size'");
  expect_one_line_error(frugal("run -m " + (d / "m") + " --tokens \"1 2 3\" --ctx 3"), "context");
  fs::resize_file(d / "m/model.safetensors", 1000);
  expect_one_line_error(frugal("run -m " + (d / "m") + " --tokens 1"), "model.safetensors");
  EXPECT_FALSE(fs::exists(d / "o.npy"));
}

}  // namespace
}  // namespace frugal

#include <fstream>

#include "../infer/tiny_chat_model.h"

namespace frugal {
namespace {

TEST(Cli, RunTextShowsReasoningApart) {
  test::TinyChatModel t(/*load=*/false);
  Result r = frugal("run -m " + t.dir.string() + " -p \"hello world\" --format deepseek-r1 -n 6 --temperature 0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("[thinking]"), std::string::npos) << r.out;  // R1's prompt opens the reasoning block
  EXPECT_NE(r.out.find("prompt tokens"), std::string::npos) << r.out;
  Result raw = frugal("run -m " + t.dir.string() + " -p \"hello world\" --raw -n 4 --temperature 0");
  ASSERT_EQ(raw.code, 0) << raw.out;
  EXPECT_EQ(raw.out.rfind("hello world", 0), 0u) << raw.out;  // continues the text as typed
}

TEST(Cli, ChatReplCommandsAndTurns) {
  test::TinyChatModel t(/*load=*/false);
  const std::string script = (t.dir / "script.txt").string(), script2 = (t.dir / "script2.txt").string();
  std::ofstream(script) << "hello\n/think off\n/system be brief\nin the world\n/nope\n/reset\nhello\n";
  std::ofstream(script2) << "/think on\n";
  Result r = frugal("chat -m " + t.dir.string() + " --format frugal -n 4 --temperature 0 < " + script);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("[thinking off]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[system prompt set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[unknown command /nope"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[conversation cleared]"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '[') >= 6, true) << r.out;
  Result v3 = frugal("chat -m " + t.dir.string() + " --format deepseek-v3 -n 2 < " + script2);
  EXPECT_NE(v3.out.find("cannot think"), std::string::npos) << v3.out;
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// Ctrl-C (SIGINT) during an answer stops that answer; the chat goes on to the
// next command and exits normally.
TEST(Cli, CtrlCStopsTheAnswerNotTheProgram) {
  test::TinyChatModel t(/*load=*/false);
  {  // a long context and no end-of-sequence token: the answer would run for minutes
    std::ifstream in(t.dir / "config.json");
    nlohmann::json j = nlohmann::json::parse(in);
    j["max_position_embeddings"] = 1000000;
    j.erase("eos_token_id");
    std::ofstream(t.dir / "config.json") << j.dump();
    std::ofstream(t.dir / "tokenizer_config.json") << R"({"add_bos_token": true, "bos_token": "<｜begin▁of▁sentence｜>"})";
  }
  const std::string script = (t.dir / "script.txt").string(), out = (t.dir / "out.txt").string();
  std::ofstream(script) << "hello\n/reset\n";
  const std::string cmd = "sh -c '" + std::string(FRUGAL_BINARY_DIR) + "/frugal chat -m " + t.dir.string() +
                          " --ctx 1000000 -n 1000000 --temperature 0 --format frugal < " + script + " > " + out +
                          " 2>&1 & pid=$!; " +
                          // Ctrl-C once the answer is under way (its reasoning block opened), however
                          // long the start took on a loaded machine; at most 120 s.
                          "i=0; until grep -q thinking " + out + " || [ $i -ge 1200 ]; do sleep 0.1; i=$((i+1)); done; " +
                          "kill -INT $pid; wait $pid; echo exit=$?'";
  Result r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[256];
  while (fgets(buf, sizeof buf, p)) r.out += buf;
  pclose(p);
  std::ifstream in(out);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(r.out.find("exit=0"), std::string::npos) << r.out << log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
  EXPECT_NE(log.find("; stopped]"), std::string::npos) << log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
  EXPECT_NE(log.find("[conversation cleared]"), std::string::npos);
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// frugal bench --json: every figure present and consistent with the model: the
// weights read per decode step are the non-expert tensors plus the experts used,
// so they lie between the fixed part and the whole checkpoint, and grow with the batch.
TEST(Cli, BenchReportsConsistentFigures) {
  Dir d;
  ASSERT_EQ(frugal("synth --like tiny --dtype fp8 -o " + (d / "m")).code, 0);
  Result r = frugal("bench -m " + (d / "m") + " --prompt 16 --gen 4 --batch 1,8 --repeat 1 --json 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_GT(j["machine"]["read_gb_per_s"].get<double>(), 0.5);
  EXPECT_GT(j["machine"]["fma_gflop_per_s"].get<double>(), 1.0);
  EXPECT_GT(j["prefill"]["tok_per_s"].get<double>(), 0);
  ASSERT_EQ(j["decode"].size(), 2u);
  const double b1 = j["decode"][0]["weight_bytes_per_step"], b8 = j["decode"][1]["weight_bytes_per_step"];
  const double file = double(fs::file_size(d / "m/model.safetensors"));
  EXPECT_GT(b1, 0.1 * file);
  EXPECT_LT(b8, file);
  EXPECT_GE(b8, b1);  // the union of experts over 8 sequences
  // CPU seconds of the same spans: positive, at most threads x wall seconds, and
  // the per-CPU-second rates follow from them.
  const double threads = j["machine"]["threads"].get<double>();
  for (const auto& [ph, tokens] : {std::pair{j["prefill"], 16.0}, {j["decode"][0], 4.0}, {j["decode"][1], 32.0}}) {
    const double cpu = ph["cpu_seconds"], wall = tokens / ph["tok_per_s"].get<double>();
    EXPECT_GT(cpu, 0);
    EXPECT_LE(cpu, threads * wall * 1.1 + 0.01);
    EXPECT_NEAR(ph["tok_per_cpu_s"].get<double>() * cpu, tokens, 1e-6 * tokens);
  }
  // 3 layers x (64 + 16) latent floats: nothing else is cached per token.
  EXPECT_EQ(j["kv_bytes_per_token"].get<int64_t>(), 3 * (64 + 16) * 4);
}

}  // namespace
}  // namespace frugal
