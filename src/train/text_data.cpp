#include "train/text_data.h"

#include <fstream>
#include <sstream>

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

std::vector<Document> documents_load(const std::vector<std::string>& paths, const Tokenizer& tok,
                                     const DocumentLoadOptions& opt) {
  std::vector<Document> docs;
  for (const std::string& path : paths) {
    const bool jsonl = path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
    if (!jsonl) {
      docs.push_back(document_from_text(read_all(path), tok, opt));
      continue;
    }
    std::ifstream in(path);
    if (!in) fail("{}: cannot read the data file", path);
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) fail("{}:{}: not a JSON object", path, n);
      if (auto t = j.find("text"); t != j.end()) {
        if (!t->is_string()) fail("{}:{}: \"text\" must be a string", path, n);
        docs.push_back(document_from_text(t->get<std::string>(), tok, opt));
      } else if (auto m = j.find("messages"); m != j.end()) {
        std::vector<ChatMessage> messages;
        try {
          messages = chat_messages_from_json(*m);
        } catch (const Error& e) {
          fail("{}:{}: {}", path, n, e.what());
        }
        docs.push_back(document_from_chat(messages, tok, opt));
      } else {
        fail("{}:{}: expected a \"text\" string or a \"messages\" array", path, n);
      }
    }
  }
  return docs;
}

}  // namespace frugal
