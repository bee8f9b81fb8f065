// llama.cpp (through node-llama-cpp's API, prebuilt CPU binaries from npm) on a GGUF:
//   node llama_bench.mjs bench  --gguf F [--threads N] [--prompt 512] [--gen 64] [--repeat 3]
//   node llama_bench.mjs logits --gguf F --tokens "1 2 3" --out F.npy [--threads N]
// Run with NODE_PATH=<cache>/node/node_modules (bench/llama_cpp/install.sh prints <cache>).
//
// bench: like `frugal bench` — a prefill of --prompt random tokens (logits of the last
// one only), then --gen greedy decode steps at batch 1 after an 8-token prompt (each
// step computes the last token's logits), each the median of --repeat runs; prints one
// JSON line with wall and process CPU seconds (process.cpuUsage: user + system of all
// threads), as frugal bench --json reports them.
// logits: the logits of every position of the token sequence, float32 [T, vocab] .npy.
import fs from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parseArgs(argv) {
  const a = { mode: argv[0], threads: 1, prompt: 512, gen: 64, repeat: 3 };
  for (let i = 1; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, ""), v = argv[i + 1];
    a[k] = ["threads", "prompt", "gen", "repeat"].includes(k) ? Number(v) : v;
  }
  if (!["bench", "logits"].includes(a.mode) || !a.gguf) {
    console.error("usage: llama_bench.mjs bench|logits --gguf F [--threads N] ...");
    process.exit(2);
  }
  return a;
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

// Wall and CPU seconds of an async span.
async function timed(fn) {
  const w0 = performance.now(), c0 = cpuSeconds();
  await fn();
  return { wall: (performance.now() - w0) / 1e3, cpu: cpuSeconds() - c0 };
}

// Same generator as frugal bench (std::mt19937 is not needed: any fixed tokens do).
function randomTokens(n, vocab, seed) {
  let x = seed >>> 0;
  const t = [];
  for (let i = 0; i < n; ++i) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    t.push(x % vocab);
  }
  return t;
}

function writeNpyF32(path, rows, cols, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(path, Buffer.concat([pre, Buffer.from(header, "latin1"), Buffer.from(data.buffer)]));
}

const a = parseArgs(process.argv.slice(2));
const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0, logLevel: a.log === "info" ? LlamaLogLevel.info : LlamaLogLevel.warn });
const model = await llama.loadModel({ modelPath: a.gguf, gpuLayers: 0, useMmap: true });
const meta = model.fileInfo.metadata;
const vocab = meta[meta.general.architecture]?.vocab_size ?? meta.tokenizer.ggml.tokens.length;
const ctxSize = Math.max(a.prompt ?? 0, 8 + (a.gen ?? 0)) + 64;
const context = await model.createContext({
  contextSize: ctxSize, batchSize: Math.max(a.prompt, 512), threads: { ideal: a.threads, min: a.threads }, sequences: 1,
});
const seq = context.getSequence();

// Evaluates `tokens` from an empty cache; the last one generates (its logits are computed).
async function prefill(tokens, opts = { token: true }) {
  await seq.clearHistory();
  const input = tokens.map((t, i) => (i === tokens.length - 1 ? [t, { generateNext: opts }] : t));
  return seq.controlledEvaluate(input);
}

if (a.mode === "logits") {
  const ids = a.tokens.trim().split(/\s+/).map(Number);
  await seq.clearHistory();
  const out = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { logits: true } }]));
  const V = vocab;
  const data = new Float32Array(ids.length * V);
  out.forEach((o, i) => {
    const l = o.next.logits;  // Map token -> logit
    for (const [tok, v] of l) data[i * V + tok] = v;
  });
  writeNpyF32(a.out, ids.length, V, data);
  console.log(JSON.stringify({ tokens: ids.length, vocab: V, out: a.out, filled: out.map((o) => o.next.logits.size) }));
} else {
  // Warm-up: pages the weights in and builds the graphs once.
  await prefill(randomTokens(16, vocab, 7));
  const promptToks = randomTokens(a.prompt, vocab, 1);
  const pre = [];
  for (let r = 0; r < a.repeat; ++r) pre.push(await timed(() => prefill(promptToks)));
  const dec = [];
  for (let r = 0; r < a.repeat; ++r) {
    const first = await prefill(randomTokens(8, vocab, 100 + r));
    let next = first[first.length - 1].next.token;
    dec.push(await timed(async () => {
      // One decode step per token: the previous greedy token in, the next one out.
      for (let i = 0; i < a.gen; ++i) {
        const o = await seq.controlledEvaluate([[next, { generateNext: { token: true } }]]);
        next = o[0].next.token;
      }
    }));
  }
  const pw = median(pre.map((t) => t.wall)), pc = median(pre.map((t) => t.cpu));
  const dw = median(dec.map((t) => t.wall)), dc = median(dec.map((t) => t.cpu));
  console.log(JSON.stringify({
    engine: "llama.cpp", gguf: a.gguf, threads: a.threads,
    prefill: { tokens: a.prompt, seconds: pw, tok_per_s: a.prompt / pw, cpu_seconds: pc, tok_per_cpu_s: a.prompt / pc },
    decode: { tokens: a.gen, seconds: dw, tok_per_s: a.gen / dw, cpu_seconds: dc, tok_per_cpu_s: a.gen / dc },
  }));
}
await context.dispose();
await model.dispose();
