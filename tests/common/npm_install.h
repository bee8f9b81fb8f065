// Installs a test folder's npm packages (package.json + package-lock.json, with
// `npm ci`) into the build tree, once: a later call finds the same lock file
// installed and returns at once. flock: CTest runs test cases as parallel processes.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace frugal::test {

inline std::string npm_read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Returns "" when node_modules is ready in `node_dir`, else what went wrong.
// `probe`: a package that must be installed (its package.json is looked for).
inline std::string npm_install(const std::string& source_dir, const std::string& node_dir, const std::string& probe) {
  namespace fs = std::filesystem;
  if (std::system("command -v node > /dev/null 2>&1 && command -v npm > /dev/null 2>&1") != 0)
    return "node / npm not installed (scripts/install-deps.sh)";
  fs::create_directories(node_dir);
  const int lock = ::open((node_dir + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) return "npm: cannot lock " + node_dir + ".lock";
  std::string error;
  const std::string lock_src = source_dir + "/package-lock.json", lock_dst = node_dir + "/package-lock.json";
  const bool installed = fs::exists(node_dir + "/node_modules/" + probe + "/package.json") && fs::exists(lock_dst) &&
                         npm_read_text(lock_dst) == npm_read_text(lock_src);
  if (!installed) {
    fs::copy_file(source_dir + "/package.json", node_dir + "/package.json", fs::copy_options::overwrite_existing);
    fs::copy_file(lock_src, lock_dst, fs::copy_options::overwrite_existing);
    const std::string log = node_dir + "/npm-ci.log";
    if (std::system(("cd '" + node_dir + "' && npm ci --no-audit --no-fund --loglevel=error > '" + log + "' 2>&1").c_str()) != 0)
      error = "npm ci failed in " + node_dir + ":\n" + npm_read_text(log);
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return error;
}

}  // namespace frugal::test
