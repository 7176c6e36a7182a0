#!/usr/bin/env bash
# WebKitGTK's WebDriver with a display of its own, for wasm-bindgen-test-runner, which
# starts "$SAFARIDRIVER --port=N" and sends an empty session (WebKitWebDriver then opens
# its MiniBrowser): SAFARIDRIVER=scripts/webkit-webdriver.sh cargo test --target
# wasm32-unknown-unknown ... runs the wasm tests in WebKit (scripts/test.sh does).
# The private Xvfb dies with the driver (the runner kills the driver, not its children).
set -euo pipefail
for d in $(seq 90 160); do
  [ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ] || break
done
setpriv --pdeathsig TERM Xvfb ":$d" -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.1; done
export DISPLAY=":$d"
exec WebKitWebDriver "$@"
