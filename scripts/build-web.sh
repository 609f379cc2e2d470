#!/usr/bin/env bash
# Builds the browser engine (crate `web`) with wasm-pack into pkg/wasm/, the npm package's
# binary half. Installs what is missing first: the wasm32 target, wasm-bindgen-cli at the
# version Cargo.lock pins, and wasm-pack. wasm-opt stays off (its download cannot be reached).
#
# Usage: scripts/build-web.sh            (features from LMFAST_WEB_FEATURES, see below)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LMFAST_ROOT"
ensure_rust
ensure_wasm_tools

# The WebGPU decoder is a cargo feature of lmfast-web; without it the package runs on the
# wasm CPU path only.
features="${LMFAST_WEB_FEATURES-$(default_web_features)}"
log "building the browser engine (wasm-pack, features: ${features:-none})"
args=(build web --target web --release --out-dir ../pkg/wasm --out-name lmfast_web --no-typescript --no-pack)
if [ -n "$features" ]; then
  CARGO_TARGET_DIR="$LMFAST_ROOT/target/wasm-web" wasm-pack "${args[@]}" -- --locked --features "$features"
else
  CARGO_TARGET_DIR="$LMFAST_ROOT/target/wasm-web" wasm-pack "${args[@]}" -- --locked
fi
printf '{"features": "%s"}\n' "$features" > pkg/wasm/build.json
rm -f pkg/wasm/package.json pkg/wasm/README.md
