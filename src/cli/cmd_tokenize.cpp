// frugal tokenize (-m DIR | --tokenizer FILE) [--jsonl] [--special] [--stats]: stdin -> token ids.
// Without --jsonl the whole of stdin is one text and its ids go on one line,
// space-separated; with --jsonl each input line is a JSON string and each output
// line the JSON array of its ids.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/seconds_since.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

namespace {

struct TokenizeArgs {
  std::string model, tokenizer;
  bool jsonl = false, special = false, stats = false;
};

Tokenizer load_tokenizer(const TokenizeArgs& a) {
  if (a.tokenizer.empty()) return tokenizer_load_dir(resolve_model_dir(a.model));
  // BOS / EOS settings come from a tokenizer_config.json beside the file, when there is one.
  const auto config = std::filesystem::path(a.tokenizer).parent_path() / "tokenizer_config.json";
  return Tokenizer::load(a.tokenizer, std::filesystem::exists(config) ? config.string() : std::string());
}

std::string read_all(std::FILE* f) {
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

void write_out(const fmt::memory_buffer& b) { std::fwrite(b.data(), 1, b.size(), stdout); }

}  // namespace

Command tokenize_command(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* sub = app.add_subcommand("tokenize", "Print the token ids of the text on stdin");
  auto* m = sub->add_option("-m,--model", a->model,
                            "Model directory with tokenizer.json (default: $FRUGAL_MODEL or models/default)");
  auto* t = sub->add_option("--tokenizer", a->tokenizer,
                            "A tokenizer.json file (tokenizer_config.json beside it is used too)");
  m->excludes(t);
  sub->add_flag("--jsonl", a->jsonl, "Each stdin line is a JSON string; print one JSON array of ids per line");
  sub->add_flag("--special", a->special, "Add the special tokens the tokenizer puts around a text (BOS)");
  sub->add_flag("--stats", a->stats, "Print load time and encoding speed to stderr");
  return {sub, [a] {
            auto t0 = std::chrono::steady_clock::now();
            const Tokenizer tok = load_tokenizer(*a);
            const double load_s = seconds_since(t0);
            double encode_s = 0;
            size_t bytes = 0, tokens = 0;
            fmt::memory_buffer out;
            if (!a->jsonl) {
              const std::string text = read_all(stdin);
              t0 = std::chrono::steady_clock::now();
              const std::vector<int32_t> ids = tok.encode(text, a->special);
              encode_s = seconds_since(t0);
              bytes = text.size();
              tokens = ids.size();
              for (size_t i = 0; i < ids.size(); ++i)
                fmt::format_to(std::back_inserter(out), "{}{}", i ? " " : "", ids[i]);
              out.push_back('\n');
              write_out(out);
            } else {
              std::string line;
              for (int64_t n = 1; std::getline(std::cin, line); ++n) {
                nlohmann::json j;
                try {
                  j = nlohmann::json::parse(line);
                } catch (const nlohmann::json::exception& e) {
                  fail("stdin line {}: not JSON ({}); --jsonl expects one JSON string per line", n, e.what());
                }
                if (!j.is_string()) fail("stdin line {}: --jsonl expects a JSON string, got {}", n, j.type_name());
                const std::string& text = j.get_ref<const std::string&>();
                t0 = std::chrono::steady_clock::now();
                const std::vector<int32_t> ids = tok.encode(text, a->special);
                encode_s += seconds_since(t0);
                bytes += text.size();
                tokens += ids.size();
                out.clear();
                out.push_back('[');
                for (size_t i = 0; i < ids.size(); ++i)
                  fmt::format_to(std::back_inserter(out), "{}{}", i ? "," : "", ids[i]);
                out.append(std::string_view("]\n"));
                write_out(out);
              }
            }
            std::fflush(stdout);
            if (a->stats)
              std::fprintf(stderr, "tokenize: load %.3f s; %zu bytes -> %zu tokens in %.3f s (%.2f MB/s)\n", load_s,
                           bytes, tokens, encode_s, encode_s > 0 ? double(bytes) / encode_s / 1e6 : 0.0);
            return 0;
          }};
}

}  // namespace frugal
