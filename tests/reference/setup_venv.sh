#!/usr/bin/env bash
# Creates tests/reference/.venv (git-ignored) with the exact pins of requirements.txt.
# Idempotent: a venv whose stamp matches the current requirements.txt is left alone.
#
# Note on torch: PyPI is the only index reachable here, and PyPI's Linux x86_64 torch wheel is
# the CUDA build. It cannot be imported without its nvidia-* dependency wheels (libcublasLt etc.
# are loaded at import time), so they are installed too (~5.6 GB venv, ~2 min on a fast link).
# Everything runs on the CPU; no GPU is needed or used.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "reference venv: $venv (up to date)"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" - <<'PY'
import torch, transformers, gguf, tokenizers, numpy
print("reference venv ok: torch", torch.__version__, "transformers", transformers.__version__,
      "tokenizers", tokenizers.__version__, "numpy", numpy.__version__)
PY
echo "$want" > "$stamp"
echo "reference venv: $venv (installed)"
