"""The server as `bash scripts/app.sh` starts it: `streamlit run streamlit_app.py` with no address given."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.server import ROOT, free_port, wait_until_healthy

LISTEN = "0A"  # the socket state in /proc/net/tcp*


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port`, read from the kernel's tables."""
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == LISTEN and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)  # 32-bit words in the machine's (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, words))
    return found


def test_the_app_listens_on_this_machine_only_and_serves_the_live_progress_route(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    env = {
        **os.environ,
        "DIGITLAB_MODELS_DIR": str(tmp_path / "models"),
        "DIGITLAB_RUNS_DB": str(tmp_path / "runs.sqlite"),
    }
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(f"http://localhost:{port}", server)
        addresses = listening_addresses(port)
        assert addresses and addresses <= {"127.0.0.1", "::1"}, addresses
        try:
            urllib.request.urlopen(f"http://localhost:{port}/api/live/no-such-run", timeout=10)
            raise AssertionError("an unknown run's progress was answered")
        except urllib.error.HTTPError as error:
            assert error.code == 404 and json.loads(error.read()) == {"state": "unknown"}
    finally:
        server.terminate()
        server.wait(timeout=10)
