"""The pages' framework work, in a process of its own that ends with the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.jobs import wait_for

ROOT = Path(__file__).resolve().parents[2]
# A server that asks for a .keras file, says which process made it, and dies without shutting down.
SERVER = """
import os
from nn import load_model
from services import framework_calls
framework_calls.keras_file(load_model("models/default.npz"))
print(*framework_calls._pool._processes, flush=True)
os._exit(0)
"""


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_the_framework_process_ends_when_its_server_dies_without_a_word() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    framework = int(server.stdout.readline())
    assert server.wait(120) == 0
    wait_for(lambda: not running(framework), "the framework process to end with its server", timeout=30)
