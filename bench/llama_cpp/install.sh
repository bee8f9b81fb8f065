#!/bin/sh
# Fetches llama.cpp's prebuilt CPU build from the npm registry into a cache folder
# (never into the repository): node-llama-cpp (the JavaScript API) and its
# @node-llama-cpp/linux-x64 binaries (libllama, libggml-cpu-<cpu>.so variants and
# the node addon; no llama-bench / llama-cli executables in the package).
#   bench/llama_cpp/install.sh            # -> ${FRUGAL_LLAMA_CACHE:-~/.cache/frugal-llama-cpp}
# Prints the cache folder. The llama.cpp release it bundles is in
# node_modules/node-llama-cpp/llama/llama.cpp.info.json (3.22.1: ggml-org/llama.cpp v0.5.0),
# its source in llama/gitRelease.bundle (git clone it to read).
set -eu
VERSION=${NODE_LLAMA_CPP_VERSION:-3.22.1}
CACHE=${FRUGAL_LLAMA_CACHE:-$HOME/.cache/frugal-llama-cpp}
mkdir -p "$CACHE/node"
if [ ! -f "$CACHE/node/node_modules/node-llama-cpp/package.json" ] ||
   ! grep -q "\"version\": \"$VERSION\"" "$CACHE/node/node_modules/node-llama-cpp/package.json"; then
  # --ignore-scripts: no postinstall download / source build; --omit=optional skips the
  # CUDA / Vulkan / ARM binaries, and the CPU one is asked for by name.
  npm install --prefix "$CACHE/node" --no-audit --no-fund --ignore-scripts --omit=optional \
    "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >&2
fi
# A second copy whose ggml keeps only its AVX2 (haswell) CPU variant: ggml loads the
# best libggml-cpu-<cpu>.so for this CPU (zen4: AVX512 + VNNI), frugal's kernels are
# AVX2 / FMA / F16C, so this copy compares the engines on the same instruction set.
BINS=node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
if [ ! -f "$CACHE/node-avx2/$BINS/libggml-cpu-haswell.so" ]; then
  rm -rf "$CACHE/node-avx2"
  cp -a "$CACHE/node" "$CACHE/node-avx2"
  for f in "$CACHE/node-avx2/$BINS"/libggml-cpu-*.so; do
    case "$f" in *-haswell.so) ;; *) rm "$f" ;; esac
  done
fi
echo "$CACHE"
