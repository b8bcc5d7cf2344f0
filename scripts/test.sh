#!/usr/bin/env bash
# Set up a fresh machine for the test suite, then run it: Python packages from PyPI (into `.venv/`), Debian's
# Chromium for the browser tests (Playwright cannot download its own browser everywhere) and its DejaVu and
# Liberation fonts for the font digits.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The font digits that check how the shipped model reads other pens are rendered in these.
FONTS="fonts-dejavu-core fonts-dejavu-extra fonts-liberation"
missing=""
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then missing="chromium"; fi
for font in $FONTS; do
  if ! dpkg -s "$font" >/dev/null 2>&1; then missing="$missing $font"; fi
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's$missing for the browser and font-digit tests"
    apt-get update -qq
    # shellcheck disable=SC2086  # one package per word
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "!! missing:$missing; install them (or set CHROMIUM_PATH) or the browser and font-digit tests will fail" >&2
  fi
fi

source scripts/venv.sh requirements-dev.txt

echo "== ruff"
"$PYTHON" -m ruff check .

echo "== pytest"
"$PYTHON" -m pytest "$@"
