// Packing of documents into rows: checked against a naive rebuild of the
// stream from the rows, document ids, labels and target masks.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "train/packed_data.h"

namespace frugal {
namespace {

// Documents whose tokens encode (document, position): token = 1000 * doc + pos.
std::vector<Document> numbered_docs(int n) {
  std::vector<Document> docs;
  for (int d = 0; d < n; ++d) {
    Document doc;
    for (int p = 0; p < 3 + (d * 7) % 11; ++p) doc.tokens.push_back(1000 * (d + 1) + p);
    docs.push_back(doc);
  }
  return docs;
}

TEST(PackedData, RowsConcatenateWholeShuffledDocumentsWithCorrectLabels) {
  const std::vector<Document> docs = numbered_docs(20);
  int64_t total = 0;
  for (const auto& d : docs) total += int64_t(d.tokens.size());
  PackedDataset data(docs, {.seq_len = 8, .seed = 3});
  EXPECT_EQ(data.rows_per_epoch(), (total + 7) / 8);
  const TrainBatch b = data.next_batch(data.rows_per_epoch());  // exactly one epoch
  EXPECT_EQ(data.position(), (DataPosition{1, 0}));
  ASSERT_EQ(int64_t(b.tokens.size()), b.B * b.T);
  // The stream holds every document once, whole and in order within itself.
  std::vector<int32_t> order;
  int64_t pads = 0;
  for (int64_t i = 0; i < b.B * b.T; ++i) {
    const int32_t tok = b.tokens[size_t(i)], row = int32_t(i / b.T), t = int32_t(i % b.T);
    if (i >= total) {  // padding of the last row
      ++pads;
      EXPECT_EQ(b.labels[size_t(i)], -1);
      continue;
    }
    const int32_t d = tok / 1000, pos = tok % 1000;
    if (pos == 0) {
      order.push_back(d);
    } else {
      ASSERT_EQ(b.tokens[size_t(i - 1)], tok - 1) << "document cut or reordered at " << i;
    }
    // Label: next token of the same document, else -1 (also across rows).
    const bool last_of_doc = pos == int32_t(docs[size_t(d - 1)].tokens.size()) - 1;
    EXPECT_EQ(b.labels[size_t(i)], last_of_doc ? -1 : tok + 1) << i;
    // Document ids within the row: equal exactly when the documents are.
    if (t > 0 && i - 1 < total) {
      EXPECT_EQ(b.doc[size_t(i)] == b.doc[size_t(i - 1)], b.tokens[size_t(i - 1)] / 1000 == d) << i;
    }
    if (t == 0) {
      EXPECT_EQ(b.doc[size_t(i)], 0) << "row " << row;
    }
  }
  EXPECT_EQ(pads, b.B * b.T - total);
  EXPECT_EQ(std::set<int32_t>(order.begin(), order.end()).size(), 20u);
  EXPECT_EQ(order.size(), 20u);
  // Shuffled: not the input order; another epoch, another order; same seed, same order.
  std::vector<int32_t> identity(20);
  for (int i = 0; i < 20; ++i) identity[size_t(i)] = i + 1;
  EXPECT_NE(order, identity);
  const TrainBatch e2 = data.next_batch(data.rows_per_epoch());
  EXPECT_NE(e2.tokens, b.tokens);
  PackedDataset again(docs, {.seq_len = 8, .seed = 3});
  EXPECT_EQ(again.next_batch(data.rows_per_epoch()).tokens, b.tokens);
}

TEST(PackedData, TargetMaskHidesNonTargetTokens) {
  Document d{.tokens = {5, 6, 7, 8, 9}, .target = {0, 0, 1, 1, 0}};
  PackedDataset data({d}, {.seq_len = 5});
  const TrainBatch b = data.next_batch(1);
  // label[t] = token t+1 when token t+1 is a target.
  EXPECT_EQ(b.labels, (std::vector<int32_t>{-1, 7, 8, -1, -1}));
}

TEST(PackedData, PositionRestoresTheExactStream) {
  PackedDataset a(numbered_docs(15), {.seq_len = 6, .seed = 9});
  for (int i = 0; i < 7; ++i) a.next_batch(3);  // crosses an epoch boundary
  const DataPosition pos = a.position();
  EXPECT_GE(pos.epoch, 1);
  const TrainBatch want1 = a.next_batch(3), want2 = a.next_batch(3);
  PackedDataset b(numbered_docs(15), {.seq_len = 6, .seed = 9});
  b.seek(pos);
  EXPECT_EQ(b.next_batch(3).tokens, want1.tokens);
  const TrainBatch got2 = b.next_batch(3);
  EXPECT_EQ(got2.tokens, want2.tokens);
  EXPECT_EQ(got2.labels, want2.labels);
  EXPECT_EQ(got2.doc, want2.doc);
  EXPECT_THROW(b.seek({0, b.rows_per_epoch()}), Error);
}

TEST(PackedData, ValidationSplitByWholeDocuments) {
  const std::vector<Document> docs = numbered_docs(20);
  PackedDataset data(docs, {.seq_len = 8, .seed = 1, .val_fraction = 0.2});
  EXPECT_EQ(data.validation_documents(), 4);
  EXPECT_EQ(data.train_documents(), 16);
  std::set<int32_t> val_docs, train_docs;
  for (const TrainBatch& b : data.validation_batches(2)) {
    EXPECT_LE(b.B, 2);
    for (int32_t t : b.tokens) if (t >= 1000) val_docs.insert(t / 1000);
  }
  for (int i = 0; i < 10; ++i)
    for (int32_t t : data.next_batch(4).tokens) if (t >= 1000) train_docs.insert(t / 1000);
  EXPECT_EQ(val_docs.size(), 4u);
  EXPECT_EQ(train_docs.size(), 16u);
  for (int32_t d : val_docs) EXPECT_FALSE(train_docs.count(d)) << "document " << d << " in both splits";
  PackedDataset by_count(docs, {.seq_len = 8, .seed = 1, .val_docs = 3});
  EXPECT_EQ(by_count.validation_documents(), 3);
  EXPECT_THROW(PackedDataset(docs, {.seq_len = 8, .val_docs = 20}), Error);
  EXPECT_THROW(PackedDataset({}, {.seq_len = 8}), Error);
}

}  // namespace
}  // namespace frugal
