// Drives the chat page of frugal serve in headless Chromium (Debian's, through
// playwright-core): types a question, watches the answer stream in, and prints
// what the page showed as JSON.
//   node browser_chat.cjs NODE_DIR BASE_URL API_KEY
"use strict";
const [nodeDir, url, key] = process.argv.slice(2);
const { chromium } = require(require.resolve("playwright-core", { paths: [nodeDir] }));

(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    await page.goto(url + "/");
    await page.fill("#key", key);
    await page.dispatchEvent("#key", "change");  // stored for the page's API calls
    await page.reload();
    await page.waitForFunction(() => document.getElementById("model").textContent === "tiny", null, { timeout: 20000 });
    // Count the updates of the answer's text while it streams.
    await page.evaluate(() => {
      window.updates = 0;
      new MutationObserver((records) => (window.updates += records.length)).observe(document.getElementById("log"),
                                                           { subtree: true, childList: true, characterData: true });
    });
    const ask = async (text, turn) => {
      await page.fill("#input", text);
      await page.press("#input", "Enter");
      await page.waitForFunction((n) => {
        const s = document.querySelectorAll(".assistant .stats");
        return s.length === n && s[n - 1].textContent.length > 0;
      }, turn, { timeout: 60000 });
    };
    await ask("hello world", 1);
    const first = await page.evaluate(() => ({
      updates: window.updates,
      reasoning: document.querySelector(".assistant details.reasoning div").textContent,
      reasoning_visible: document.querySelector(".assistant details.reasoning").style.display !== "none",
      stats: document.querySelector(".assistant .stats").textContent,
      thinking_switch_enabled: !document.getElementById("thinking").disabled,
      model: document.getElementById("model").textContent,
    }));
    // Second turn with thinking off: an answer without a reasoning block.
    await page.uncheck("#thinking");
    await ask("and now?", 2);
    const second = await page.evaluate(() => {
      const a = document.querySelectorAll(".assistant")[1];
      return {
        turns: document.querySelectorAll(".user").length,
        reasoning_visible: a.querySelector("details.reasoning").style.display !== "none",
        content: a.querySelector(".content").textContent,
        stats: a.querySelector(".stats").textContent,
      };
    });
    if (process.env.FRUGAL_SCREENSHOT) await page.screenshot({ path: process.env.FRUGAL_SCREENSHOT });
    process.stdout.write(JSON.stringify({ first, second }));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
