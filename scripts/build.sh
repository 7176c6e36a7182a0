#!/usr/bin/env bash
# Builds the playground's wasm (www/pkg/), the native CLI (release) and the static
# site to upload (dist/: the page, the wasm, the models, the service worker).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "[build] wasm (release, simd128)"
cargo build --lib --release --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
  target/wasm32-unknown-unknown/release/tinyopt.wasm
echo "[build] native CLI (release)"
cargo build --release --bin tinyopt
echo "[build] static site (dist/)"
node scripts/site.mjs
