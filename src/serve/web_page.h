// The chat page served at "/": src/serve/web/chat.html, embedded in the binary
// at build time (src/serve/CMakeLists.txt), so no files are needed to run it.
#pragma once

#include <string_view>

namespace frugal {

std::string_view web_page_html();

}  // namespace frugal
