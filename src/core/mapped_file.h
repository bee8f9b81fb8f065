// A read-only view of a whole file's bytes. Checkpoint weights live here and are
// read in their stored dtype by the kernels. Two ways to hold them:
//  - Map: a memory mapping of the file; the OS pages it in on demand and can drop
//    it again (models larger than memory, several processes sharing one copy).
//  - Copy: the file read into anonymous memory advised for transparent huge pages
//    (2 MB), then made read-only. Decode streams every active weight once per
//    token; with 4 KB pages each 2.9 MB expert matrix is 720 TLB entries, and on
//    Zen 4 batch-1 fp8 decode ran 1.35-1.5x faster from huge pages
//    (docs/performance.md "Weights in huge pages").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace frugal {

enum class FileLoad { Map, Copy };

class MappedFile {
 public:
  explicit MappedFile(const std::string& path, FileLoad how = FileLoad::Map);  // throws frugal::Error naming the file
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  FileLoad how() const { return how_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  FileLoad how_ = FileLoad::Map;
  void* region_ = nullptr;  // what munmap releases: the mapping, or the anonymous region holding the copy
  size_t region_size_ = 0;
};

}  // namespace frugal
