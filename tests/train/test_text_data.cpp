// Documents from text and JSONL files, tokenized with a tokenizer trained here
// by frugal's BPE trainer (the kind of tokenizer models frugal trains ship with):
// plain documents get BOS/EOS, conversations are loss-masked to assistant turns.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "../common/temp_dir.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/chat_tokens.h"
#include "train/text_data.h"

namespace frugal {
namespace {

Tokenizer trained_tokenizer() {
  BpeWordCounter words;
  for (int i = 0; i < 20; ++i)
    words.add_text("The answer is forty two. What is six times seven? Yes, the answer is right. "
                   "Plain documents are packed into rows of tokens for training the model.");
  const BpeTrainResult r = bpe_train(words, {.vocab_size = 400});
  return Tokenizer::from_json_text(bpe_tokenizer_json(r), bpe_tokenizer_config_json(r, 4096));
}

std::string decode_where(const Tokenizer& tok, const Document& d, int want_target) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < d.tokens.size(); ++i)
    if (want_target < 0 || d.target[i] == want_target) ids.push_back(d.tokens[i]);
  return tok.decode(ids);
}

TEST(TextData, PlainFilesAndJsonlTextGetBosAndEos) {
  test::TempDir dir("text_data_plain");
  const Tokenizer tok = trained_tokenizer();
  ASSERT_EQ(tok.bos_id(), 0);
  ASSERT_EQ(tok.eos_id(), 1);
  write_file_atomic(dir / "a.txt", "Plain documents are packed.\nInto rows.");
  write_file_atomic(dir / "b.jsonl", "{\"text\": \"What is six times seven?\"}\n\n{\"text\": \"Yes.\"}\n");
  const std::vector<Document> docs = documents_load({dir / "a.txt", dir / "b.jsonl"}, tok, {});
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].tokens.front(), 0);
  EXPECT_EQ(docs[0].tokens.back(), 1);
  std::vector<int32_t> body(docs[0].tokens.begin() + 1, docs[0].tokens.end() - 1);
  EXPECT_EQ(body, tok.encode("Plain documents are packed.\nInto rows.", false));
  EXPECT_EQ(tok.decode(docs[1].tokens), std::string(chat_tokens::kBos) + "What is six times seven?" + std::string(chat_tokens::kEos));
  EXPECT_TRUE(docs[1].target.empty());
  const std::vector<Document> no_eos = documents_load({dir / "a.txt"}, tok, {.add_eos = false});
  EXPECT_NE(no_eos[0].tokens.back(), 1);
}

TEST(TextData, ConversationsAreMaskedToAssistantTurns) {
  test::TempDir dir("text_data_chat");
  const Tokenizer tok = trained_tokenizer();
  const nlohmann::json messages = {{{"role", "system"}, {"content", "Be brief."}},
                                   {{"role", "user"}, {"content", "What is six times seven?"}},
                                   {{"role", "assistant"}, {"content", "The answer is 42."}},
                                   {{"role", "user"}, {"content", "Right?"}},
                                   {{"role", "assistant"}, {"content", "Yes."}}};
  write_file_atomic(dir / "chat.jsonl", nlohmann::json{{"messages", messages}}.dump() + "\n");
  const std::vector<Document> docs = documents_load({dir / "chat.jsonl"}, tok, {.chat_format = ChatFormat::Frugal});
  ASSERT_EQ(docs.size(), 1u);
  const Document& d = docs[0];
  ASSERT_EQ(d.target.size(), d.tokens.size());
  const std::string eos(chat_tokens::kEos);
  // The whole conversation as the chat format renders it ...
  EXPECT_EQ(decode_where(tok, d, -1), chat_render(ChatFormat::Frugal, chat_messages_from_json(messages), {.add_generation_prompt = false}));
  // ... of which exactly the assistant replies and their end-of-turn tokens are targets.
  EXPECT_EQ(decode_where(tok, d, 1), "The answer is 42." + eos + "Yes." + eos);
  EXPECT_EQ(decode_where(tok, d, 0), std::string(chat_tokens::kBos) + "Be brief." + std::string(chat_tokens::kUser) +
                                         "What is six times seven?" + std::string(chat_tokens::kAssistant) +
                                         std::string(chat_tokens::kUser) + "Right?" + std::string(chat_tokens::kAssistant));
  // Packed: labels exist only where the next token is an assistant token.
  PackedDataset data({d}, {.seq_len = int64_t(d.tokens.size())});
  const TrainBatch b = data.next_batch(1);
  for (size_t t = 0; t + 1 < d.tokens.size(); ++t) EXPECT_EQ(b.labels[t] >= 0, d.target[t + 1] == 1) << t;
}

