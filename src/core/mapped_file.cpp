#include "core/mapped_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace frugal {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

// Reads the whole file into `dst` (size bytes); false with errno set on failure.
bool read_all(int fd, uint8_t* dst, size_t size, size_t& done) {
  done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, dst + done, std::min<size_t>(size - done, size_t(1) << 30), off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;  // the file shrank while being read
      return false;
    }
    done += size_t(n);
  }
  return true;
}

}  // namespace

MappedFile::MappedFile(const std::string& path, FileLoad how) : path_(path), how_(how) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) {
    ::close(fd);
    return;
  }
  if (how_ == FileLoad::Copy) {
    // One huge page of slack to start the copy on a 2 MB boundary.
    region_size_ = size_ + kHugePage;
    void* p = ::mmap(nullptr, region_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      how_ = FileLoad::Map;  // no room for a copy: map the file instead
      region_size_ = 0;
    } else {
      region_ = p;
      uint8_t* a = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1));
      ::madvise(a, size_, MADV_HUGEPAGE);  // advice only: without THP the copy still works, in 4 KB pages
      size_t done = 0;
      if (!read_all(fd, a, size_, done)) {
        const int err = errno;
        ::munmap(region_, region_size_);
        ::close(fd);
        fail("{}: read failed after {} of {} bytes: {}", path, done, size_, std::strerror(err));
      }
      ::mprotect(region_, region_size_, PROT_READ);
      data_ = a;
    }
  }
  if (how_ == FileLoad::Map) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      fail("{}: cannot map {} bytes: {}", path, size_, std::strerror(err));
    }
    region_ = p;
    region_size_ = size_;
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (region_) ::munmap(region_, region_size_);
}

}  // namespace frugal
