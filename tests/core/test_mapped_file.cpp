// MappedFile: the copy into huge pages holds exactly the file's bytes, read-only,
// like the mapping; errors name the file. Checkpoint's WeightLoad policy:
// FRUGAL_WEIGHTS picks map or copy, anything else is an error.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

std::string write_random_file(const std::string& name, size_t bytes, std::vector<char>& content) {
  const std::string path = (fs::temp_directory_path() / name).string();
  std::mt19937 rng(42);
  content.resize(bytes);
  for (char& c : content) c = char(rng());
  std::ofstream(path, std::ios::binary).write(content.data(), std::streamsize(bytes));
  return path;
}

TEST(MappedFile, CopyHoldsTheSameBytesAsTheMapping) {
  // 3 MB + 5 bytes: more than one huge page, not a multiple of any page size.
  std::vector<char> content;
  const std::string path = write_random_file("frugal_mapped_file_test.bin", (size_t(3) << 20) + 5, content);
  const MappedFile mapped(path, FileLoad::Map), copied(path, FileLoad::Copy);
  EXPECT_EQ(mapped.how(), FileLoad::Map);
  EXPECT_EQ(copied.how(), FileLoad::Copy);
  ASSERT_EQ(mapped.size(), content.size());
  ASSERT_EQ(copied.size(), content.size());
  EXPECT_EQ(std::memcmp(mapped.data(), content.data(), content.size()), 0);
  EXPECT_EQ(std::memcmp(copied.data(), content.data(), content.size()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copied.data()) % (size_t(2) << 20), 0u) << "the copy starts on a 2 MB boundary";
  fs::remove(path);
}

TEST(MappedFile, EmptyFileInBothModes) {
  const std::string path = (fs::temp_directory_path() / "frugal_mapped_empty.bin").string();
  std::ofstream(path, std::ios::binary).close();
  for (FileLoad how : {FileLoad::Map, FileLoad::Copy}) {
    const MappedFile f(path, how);
    EXPECT_EQ(f.size(), 0u);
  }
  fs::remove(path);
}

TEST(MappedFile, ErrorsNameTheFile) {
  for (FileLoad how : {FileLoad::Map, FileLoad::Copy}) {
    try {
      MappedFile f("/nonexistent/frugal/weights.safetensors", how);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/nonexistent/frugal/weights.safetensors"), std::string::npos) << e.what();
    }
    try {
      MappedFile f(fs::temp_directory_path().string(), how);  // a directory
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
}

TEST(MappedFileDeathTest, CopyIsReadOnly) {
  std::vector<char> content;
  const std::string path = write_random_file("frugal_mapped_ro.bin", 4096, content);
  const MappedFile copied(path, FileLoad::Copy);
  EXPECT_DEATH(const_cast<uint8_t*>(copied.data())[10] = 1, "");
  fs::remove(path);
}

}  // namespace
}  // namespace frugal
