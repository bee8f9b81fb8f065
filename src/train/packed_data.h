// Training batches from tokenized documents: documents are shuffled by seed
// (a new order every epoch), concatenated, and cut into rows of T tokens, so no
// token is wasted on padding except at the end of an epoch. Each row carries the
// document index of every token (TrainBatch::doc, numbered within the row) so
// the model never predicts across a document boundary, MTP shifts included.
//
// Labels: label[t] = the next token of the same document when that token is a
// target (Document::target), else -1. A document's last token has no label; the
// last token of a row gets the first token of the next row when the document
// continues there (it is known), -1 at the end of the epoch's stream.
//
// A validation split is taken by whole documents before anything else (the
// same documents whatever the epoch), packed the same way, never shuffled.
// The data position is (epoch, row): saving and restoring it reproduces the
// exact stream of batches (no RNG state other than the seed is involved).
#pragma once

#include <cstdint>
#include <vector>

#include "train/trainable.h"

namespace frugal {

struct Document {
  std::vector<int32_t> tokens;
  // 1 where the token is a target of the loss (chat: assistant turns only);
  // empty: every token is.
  std::vector<uint8_t> target;
};

struct PackOptions {
  int64_t seq_len = 256;      // T
  uint64_t seed = 0;          // document order of each epoch, and the validation split
  double val_fraction = 0.0;  // share of documents held out for validation ...
  int64_t val_docs = 0;       // ... or this many (takes precedence when > 0)
  int32_t pad_token = 0;      // fills the end of an epoch's last row (label -1)
};

struct DataPosition {
  int64_t epoch = 0, row = 0;  // next row to read
  bool operator==(const DataPosition&) const = default;
};

class PackedDataset {
 public:
  // Throws frugal::Error when there is nothing to train on (no documents, or
  // the validation split takes them all).
  PackedDataset(std::vector<Document> docs, const PackOptions& opt);

  // The next B rows of the training stream; epochs roll over inside a batch.
  TrainBatch next_batch(int64_t B);
  DataPosition position() const { return pos_; }
  void seek(const DataPosition& pos);

  // The validation rows, B per batch (the last batch may have fewer rows).
  std::vector<TrainBatch> validation_batches(int64_t B) const;

  const PackOptions& options() const { return opt_; }
  int64_t rows_per_epoch() const { return rows_per_epoch_; }
  int64_t train_documents() const { return int64_t(train_.size()); }
  int64_t validation_documents() const { return int64_t(val_.size()); }
  int64_t train_tokens() const { return train_tokens_; }

 private:
  struct Stream {  // one epoch's concatenation
    std::vector<int32_t> tokens, doc;
    std::vector<uint8_t> target;
  };
  Stream build_stream(const std::vector<const Document*>& order) const;
  void ensure_epoch(int64_t epoch);
  void append_row(const Stream& s, int64_t row, TrainBatch& b) const;

  PackOptions opt_;
  std::vector<Document> train_, val_;
  int64_t train_tokens_ = 0, rows_per_epoch_ = 0;
  DataPosition pos_;
  int64_t stream_epoch_ = -1;
  Stream stream_;
};

// The same order on every machine and standard library: Fisher-Yates over
// splitmix64 (std::shuffle's algorithm is implementation-defined).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

}  // namespace frugal
