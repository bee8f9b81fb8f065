// The safetensors format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {..}}, then the data section; offsets are relative to it.
// Files are memory-mapped or copied into memory (core/mapped_file.h) and every
// header entry is validated before use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace frugal {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping
  size_t nbytes = 0;
  std::string file;               // for error messages

  int64_t numel() const;
  std::string shape_str() const;  // "[640, 160]"
};

// Largest JSON header accepted (the V3 shards' headers are ~100 KB).
constexpr uint64_t kSafetensorsMaxHeader = 100ull << 20;

class SafetensorsFile {
 public:
  // Throws frugal::Error on any defect.
  explicit SafetensorsFile(const std::string& path, FileLoad how = FileLoad::Map);

  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_->path(); }
  FileLoad how() const { return file_->how(); }

 private:
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t nbytes() const;
};

// Writes atomically (a temporary file in the same directory, fsync, rename).
// fill(i, bytes) produces the nbytes() bytes of tensor i, one at a time, so that
// a checkpoint larger than memory can be streamed out.
void safetensors_write(const std::string& path, const std::vector<TensorSpec>& tensors,
                       const std::function<void(size_t, uint8_t*)>& fill,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

// A checkpoint folder's weights: split into shards of at most shard_bytes
// ("model-0000K-of-0000N.safetensors" + model.safetensors.index.json, or one
// "model.safetensors"), each written with safetensors_write. Tensor i for which
// joins_previous(i) is true stays in the shard of tensor i - 1 (fp8 scales with
// their weight). fill(i, bytes) is called once per tensor, in order.
void safetensors_write_sharded(const std::string& dir, const std::vector<TensorSpec>& tensors,
                               const std::function<void(size_t, uint8_t*)>& fill, int64_t shard_bytes,
                               const std::function<bool(size_t)>& joins_previous = nullptr);

struct TensorToWrite {
  TensorSpec spec;
  const void* data;  // spec.nbytes() bytes
};
void safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace frugal
