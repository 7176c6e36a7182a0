#!/usr/bin/env bash
# Builds the playground's two wasm packages (www/pkg/: simd128, every browser with
# SIMD; www/pkg-relaxed/: simd128 + relaxed-simd, which the page loads where the browser
# validates relaxed SIMD), the native CLI (release) and the static site to upload
# (dist/: the page, the wasm, the models, the service worker).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "[build] wasm (release, simd128)"
cargo build --lib --release --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
  target/wasm32-unknown-unknown/release/tinyopt.wasm
echo "[build] wasm (release, simd128 + relaxed-simd)"
# Its own target dir, so the two feature sets do not rebuild each other.
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" CARGO_TARGET_DIR=target/wasm-relaxed \
  cargo build --lib --release --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir www/pkg-relaxed \
  target/wasm-relaxed/wasm32-unknown-unknown/release/tinyopt.wasm
echo "[build] native CLI (release)"
cargo build --release --bin tinyopt
echo "[build] static site (dist/)"
node scripts/site.mjs
