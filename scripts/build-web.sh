#!/usr/bin/env bash
# Builds the browser engine (crate `web`) into pkg/wasm/ (WebGPU and a one-thread CPU path)
# and pkg/wasm-threads/ (the CPU path on shared memory), the npm package's binary half:
# cargo for wasm32, then wasm-bindgen --target web. Installs what is missing first: the
# wasm32 target and wasm-bindgen-cli at the version Cargo.lock pins.
#
# Usage: scripts/build-web.sh            (features from LMFAST_WEB_FEATURES, see below)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LMFAST_ROOT"
ensure_rust
ensure_wasm_tools

# The WebGPU decoder is a cargo feature of lmfast-web; without it the package runs on the
# wasm CPU path only.
features="${LMFAST_WEB_FEATURES-$(default_web_features)}"
log "building the browser engine (lmfast-web for wasm32, features: ${features:-none})"
if [ -n "$features" ]; then
  build_wasm lmfast-web pkg/wasm lmfast_web --features "$features"
else
  build_wasm lmfast-web pkg/wasm lmfast_web
fi
printf '{"features": "%s"}\n' "$features" > pkg/wasm/build.json

# The CPU path again on shared memory, for cross-origin isolated pages (helper threads).
# LMFAST_WEB_THREADS=0 skips it; the package then always runs the CPU path on one thread.
if [ "${LMFAST_WEB_THREADS:-1}" != 0 ]; then
  log "building the threaded CPU engine (lmfast-web on shared memory, pkg/wasm-threads)"
  build_wasm_threads pkg/wasm-threads
else
  rm -rf pkg/wasm-threads
fi
