// `frugal serve` as a child process of a test: started on a free loopback port
// (--port 0; the port is read from its first line), stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace frugal::test {

class ServeProcess {
 public:
  // args: after "frugal serve --port 0". Throws std::runtime_error (with the log)
  // when the server does not come up.
  explicit ServeProcess(const std::vector<std::string>& args);
  ~ServeProcess();  // SIGTERM (SIGKILL if it does not end)

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const;  // stdout and stderr so far
  // SIGTERM and wait; returns the exit code (-1: killed by a signal / timeout).
  int stop(double timeout_s = 30);
  bool running();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

}  // namespace frugal::test
