// The chat page in a real browser: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core against frugal serve with a tiny model.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "../common/npm_install.h"
#include "../infer/tiny_chat_model.h"
#include "serve_process.h"

namespace frugal {
namespace {

TEST(ServeBrowser, ChatPageStreamsAnswersWithAReasoningBlock) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium")) << "Debian chromium is missing: scripts/install-deps.sh";
  const std::string node_dir = std::string(FRUGAL_BINARY_DIR) + "/tests/serve/node";
  ASSERT_EQ(test::npm_install(std::string(FRUGAL_SOURCE_DIR) + "/tests/serve", node_dir, "playwright-core"), "");
  test::TinyChatModel model(false, {{"max_position_embeddings", 2048}});
  test::ServeProcess server({"-m", model.dir.string(), "--name", "tiny", "--format", "frugal", "--api-key", "k-42",
                             "-n", "100", "--temperature", "0", "-t", "1"});
  const test::CommandResult r = test::run_command("node '" + std::string(FRUGAL_SOURCE_DIR) +
                                                  "/tests/serve/browser_chat.cjs' '" + node_dir + "' '" +
                                                  server.url() + "' k-42");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  const nlohmann::json& first = j["first"];
  EXPECT_EQ(first["model"], "tiny");
  EXPECT_TRUE(first["thinking_switch_enabled"]);  // the frugal format's thinking is optional
  EXPECT_TRUE(first["reasoning_visible"]);
  EXPECT_FALSE(first["reasoning"].get<std::string>().empty());
  EXPECT_GT(first["updates"].get<int>(), 10) << "the answer did not stream";
  EXPECT_NE(first["stats"].get<std::string>().find("tokens/s"), std::string::npos) << first.dump();
  const nlohmann::json& second = j["second"];
  EXPECT_EQ(second["turns"], 2);
  EXPECT_FALSE(second["reasoning_visible"]) << "thinking was switched off";
  EXPECT_NE(second["stats"].get<std::string>().find("tokens"), std::string::npos) << second.dump();
}

}  // namespace
}  // namespace frugal
