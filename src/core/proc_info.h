// Fields of the Linux /proc text files (/proc/meminfo, /proc/self/status).
#pragma once

#include <cstdint>
#include <string>

namespace frugal {

// A "Key:   123 kB" line of `file`, in bytes; -1 if the file or the key is absent.
int64_t proc_kb_field(const char* file, const std::string& key);

}  // namespace frugal
