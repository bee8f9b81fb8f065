#include "core/proc_info.h"

#include <fstream>
#include <sstream>

namespace frugal {

int64_t proc_kb_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream ls(line.substr(key.size() + 1));
      int64_t kb = 0;
      ls >> kb;
      return kb * 1024;
    }
  return -1;
}

}  // namespace frugal
