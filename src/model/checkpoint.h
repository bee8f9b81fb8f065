// A checkpoint directory in the Hugging Face layout: config.json and either
// model.safetensors.index.json + shards, a single model.safetensors, or a set of
// *.safetensors files. The shards are memory-mapped or copied into huge pages
// (WeightLoad); tensors are looked up by name.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/matrix_view.h"
#include "model/safetensors.h"

namespace frugal {

// How a checkpoint's shards are held (core/mapped_file.h): Auto copies them into
// huge pages when they take at most half of the memory available now (batch-1
// decode ran 1.35-1.5x faster on Zen 4), else maps them; FRUGAL_WEIGHTS=map|copy overrides
// Auto, and commands offer --mmap.
enum class WeightLoad { Auto, Map, Copy };

class Checkpoint {
 public:
  explicit Checkpoint(const std::string& dir, WeightLoad load = WeightLoad::Map);  // throws frugal::Error

  const std::string& dir() const { return dir_; }
  FileLoad load() const { return load_; }  // how the shards ended up held
  const TensorInfo* find(const std::string& name) const;  // null when absent
  const TensorInfo& get(const std::string& name) const;   // error naming the tensor when absent
  size_t size() const { return tensors_.size(); }
  const std::map<std::string, const TensorInfo*>& tensors() const { return tensors_; }

  // A weight matrix checked to be [rows, cols] in a weight dtype; for F8_E4M3 its
  // "<name>_scale_inv" block scales are attached (checked to be F32
  // [ceil(rows/block), ceil(cols/block)]).
  MatrixView matrix(const std::string& name, int64_t rows, int64_t cols, int64_t block = 128) const;
  // A [rows, cols] matrix in a block format (Q8_0 / Q4_0) stored as U8
  // [rows, row bytes], as `frugal quantize` writes it. Tensors still in a float
  // dtype (too narrow to quantize) are returned as matrix() would.
  MatrixView packed_matrix(const std::string& name, int64_t rows, int64_t cols, DType format) const;
  // A 1-D tensor of n values (norm weights, biases), as a [1, n] view.
  MatrixView vector(const std::string& name, int64_t n) const;

 private:
  std::string dir_;
  FileLoad load_ = FileLoad::Map;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorInfo*> tensors_;
};

}  // namespace frugal