TEST(TextData, ThreadsGiveTheSameDocumentsInOrder) {
  test::TempDir dir("text_data_threads");
  const Tokenizer tok = trained_tokenizer();
  std::string jsonl;
  for (int i = 0; i < 60; ++i)
    jsonl += i % 3 ? nlohmann::json{{"text", "Document " + std::to_string(i) + ": the answer is " + std::to_string(i * 7)}}.dump() + "\n"
                   : nlohmann::json{{"messages", {{{"role", "user"}, {"content", "What is " + std::to_string(i) + "?"}},
                                                  {{"role", "assistant"}, {"content", std::to_string(i)}}}}}.dump() + "\n";
  write_file_atomic(dir / "many.jsonl", jsonl);
  const std::vector<Document> serial = documents_load({dir / "many.jsonl"}, tok, {});
  ThreadPool pool(3);
  const std::vector<Document> parallel = documents_load({dir / "many.jsonl"}, tok, {.pool = &pool});
  ASSERT_EQ(serial.size(), 60u);
  ASSERT_EQ(parallel.size(), 60u);
  for (size_t i = 0; i < 60; ++i) {
    EXPECT_EQ(parallel[i].tokens, serial[i].tokens) << i;
    EXPECT_EQ(parallel[i].target, serial[i].target) << i;
  }
  EXPECT_NE(tok.decode(serial[59].tokens).find("Document 59"), std::string::npos);
}

// Reasoning traces: the rendered prompt (which opened <think>) is context, the
// completion and the EOS after it are the targets.
TEST(TextData, PromptCompletionPairsTargetTheCompletion) {
  test::TempDir dir("text_data_pc");
  const Tokenizer tok = trained_tokenizer();
  const std::string prompt = std::string(chat_tokens::kBos) + std::string(chat_tokens::kUser) + "What is six times seven?" +
                             std::string(chat_tokens::kAssistant) + "<think>\n";
  const std::string completion = "six sevens\n</think>\n\n<answer>42</answer>";
  write_file_atomic(dir / "pc.jsonl", nlohmann::json{{"prompt", prompt}, {"completion", completion}}.dump() + "\n");
  const std::vector<Document> docs = documents_load({dir / "pc.jsonl"}, tok, {});
  ASSERT_EQ(docs.size(), 1u);
  const Document& d = docs[0];
  ASSERT_EQ(d.tokens.size(), d.target.size());
  EXPECT_EQ(tok.decode(d.tokens), prompt + completion + std::string(chat_tokens::kEos));
  std::vector<int32_t> context, targets;
  for (size_t i = 0; i < d.tokens.size(); ++i) (d.target[i] ? targets : context).push_back(d.tokens[i]);
  EXPECT_EQ(tok.decode(context), prompt);
  EXPECT_EQ(tok.decode(targets), completion + std::string(chat_tokens::kEos));
  EXPECT_EQ(d.tokens.front(), tok.bos_id());  // the prompt's BOS text is the BOS token
}

TEST(TextData, BadLinesNameTheFileAndLine) {
  test::TempDir dir("text_data_errors");
  const Tokenizer tok = trained_tokenizer();
  write_file_atomic(dir / "bad.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  write_file_atomic(dir / "nofield.jsonl", "{\"content\": \"x\"}\n");
  write_file_atomic(dir / "badrole.jsonl", "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n");
  auto message = [&](const std::string& f) {
    try {
      documents_load({dir / f}, tok, {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("bad.jsonl").find("bad.jsonl:2: not a JSON object"), std::string::npos) << message("bad.jsonl");
  EXPECT_NE(message("nofield.jsonl").find("nofield.jsonl:1: expected a \"text\" string, a \"messages\" array"), std::string::npos);
  write_file_atomic(dir / "halfpair.jsonl", "{\"prompt\": \"x\"}\n");
  EXPECT_NE(message("halfpair.jsonl").find("halfpair.jsonl:1: \"prompt\" and \"completion\" must both be strings"),
            std::string::npos) << message("halfpair.jsonl");
  EXPECT_NE(message("badrole.jsonl").find("badrole.jsonl:1:"), std::string::npos) << message("badrole.jsonl");
  EXPECT_NE(message("missing.txt").find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace frugal
