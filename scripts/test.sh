#!/usr/bin/env bash
# One command: install what is missing, then run every test suite:
#   1. native unit + integration tests (cargo test), benchmarks compiled
#   2. the wasm API in headless Chromium, Firefox ESR and WebKitGTK (wasm-pack test;
#      cargo test with wasm-bindgen-test-runner and scripts/webkit-webdriver.sh)
#   3. the served page in headless Chromium (node --test + playwright-core), and its
#      core in Firefox ESR, WebKitGTK and Chromium (engines.test.mjs, WebDriver) and at
#      phone and tablet sizes (phone.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh all
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
# wasm-bindgen-test-runner takes the first driver variable it finds (GECKODRIVER before
# SAFARIDRIVER before CHROMEDRIVER): each run below sets only its own.
GECKODRIVER_BIN="${GECKODRIVER:-$(command -v geckodriver)}"
unset GECKODRIVER SAFARIDRIVER

echo "== native tests"
cargo test
cargo bench --no-run --quiet   # benchmarks must keep compiling; `cargo bench` runs them

echo "== wasm tests in headless Chromium"
wasm_tests=()
shopt -s nullglob
for f in tests/web*.rs; do wasm_tests+=(--test "$(basename "$f" .rs)"); done
wasm-pack test --headless --chrome -- "${wasm_tests[@]}"
echo "== wasm tests in headless Firefox ESR"
GECKODRIVER="$GECKODRIVER_BIN" wasm-pack test --headless --firefox -- "${wasm_tests[@]}"
echo "== wasm tests in WebKitGTK (WebKitWebDriver + MiniBrowser on a private Xvfb)"
env -u CHROMEDRIVER SAFARIDRIVER="$PWD/scripts/webkit-webdriver.sh" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown "${wasm_tests[@]}"
echo "== wasm tests of the relaxed-SIMD build (the page's second package)"
RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" CARGO_TARGET_DIR=target/wasm-relaxed \
  wasm-pack test --headless --chrome -- --test web_relaxed --test web_kernels

echo "== page tests in headless Chromium"
scripts/build.sh
PORT="${PAGE_TEST_PORT:-8765}"
target/release/tinyopt serve --port "$PORT" >/tmp/tinyopt-serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
mkdir -p artifacts
# node --test runs every *.test.mjs here: the Chromium tests, engines.test.mjs (all
# three engines) and phone.test.mjs.
TINYOPT_URL="http://127.0.0.1:$PORT/" node --test tests/page/
