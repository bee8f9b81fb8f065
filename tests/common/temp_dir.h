// A fresh directory under the build tree for one test (build/test_tmp/NAME-PID:
// CTest may run the cases of one binary side by side, each in its own process),
// removed when the test passes and kept for inspection when it fails.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace frugal::test {

class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = std::filesystem::path(FRUGAL_BINARY_DIR) / "test_tmp" / (name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(path_);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& leaf) const { return (path_ / leaf).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace frugal::test
