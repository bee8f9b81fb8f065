#include "train/packed_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace frugal {

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr uint64_t kSplitSalt = 0x5A17u;    // seed stream of the validation split
constexpr uint64_t kEpochSalt = 0xE90C4u;  // seed stream of the epoch orders

}  // namespace

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  uint64_t s = seed;
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = int64_t(splitmix64(s) % uint64_t(i + 1));  // modulo bias is irrelevant here
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

PackedDataset::PackedDataset(std::vector<Document> docs, const PackOptions& opt) : opt_(opt) {
  if (opt.seq_len < 1) fail("data: sequence length must be >= 1 (got {})", opt.seq_len);
  std::erase_if(docs, [](const Document& d) { return d.tokens.empty(); });
  for (const Document& d : docs)
    FRUGAL_CHECK(d.target.empty() || d.target.size() == d.tokens.size(), "document target mask of {} for {} tokens",
                 d.target.size(), d.tokens.size());
  if (docs.empty()) fail("data: no documents to train on");
  if (opt.val_fraction < 0 || opt.val_fraction >= 1) fail("data: validation fraction must be in [0, 1) (got {})", opt.val_fraction);
  const int64_t n = int64_t(docs.size());
  const int64_t n_val = opt.val_docs > 0 ? opt.val_docs : int64_t(std::llround(opt.val_fraction * double(n)));
  if (n_val >= n)
    fail("data: the validation split takes {} of the {} documents, leaving none to train on", n_val, n);
  const std::vector<int64_t> perm = seeded_permutation(n, opt.seed ^ kSplitSalt);
  std::vector<bool> is_val(size_t(n), false);
  for (int64_t i = 0; i < n_val; ++i) is_val[size_t(perm[size_t(i)])] = true;
  for (int64_t i = 0; i < n; ++i) (is_val[size_t(i)] ? val_ : train_).push_back(std::move(docs[size_t(i)]));
  for (const Document& d : train_) train_tokens_ += int64_t(d.tokens.size());
  rows_per_epoch_ = (train_tokens_ + opt.seq_len - 1) / opt.seq_len;
}

PackedDataset::Stream PackedDataset::build_stream(const std::vector<const Document*>& order) const {
  Stream s;
  int32_t di = 0;
  for (const Document* d : order) {
    s.tokens.insert(s.tokens.end(), d->tokens.begin(), d->tokens.end());
    s.doc.insert(s.doc.end(), d->tokens.size(), di++);
    if (d->target.empty()) s.target.insert(s.target.end(), d->tokens.size(), 1);
    else s.target.insert(s.target.end(), d->target.begin(), d->target.end());
  }
  return s;
}

void PackedDataset::ensure_epoch(int64_t epoch) {
  if (stream_epoch_ == epoch) return;
  const std::vector<int64_t> perm = seeded_permutation(int64_t(train_.size()), opt_.seed ^ kEpochSalt ^ (uint64_t(epoch) * 0x9E3779B97F4A7C15ull));
  std::vector<const Document*> order;
  for (int64_t i : perm) order.push_back(&train_[size_t(i)]);
  stream_ = build_stream(order);
  stream_epoch_ = epoch;
}

void PackedDataset::append_row(const Stream& s, int64_t row, TrainBatch& b) const {
  const int64_t T = opt_.seq_len, n = int64_t(s.tokens.size());
  const int64_t begin = row * T;
  int32_t local = -1, last_doc = -1;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t i = begin + t;
    if (i >= n) {  // padding after the stream's end: its own document, no loss
      b.tokens.push_back(opt_.pad_token);
      b.labels.push_back(-1);
      b.doc.push_back(last_doc == -2 ? local : ++local);
      last_doc = -2;
      continue;
    }
    if (s.doc[size_t(i)] != last_doc) {
      ++local;
      last_doc = s.doc[size_t(i)];
    }
    b.tokens.push_back(s.tokens[size_t(i)]);
    b.doc.push_back(local);
    const bool next_same_doc = i + 1 < n && s.doc[size_t(i + 1)] == s.doc[size_t(i)];
    b.labels.push_back(next_same_doc && s.target[size_t(i + 1)] ? s.tokens[size_t(i + 1)] : -1);
  }
  ++b.B;
}

TrainBatch PackedDataset::next_batch(int64_t B) {
  TrainBatch b;
  b.T = opt_.seq_len;
  for (int64_t r = 0; r < B; ++r) {
    ensure_epoch(pos_.epoch);
    append_row(stream_, pos_.row, b);
    if (++pos_.row == rows_per_epoch_) {
      pos_.row = 0;
      ++pos_.epoch;
    }
  }
  return b;
}

void PackedDataset::seek(const DataPosition& pos) {
  if (pos.epoch < 0 || pos.row < 0 || pos.row >= rows_per_epoch_)
    fail("data: position (epoch {}, row {}) is outside this data set ({} rows per epoch): was it saved with other data "
         "or another sequence length?", pos.epoch, pos.row, rows_per_epoch_);
  pos_ = pos;
}

std::vector<TrainBatch> PackedDataset::validation_batches(int64_t B) const {
  std::vector<const Document*> order;
  for (const Document& d : val_) order.push_back(&d);
  const Stream s = build_stream(order);
  const int64_t rows = (int64_t(s.tokens.size()) + opt_.seq_len - 1) / opt_.seq_len;
  std::vector<TrainBatch> out;
  for (int64_t r = 0; r < rows; ++r) {
    if (r % B == 0) out.push_back(TrainBatch{.T = opt_.seq_len});
    append_row(s, r, out.back());
  }
  return out;
}

}  // namespace frugal
