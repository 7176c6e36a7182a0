#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already there.
# Only package registries are used (rustup, crates.io, Debian, npm); nothing downloads
# a prebuilt binary or a browser from elsewhere.
#
# (0.2.130 cannot be installed with --locked from the registry: its lockfile pins a
# webpki-roots release the registry does not serve.)
#
# Keep in sync: WASM_BINDGEN_VERSION must equal the `wasm-bindgen` version in Cargo.lock
# (Cargo.toml pins it with `=`); the check below fails loudly if they drift.
# Keep in sync: GECKODRIVER_VERSION is the geckodriver the three-engine tests and
# `wasm-pack test --firefox` were last run with (it drives Debian's firefox-esr; bump it
# when a new ESR needs a newer driver, and say so in README's test paragraph).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.129
GECKODRIVER_VERSION=0.37.1
WHAT="${1:-all}" # all | build (no browser, no page-test deps)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install rustup first (https://rustup.rs), then re-run." >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"

locked=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
if [ -n "$locked" ] && [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked but scripts/setup.sh pins $WASM_BINDGEN_VERSION: update one." >&2
  exit 1
fi

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked
fi

if [ "$WHAT" = "build" ]; then exit 0; fi

if ! command -v wasm-pack >/dev/null; then
  say "installing wasm-pack (about 3 minutes, once)"
  cargo install wasm-pack --locked
fi

if [ "$(geckodriver --version 2>/dev/null | awk 'NR==1{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  say "installing geckodriver $GECKODRIVER_VERSION (Firefox's WebDriver; about 3 minutes, once)"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked
fi

# Three engines (tests/page/engines.test.mjs): Chromium, Firefox ESR, and WebKitGTK
# (WebKitWebDriver + MiniBrowser, run under xvfb-run: MiniBrowser has no headless mode).
apt_missing=()
command -v chromium >/dev/null || apt_missing+=(chromium)
command -v chromedriver >/dev/null || apt_missing+=(chromium-driver)
command -v firefox-esr >/dev/null || apt_missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || apt_missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || apt_missing+=(xvfb xauth)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    say "installing ${apt_missing[*]} from Debian"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}"
  else
    echo "Please install Chromium with chromedriver, Firefox ESR, WebKitGTK's WebKitWebDriver and Xvfb (missing: ${apt_missing[*]})." >&2
    exit 1
  fi
fi

# Re-install whenever the lockfile is newer than the last install (a dependency was added).
installed=tests/page/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ tests/page/package-lock.json -nt "$installed" ]; then
  say "installing the page-test dependencies (playwright-core, axe-core; no browser download)"
  (cd tests/page && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
