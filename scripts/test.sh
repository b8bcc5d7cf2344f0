#!/usr/bin/env bash
# Set up a fresh machine for the test suite, then run it: Python packages from PyPI (into `.venv/`), Debian's
# Chromium for the browser tests (Playwright cannot download its own browser everywhere).
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "!! no chromium found: install it (or set CHROMIUM_PATH) or the browser tests will fail" >&2
  fi
fi

source scripts/venv.sh requirements-dev.txt

echo "== ruff"
"$PYTHON" -m ruff check .

echo "== pytest"
"$PYTHON" -m pytest "$@"
