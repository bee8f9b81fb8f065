// Load for frugal serve (not a test): C concurrent clients, each sending R
// streaming chat requests one after another; prints aggregate generated tokens/s
// and p50 / p99 time to first token, after one untimed warm-up request. Plain Node
// (>= 18), no packages.
//   node bench/serve_load.cjs URL CLIENTS [REQUESTS_PER_CLIENT=2] [MAX_TOKENS=32] [SYSTEM=none|shared|distinct] [API_KEY]
// SYSTEM: a long system prompt (~500 tokens) that all requests share (prefix-cache
// hits after the first) or that differs per request from its first word (no hits).
"use strict";
const [url, clientsArg, perArg, maxArg, systemArg, key] = process.argv.slice(2);
const clients = Number(clientsArg), per = Number(perArg || 2), maxTokens = Number(maxArg || 32);
const system = systemArg || "none";
const rules = [...Array(40).keys()].map((k) => `Rule ${k}: keep answers short and exact.`).join(" ");

async function one(i, r) {
  const t0 = performance.now();
  const res = await fetch(url + "/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(key ? { Authorization: "Bearer " + key } : {}) },
    body: JSON.stringify({
      // Distinct prompts (no prefix-cache hits beyond the template's opening).
      messages: [
        ...(system === "none" ? [] : [{ role: "system", content: (system === "shared" ? "" : `${i}-${r} `) + rules }]),
        // The phase (client count) first: a phase never hits the cache on an earlier phase's prompts.
        { role: "user", content: `run ${clients} client ${i} request ${r}: ` + "tell me a long story about it. ".repeat(4) },
      ],
      max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttft = null, tokens = 0, hit = 0, buf = "";
  const dec = new TextDecoder();
  for await (const part of res.body) {
    buf += dec.decode(part, { stream: true });
    let k;
    while ((k = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const j = JSON.parse(ev.slice(6));
      const d = j.choices && j.choices[0] && j.choices[0].delta;
      if (ttft === null && d && (d.content || d.reasoning_content)) ttft = (performance.now() - t0) / 1000;
      if (j.usage) tokens = j.usage.completion_tokens, hit = j.usage.prompt_cache_hit_tokens;
    }
  }
  return { ttft, tokens, hit };
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

(async () => {
  // One untimed request first: the weights' pages and the server's buffers are
  // warm before the clock starts (a cold first request costs seconds).
  await one("warm-up", 0);
  const t0 = performance.now();
  const results = (await Promise.all([...Array(clients).keys()].map(async (i) => {
    const out = [];
    for (let r = 0; r < per; ++r) out.push(await one(i, r));
    return out;
  }))).flat();
  const secs = (performance.now() - t0) / 1000;
  const tokens = results.reduce((s, x) => s + x.tokens, 0);
  const ttfts = results.map((x) => x.ttft).filter((x) => x !== null).sort((a, b) => a - b);
  const hits = results.reduce((s, x) => s + x.hit, 0);
  console.log(JSON.stringify({ clients, system, requests: results.length, tokens, cache_hit_tokens: hits,
                               seconds: +secs.toFixed(2),
                               tokens_per_s: +(tokens / secs).toFixed(2),
                               ttft_p50_s: +pct(ttfts, 0.5).toFixed(3), ttft_p99_s: +pct(ttfts, 0.99).toFixed(3) }));
})().catch((e) => { console.error(e); process.exit(1); });
