#!/usr/bin/env bash
# Builds the native CLI and the playground's wasm (www/pkg/), release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "[build] wasm (release, simd128)"
cargo build --lib --release --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
  target/wasm32-unknown-unknown/release/tinyopt.wasm
echo "[build] native CLI (release)"
cargo build --release --bin tinyopt
