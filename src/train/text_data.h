// Training documents from files, tokenized with the model's tokenizer:
//  - *.jsonl: one JSON object per line, either {"text": "..."} (a plain
//    document) or {"messages": [...]} (a conversation in the OpenAI shape,
//    rendered with the model's chat format; only the assistant turns are loss
//    targets, each including the end-of-turn token that teaches the model to stop);
//    or {"prompt": "...", "completion": "..."} (text already in the model's
//    format, e.g. a rendered chat prompt that opened "<think>" and the reasoning +
//    answer after it: only the completion and the EOS after it are targets; the
//    way to train reasoning, which chat formats drop from earlier turns);
//  - any other file: its whole content is one plain document.
// A plain document is BOS + text (+ EOS when add_eos); a conversation's BOS
// comes from its chat format.
//
// How the assistant turns are found: the conversation rendered up to turn i
// with the generation prompt is a prefix of the rendering through turn i; the
// text between them is turn i. Each piece is tokenized on its own, so the mask
// falls exactly on the piece boundaries (the chat formats put special tokens
// there, so this equals tokenizing the whole text except in contrived cases).
#pragma once

#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"
#include "train/packed_data.h"

namespace frugal {

struct DocumentLoadOptions {
  ChatFormat chat_format = ChatFormat::Frugal;
  bool add_eos = true;  // plain documents end with EOS (when the tokenizer has one)
  ThreadPool* pool = nullptr;  // tokenize documents on these threads (null: the caller's only)
};

// Throws frugal::Error naming the file and line of anything it cannot read.
// The documents come out in file and line order whatever the thread count.
std::vector<Document> documents_load(const std::vector<std::string>& paths, const Tokenizer& tok,
                                     const DocumentLoadOptions& opt);

Document document_from_text(const std::string& text, const Tokenizer& tok, const DocumentLoadOptions& opt);
Document document_from_prompt_completion(const std::string& prompt, const std::string& completion, const Tokenizer& tok);
// Throws frugal::Error when the format cannot render the conversation turn by turn.
Document document_from_chat(const std::vector<ChatMessage>& messages, const Tokenizer& tok, const DocumentLoadOptions& opt);

}  // namespace frugal
