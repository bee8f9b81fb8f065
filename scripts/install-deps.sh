#!/usr/bin/env bash
# Installs every Debian package frugal's build and tests need. Idempotent: packages
# already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  libopenblas-openmp-dev libpcre2-dev nlohmann-json3-dev libcpp-httplib-dev
  libcli11-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  # test-only: the independent references (PyTorch model, Jinja chat templates)
  python3 python3-numpy python3-torch python3-jinja2
  # test-only: the browser that drives the chat page of frugal serve (tests/serve)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# test-only: Node.js + npm for the JavaScript references (npm packages the tests
# install into the build tree). Any node on PATH will do (nodesource, nvm);
# Debian's is installed only when there is none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
