#!/usr/bin/env bash
# The main job: set up whatever is missing, then chat with the default model.
# Usage: scripts/run.sh [extra arguments for `lmfast chat`]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_rust
ensure_model
build_native
exec "$LMFAST_ROOT/target/release/lmfast" chat --model "$LMFAST_ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$@"
