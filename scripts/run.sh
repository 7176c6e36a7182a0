#!/usr/bin/env bash
# One command: install what is missing, build everything, serve the playground.
#   scripts/run.sh            -> http://127.0.0.1:8000
#   PORT=9000 scripts/run.sh  -> another port
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
scripts/build.sh
exec target/release/tinyopt serve --port "${PORT:-8000}"
