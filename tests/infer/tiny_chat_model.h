// A tiny random DeepSeek-V3-shaped model with a tiny byte-level tokenizer that
// knows the chat tokens, written to a temporary folder: enough to drive chat
// sessions and the chat CLI end to end in milliseconds.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>

#include "../tokenizer/tiny_tokenizer.h"
#include "model/synth.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace frugal::test {

struct TinyChatModel {
  // load: also load the model and tokenizer (a CLI test only needs the files).
  std::filesystem::path dir = std::filesystem::path(FRUGAL_BINARY_DIR) / "test-tmp" / ("chat-" + std::to_string(::getpid()));
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;

  // config_overrides: merged into the synth config (e.g. a longer max_position_embeddings).
  explicit TinyChatModel(bool load = true, nlohmann::json config_overrides = nlohmann::json::object()) {
    test::TinyTokenizer t;
    // The chat tokens as special added tokens, after the BPE vocabulary.
    int id = t.vocab_end();
    for (const char* s : {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"})
      t.added_tokens.push_back(test::added_token(s, id++, true));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << t.json();
    std::ofstream(dir / "tokenizer_config.json")
        << R"({"add_bos_token": true, "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"})";
    config_overrides["vocab_size"] = id;
    config_overrides["eos_token_id"] = id - 5;
    synth_checkpoint({.like = "tiny", .seed = 4, .config_overrides = config_overrides}, dir.string());
    if (!load) return;
    model = model_load(dir.string());
    tokenizer = std::make_unique<Tokenizer>(tokenizer_load_dir(dir.string()));
  }
  ~TinyChatModel() { std::filesystem::remove_all(dir); }
};

}  // namespace frugal::test
