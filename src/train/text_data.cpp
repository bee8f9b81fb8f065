#include "train/text_data.h"

#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace frugal {

namespace {

void append_piece(Document& d, const Tokenizer& tok, std::string_view text, bool target) {
  if (text.empty()) return;
  const std::vector<int32_t> ids = tok.encode(text, /*add_special_tokens=*/false);
  d.tokens.insert(d.tokens.end(), ids.begin(), ids.end());
  d.target.insert(d.target.end(), ids.size(), target ? 1 : 0);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read the data file", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Document document_from_text(const std::string& text, const Tokenizer& tok, const DocumentLoadOptions& opt) {
  Document d;
  if (tok.bos_id() >= 0) d.tokens.push_back(tok.bos_id());
  const std::vector<int32_t> ids = tok.encode(text, false);
  d.tokens.insert(d.tokens.end(), ids.begin(), ids.end());
  if (opt.add_eos && tok.eos_id() >= 0) d.tokens.push_back(tok.eos_id());
  return d;
}

Document document_from_chat(const std::vector<ChatMessage>& messages, const Tokenizer& tok, const DocumentLoadOptions& opt) {
  const std::string full = chat_render(opt.chat_format, messages, {.add_generation_prompt = false});
  Document d;
  size_t done = 0;  // characters of `full` already tokenized
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role != ChatRole::Assistant) continue;
    const std::vector<ChatMessage> before(messages.begin(), messages.begin() + long(i));
    const std::vector<ChatMessage> through(messages.begin(), messages.begin() + long(i) + 1);
    const std::string upto = chat_render(opt.chat_format, through, {.add_generation_prompt = false});
    if (full.compare(0, upto.size(), upto) != 0)
      fail("chat format {} renders message {} differently once later turns follow; it cannot be loss-masked turn by turn",
           chat_format_name(opt.chat_format), i);
    // The prompt the model would have been given: with the generation prompt
    // (no thinking block first, then the format's default), or failing that,
    // without it (the turn opener then counts as a target).
    std::string prompt;
    for (std::optional<bool> thinking : {std::optional<bool>(false), std::optional<bool>()}) {
      std::string p = chat_render(opt.chat_format, before, {.add_generation_prompt = true, .thinking = thinking});
      if (upto.compare(0, p.size(), p) == 0) {
        prompt = std::move(p);
        break;
      }
    }
    if (prompt.empty()) prompt = chat_render(opt.chat_format, before, {.add_generation_prompt = false});
    if (upto.compare(0, prompt.size(), prompt) != 0 || prompt.size() < done)
      fail("chat format {}: message {} does not extend the conversation before it; it cannot be loss-masked",
           chat_format_name(opt.chat_format), i);
    append_piece(d, tok, std::string_view(full).substr(done, prompt.size() - done), false);
    append_piece(d, tok, std::string_view(full).substr(prompt.size(), upto.size() - prompt.size()), true);
    done = upto.size();
  }
  append_piece(d, tok, std::string_view(full).substr(done), false);
  return d;
}

Document document_from_prompt_completion(const std::string& prompt, const std::string& completion, const Tokenizer& tok) {
  Document d;
  append_piece(d, tok, prompt, false);
  append_piece(d, tok, completion, true);
  if (tok.eos_id() >= 0) {
    d.tokens.push_back(tok.eos_id());
    d.target.push_back(1);
  }
  return d;
}

namespace {

// One document still to tokenize, and where it came from (for errors).
struct PendingDocument {
  std::string text;
  std::optional<std::vector<ChatMessage>> messages;
  std::string where;  // "file" or "file:line"
  std::optional<std::string> completion;  // {"prompt": text, "completion": ...}
};

}  // namespace

std::vector<Document> documents_load(const std::vector<std::string>& paths, const Tokenizer& tok,
                                     const DocumentLoadOptions& opt) {
  // Read and validate serially (errors name the first bad line), tokenize in parallel.
  std::vector<PendingDocument> pending;
  for (const std::string& path : paths) {
    const bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
    if (!jsonl) {
      pending.push_back({read_all(path), std::nullopt, path});
      continue;
    }
    std::ifstream in(path);
    if (!in) fail("{}: cannot read the data file", path);
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) fail("{}:{}: not a JSON object", path, n);
      const std::string where = fmt::format("{}:{}", path, n);
      if (auto t = j.find("text"); t != j.end()) {
        if (!t->is_string()) fail("{}: \"text\" must be a string", where);
        pending.push_back({t->get<std::string>(), std::nullopt, where});
      } else if (auto pr = j.find("prompt"); pr != j.end()) {
        auto c = j.find("completion");
        if (!pr->is_string() || c == j.end() || !c->is_string())
          fail("{}: \"prompt\" and \"completion\" must both be strings", where);
        pending.push_back({pr->get<std::string>(), std::nullopt, where, c->get<std::string>()});
      } else if (auto m = j.find("messages"); m != j.end()) {
        try {
          pending.push_back({{}, chat_messages_from_json(*m), where});
        } catch (const Error& e) {
          fail("{}: {}", where, e.what());
        }
      } else {
        fail("{}: expected a \"text\" string, a \"messages\" array or \"prompt\" + \"completion\" strings", where);
      }
    }
  }
  std::vector<Document> docs(pending.size());
  std::vector<std::string> errors(pending.size());
  auto tokenize = [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      PendingDocument& p = pending[size_t(i)];
      try {  // exceptions must not leave a pool thread
        docs[size_t(i)] = p.messages     ? document_from_chat(*p.messages, tok, opt)
                          : p.completion ? document_from_prompt_completion(p.text, *p.completion, tok)
                                         : document_from_text(p.text, tok, opt);
      } catch (const std::exception& e) {
        errors[size_t(i)] = p.where + ": " + e.what();
      }
      p = {};  // the text is no longer needed
    }
  };
  if (opt.pool) opt.pool->parallel_for(int64_t(pending.size()), tokenize);
  else tokenize(0, int64_t(pending.size()), 0);
  for (const std::string& e : errors)
    if (!e.empty()) fail("{}", e);
  return docs;
}

}  // namespace frugal
