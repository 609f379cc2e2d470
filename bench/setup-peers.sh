#!/usr/bin/env bash
# Sets up the Python peer for the native CPU benchmark: a virtual environment in bench/.venv
# (git-ignored) with llama-cpp-python built from its sdist for this CPU only (no GPU backends).
# Idempotent: when the pinned version is already installed there, nothing is done.
#
# Build cost on 2 cores: a few minutes (C++ build of llama.cpp). pip fetches cmake and ninja
# from PyPI into its build environment when they are missing.
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$bench/.venv"
LLAMA_CPP_PYTHON_VERSION="0.3.36"

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv"
fi

have="$("$venv/bin/python" - <<'PY' 2>/dev/null || true
from importlib.metadata import version
print(version("llama_cpp_python"))
PY
)"
if [ "$have" = "$LLAMA_CPP_PYTHON_VERSION" ] && "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  log "llama-cpp-python $have already installed in $venv"
  exit 0
fi

log "building llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION from source (CPU only; takes a few minutes)"
# GGML_NATIVE: compile for this CPU (-march=native); the GPU backends stay off (their default).
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
  nice -n 19 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
"$venv/bin/python" -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__)"
