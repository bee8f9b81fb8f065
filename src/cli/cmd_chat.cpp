// frugal chat [-m DIR]: an interactive conversation. Commands: /reset,
// /system TEXT, /think on|off, /quit. Ctrl-C stops the current answer; Ctrl-D quits.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "cli/chat_display.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "infer/chat_session.h"

namespace frugal {

namespace {

std::atomic<bool> g_stop{false};
void on_sigint(int) { g_stop = true; }

}  // namespace

Command chat_command(CLI::App& app) {
  struct ChatArgs : GenerationArgs {
    std::string system;
  };
  auto a = std::make_shared<ChatArgs>();
  CLI::App* sub = app.add_subcommand("chat", "Talk with a model; its reasoning is shown apart from the answer");
  generation_flags_add(sub, *a);
  sub->add_option("--system", a->system, "System prompt");
  return {sub, [a] {
            const std::string dir = resolve_model_dir(a->model);
            auto m = model_load(dir, weight_load(a->mmap));
            Tokenizer tok = tokenizer_load_dir(dir);
            ThreadPool pool(a->threads > 0 ? a->threads : default_threads());
            ChatSession chat(*m, tok, generation_session_options(*a), pool);
            chat.set_system(a->system);
            const bool terminal = isatty(1);
            struct sigaction sa {};
            sa.sa_handler = on_sigint;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            sigaction(SIGINT, &sa, nullptr);
            std::fprintf(stderr, "frugal chat: %s (format %s, context %lld). /reset, /system TEXT, /think on|off, /quit; "
                         "Ctrl-C stops an answer, Ctrl-D quits.\n",
                         dir.c_str(), std::string(chat_format_name(chat.format())).c_str(), (long long)chat.context());
            std::string line;
            for (;;) {
              std::fputs(terminal ? "\n> " : "", stdout);
              std::fflush(stdout);
              g_stop = false;
              if (!std::getline(std::cin, line)) break;
              if (line.empty()) continue;
              if (line == "/quit" || line == "/exit") break;
              if (line == "/reset") {
                chat.reset();
                std::fprintf(stderr, "[conversation cleared]\n");
                continue;
              }
              if (line.rfind("/system", 0) == 0) {
                chat.set_system(line.size() > 8 ? line.substr(8) : "");
                chat.reset();
                std::fprintf(stderr, "[system prompt set; conversation cleared]\n");
                continue;
              }
              if (line == "/think on" || line == "/think off") {
                if (!chat.can_toggle_thinking()) {
                  std::fprintf(stderr, "[the %s format %s]\n", std::string(chat_format_name(chat.format())).c_str(),
                               chat.thinking() ? "always thinks" : "cannot think");
                  continue;
                }
                chat.set_thinking(line == "/think on");
                std::fprintf(stderr, "[thinking %s]\n", chat.thinking() ? "on" : "off");
                continue;
              }
              if (line[0] == '/') {
                std::fprintf(stderr, "[unknown command %s: /reset, /system TEXT, /think on|off, /quit]\n", line.c_str());
                continue;
              }
              ChatDisplay show(terminal);
              try {
                ChatReplyStats st = chat.reply(line, [&](const std::string& r, const std::string& c) {
                  show.reasoning(r);
                  show.content(c);
                }, &g_stop);
                show.end();
                chat_stats_print(st);
              } catch (const Error& e) {
                show.end();
                std::fprintf(stderr, "frugal: %s\n", e.what());
              }
            }
            return 0;
          }};
}

}  // namespace frugal
