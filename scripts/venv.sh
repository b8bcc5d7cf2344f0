#!/usr/bin/env bash
# Make (or reuse) the project's virtual environment `.venv/` and install a requirements file into
# it. Sourced by app.sh and test.sh, so both work on a Python that refuses `pip install` outside
# a virtual environment (PEP 668: Debian 12, Ubuntu 24.04, Homebrew).
# Usage: source scripts/venv.sh REQUIREMENTS_FILE   (leaves $PYTHON pointing at .venv's python)
set -euo pipefail
requirements=${1:?usage: source scripts/venv.sh REQUIREMENTS_FILE}
venv=.venv

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating the virtual environment $venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      echo "!! python3 -m venv failed: install your system's venv package (Debian: python3-venv)" >&2
      exit 1
    fi
  fi
fi
PYTHON=$PWD/$venv/bin/python

# Reinstall only when a requirements file or the project's own description changed since the
# last install into this venv. The project itself is installed editable: the `digitlab` command,
# and `import nn` from anywhere in this environment (a Dask scheduler or worker started from it).
stamp="$venv/.installed-$(basename "$requirements")"
wanted=$(cat requirements*.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "== installing Python packages from $requirements into $venv"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps --editable .
  echo "$wanted" >"$stamp"
fi
export PYTHON
