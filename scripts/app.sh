#!/usr/bin/env bash
# Run the app: set up `.venv/` on first use, then serve on http://localhost:8501 (this machine
# only; pass --server.address to share it). Extra arguments go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh requirements.txt
exec "$PYTHON" -m streamlit run streamlit_app.py "$@"
