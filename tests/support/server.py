"""Running the real app for a browser: `streamlit run` on a free localhost port, and Chromium.

Used by the browser tests and by `bench.app_timings` and `bench.app_load`, so all measure the same thing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = ROOT / "models" / "default.npz"
STARTUP_SECONDS = 60
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's chromium, or the browser named by CHROMIUM_PATH (e.g. on a laptop)."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.1)  # polling for readiness, not waiting in place of a check
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {STARTUP_SECONDS} s")


def server_pid(url: str) -> int:
    """The process of the `streamlit run` serving `url` (started by `running_app`)."""
    port = url.rsplit(":", 1)[1]
    [pid] = [
        pid
        for pid, command in _processes()
        if "streamlit" in command and f"--server.port\0{port}\0" in command
    ]
    return pid


def worker_pids(url: str) -> list[int]:
    """The worker processes of the server at `url`: its children started by multiprocessing's spawn."""
    server = server_pid(url)
    return sorted(pid for pid, command in _processes() if "spawn_main" in command and _parent(pid) == server)


def _processes() -> Iterator[tuple[int, str]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                yield int(entry.name), (entry / "cmdline").read_text()


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@contextlib.contextmanager
def running_app(models_dir: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the app with its own models directory (holding a copy of the shipped model); yield its URL.

    `env`: more environment variables for the server (e.g. its number of workers).
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED_MODEL, models_dir / SHIPPED_MODEL.name)
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    env = {**os.environ, "DIGITLAB_MODELS_DIR": str(models_dir), **(env or {})}
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
