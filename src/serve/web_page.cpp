#include "serve/web_page.h"

#include "serve/chat_html.h"  // generated from web/chat.html

namespace frugal {

std::string_view web_page_html() { return kChatHtml; }

}  // namespace frugal
