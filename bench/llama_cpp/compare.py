#!/usr/bin/python3
"""frugal vs llama.cpp, side by side on the same weights (a frugal-quantized
checkpoint and its GGUF from to_gguf.py), alternating the engines run by run:

  compare.py --frugal build/frugal --ckpt DIR --gguf F.gguf [--threads 1,2] [--rounds 3]
             [--prompt 512] [--gen 64] [--llama native,avx2] [--log results.jsonl]

Each round runs, per thread count, `frugal bench --batch 1 --repeat 1 --json`
then llama_bench.mjs (one run per ggml CPU variant: `native` = the variant ggml
picks for this CPU, `avx2` = its haswell build only, from install.sh's node-avx2
copy). Prints the median over rounds of prefill / decode tok/s by wall clock and
per CPU-second (process CPU time of all threads), and the frugal / llama.cpp ratio.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"compare: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    out = r.stdout.strip()
    start = out.find("{")
    return json.loads(out[start:])


def frugal_run(a, threads):
    j = run_json([a.frugal, "bench", "-m", a.ckpt, "--prompt", str(a.prompt), "--gen", str(a.gen), "--batch", "1",
                  "--repeat", "1", "-t", str(threads), "--json"])
    p, d = j["prefill"], j["decode"][0]
    return {"prefill": (p["tok_per_s"], p["tok_per_cpu_s"]), "decode": (d["tok_per_s"], d["tok_per_cpu_s"])}


def llama_run(a, threads, variant):
    node_dir = os.path.join(a.cache, "node" if variant == "native" else "node-avx2")
    script = os.path.join(node_dir, "llama_bench.mjs")  # beside node_modules: ESM resolves from there
    shutil.copyfile(os.path.join(HERE, "llama_bench.mjs"), script)
    j = run_json(["node", script, "bench", "--gguf", a.gguf, "--threads", str(threads), "--prompt", str(a.prompt),
                  "--gen", str(a.gen), "--repeat", "1"])
    p, d = j["prefill"], j["decode"]
    return {"prefill": (p["tok_per_s"], p["tok_per_cpu_s"]), "decode": (d["tok_per_s"], d["tok_per_cpu_s"])}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frugal", required=True)
    p.add_argument("--ckpt", required=True)
    p.add_argument("--gguf", required=True)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--gen", type=int, default=64)
    p.add_argument("--llama", default="native,avx2")
    p.add_argument("--cache", default=os.environ.get("FRUGAL_LLAMA_CACHE",
                                                     os.path.expanduser("~/.cache/frugal-llama-cpp")))
    p.add_argument("--log", help="append every run as a JSON line")
    a = p.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    engines = ["frugal"] + [f"llama.cpp/{v}" for v in a.llama.split(",") if v]
    runs = {}  # (engine, threads) -> list of results
    for r in range(a.rounds):
        for t in threads:
            for e in engines:
                res = frugal_run(a, t) if e == "frugal" else llama_run(a, t, e.split("/")[1])
                runs.setdefault((e, t), []).append(res)
                line = {"round": r, "engine": e, "threads": t, **res}
                print(json.dumps(line), file=sys.stderr, flush=True)
                if a.log:
                    with open(a.log, "a") as f:
                        f.write(json.dumps({"ckpt": a.ckpt, "gguf": a.gguf, **line}) + "\n")
    med = {k: {ph: tuple(statistics.median(x[ph][i] for x in v) for i in (0, 1)) for ph in ("prefill", "decode")}
           for k, v in runs.items()}
    print(f"| threads | engine | prefill {a.prompt} tok/s | prefill tok per CPU-s | decode tok/s | "
          f"decode tok per CPU-s | frugal / this (CPU-s: prefill, decode) |")
    print("|---|---|---|---|---|---|---|")
    for t in threads:
        f = med[("frugal", t)]
        for e in engines:
            m = med[(e, t)]
            ratio = "" if e == "frugal" else \
                f"{f['prefill'][1] / m['prefill'][1]:.2f}x, {f['decode'][1] / m['decode'][1]:.2f}x"
            print(f"| {t} | {e} | {m['prefill'][0]:.1f} | {m['prefill'][1]:.1f} | {m['decode'][0]:.1f} | "
                  f"{m['decode'][1]:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
