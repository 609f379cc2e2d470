#!/usr/bin/env bash
# Browser benchmark, one command: lmfast-web (WebGPU, wasm CPU on 2 threads and on 1) vs wllama
# (1 and 2 threads)
# in headless Chromium, then lmfast's browser scaling curve. See bench/browser/run.mjs for what
# is measured and how; every argument is passed on to it (e.g. --runs 5, --scaling "").
#
#   bench/run-browser.sh [--runs 3] [--webgpu-runs 2] [--webgpu-gen-tokens 16] ...
#
# Sets up what is missing, idempotently: Debian's chromium (apt-get, through sudo when not
# root), the default model and its q4g32 export (`lmfast pull smollm2-135m`, lmfast export),
# pkg/wasm and pkg/wasm-threads (scripts/build-web.sh), and bench/browser/node_modules (npm ci: playwright-core and
# @wllama/wllama at the versions pinned in bench/browser/package-lock.json). Writes
# bench/out/browser-compare.json. Takes ~15–25 minutes on the 2-core machine (WebGPU on
# SwiftShader is most of it).
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"
cd "$root"
# shellcheck source=../scripts/common.sh
source "$root/scripts/common.sh"

ensure_apt chromium
build_native
ensure_models smollm2-135m
if [ ! -x "$root/target/release/lmfast" ]; then build_native; fi
ensure_default_export
if [ ! -f "$root/pkg/wasm/lmfast_web_bg.wasm" ] || [ ! -f "$root/pkg/wasm-threads/lmfast_web_bg.wasm" ]; then
  log "pkg/wasm or pkg/wasm-threads is missing: building them (scripts/build-web.sh)"
  "$root/scripts/build-web.sh"
fi
# npm ci again only when the lock file changed since the last install.
stamp="$bench/browser/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$bench/browser/package-lock.json" -nt "$stamp" ]; then
  log "installing the browser benchmark's npm packages (npm ci in bench/browser)"
  (cd "$bench/browser" && npm ci --no-audit --no-fund)
fi
exec node "$bench/browser/run.mjs" "$@"
