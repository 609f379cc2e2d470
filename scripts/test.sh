#!/usr/bin/env bash
# Every test: set up whatever is missing (the real model, Vulkan's software driver for the wgpu
# test, the wasm toolchain, Chromium and playwright-core), then check formatting and lints
# and run the whole test suite, native and in the browser.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LMFAST_ROOT"
ensure_rust
ensure_apt mesa-vulkan-drivers
# The test build also makes target/release/lmfast (the CLI tests run it), which fetches the
# models; building it on its own first would compile core with other features (~6 min).
log "cargo test --no-run (workspace, release)"
cargo test --release --locked --workspace --no-run
ensure_models smollm2-135m gemma3-270m

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (workspace with the WGSL decoder, -D warnings)"
cargo clippy --release --locked --workspace --all-targets --features lmfast-tests/webgpu -- -D warnings
export LMFAST_REQUIRE_MODEL=1
log "cargo test (workspace, release)"
cargo test --release --locked --workspace
log "cargo test (on Vulkan/lavapipe: our WGSL decoder vs the CPU decoder)"
cargo test --release --locked -p lmfast-tests --features webgpu --test gpu_model
# burn's own wgpu backend (model_wgpu) is no longer a path lmfast ships: the browser and
# Vulkan run our WGSL decoder. Its cubecl stack costs ~17 minutes of a cold build, so it
# runs only when asked for.
if [ "${LMFAST_TEST_BURN_WGPU:-0}" = 1 ]; then
  log "cargo test (burn's wgpu device vs flex, on Vulkan/lavapipe)"
  cargo test --release --locked -p lmfast-tests --features wgpu --test model_wgpu
fi
log "browser tests (headless chromium: the wasm CPU path, WebGPU where built, caching, npm package, the chat page)"
ensure_browser
bash scripts/build-www.sh
log "cargo clippy (the chat page and the browser engine for wasm32, -D warnings)"
CARGO_TARGET_DIR="$LMFAST_ROOT/target/wasm" cargo clippy --release --locked --target wasm32-unknown-unknown \
  -p lmfast-www -p lmfast-web --features lmfast-web/webgpu -- -D warnings
log "cargo clippy (the threaded browser engine: shared memory, relaxed SIMD, -D warnings)"
wasm_threads_cargo clippy -p lmfast-web -- -D warnings
# target/release/lmfast is the binary `cargo test --workspace` built (and its CLI tests ran);
# `cargo build -p lmfast-native-runner` would rebuild core with other features (~6 min).
ensure_default_export
ensure_gemma3_export
mkdir -p target/browser-fixtures
target/release/lmfast export tests/reference/fixtures/tiny-hf/llama --out target/browser-fixtures/tiny-llama-q4 \
  --quant q4g32 --force >/dev/null
node tests/browser/run.mjs
node tests/browser/chat_page.mjs
log "all tests passed"
