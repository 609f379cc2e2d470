#!/usr/bin/env bash
# Shared set-up steps for scripts/run.sh and scripts/test.sh. Every step is idempotent: it checks
# what is already there and installs only what is missing.
set -euo pipefail

LMFAST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LMFAST_ROOT

log() { printf '\033[1m[lmfast]\033[0m %s\n' "$*" >&2; }

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

# Fetches and verifies the default model into models/.
ensure_model() {
  "$LMFAST_ROOT/scripts/fetch-model.sh"
}

# Builds the native `lmfast` binary (release) if it is missing or stale.
build_native() {
  log "building the native binary (cargo build --release -p lmfast-native-runner)"
  (cd "$LMFAST_ROOT" && cargo build --release --locked -p lmfast-native-runner)
}
