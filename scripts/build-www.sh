#!/usr/bin/env bash
# Builds the chat page into www/dist/: the leptos app (crate `www`, wasm32 + wasm-bindgen),
# index.html and style.css, and the npm package it runs on (pkg/src, pkg/wasm and
# pkg/wasm-threads, built by build-web.sh) under lmfast/. `lmfast serve --www www/dist` serves it.
#
# The folder is assembled next to the old one and swapped in, so a running server never
# serves half a page.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LMFAST_ROOT"
ensure_rust
bash scripts/build-web.sh
log "building the chat page (lmfast-www for wasm32)"
stage="www/.dist.partial-$$"
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT
build_wasm lmfast-www "$stage/www" lmfast_www
cp www/index.html www/style.css "$stage/"
mkdir -p "$stage/lmfast/wasm"
cp -r pkg/src "$stage/lmfast/src"
cp pkg/wasm/lmfast_web.js pkg/wasm/lmfast_web_bg.wasm pkg/wasm/build.json "$stage/lmfast/wasm/"
# The threaded CPU build, when build-web.sh made one (the page then uses every core).
if [ -f pkg/wasm-threads/lmfast_web_bg.wasm ]; then
  mkdir -p "$stage/lmfast/wasm-threads"
  cp pkg/wasm-threads/lmfast_web.js pkg/wasm-threads/lmfast_web_bg.wasm "$stage/lmfast/wasm-threads/"
fi
rm -rf www/.dist.old
if [ -d www/dist ]; then mv www/dist www/.dist.old; fi
mv "$stage" www/dist
rm -rf www/.dist.old
log "chat page ready in www/dist"
