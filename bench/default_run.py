"""The default command-line run, timed: how soon it reaches 98 % test accuracy, and its footprint.

    python -m bench.default_run              # runs `python -m digitlab train` with its defaults
    python -m bench.default_run --batch-size 64 --lr 0.1   # any `digitlab train` flags are passed on
    python -m bench.default_run --quick      # seconds: 1 epoch on 2,000 images; its figures mean nothing

It runs the training command line exactly as a user would, in a child process, and reads its
epoch lines: the time to 98 % is the sum of the epochs' seconds (training plus the per-epoch test
evaluation) up to the first epoch at or above 98 %. Peak memory is the child's maximum resident
set size. The run is recorded in a throwaway run store, not in the user's.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from services.locations import MODELS_DIR_ENV, RUNS_DB_ENV

TARGET = 0.98
EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/\d+ .* test acc ([\d.]+)\s+([\d.]+)s$", re.M)
REPO = Path(__file__).resolve().parent.parent
# --quick: a check that the benchmark runs, in seconds; flags given after it still win.
QUICK = ["--epochs", "1", "--train-size", "2000"]


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    flags = [flag for part in given for flag in (QUICK if part == "--quick" else [part])]
    command = [sys.executable, "-m", "digitlab", "train", *flags]
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, RUNS_DB_ENV: str(Path(store, "runs.sqlite")), MODELS_DIR_ENV: store}
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    print(done.stdout, end="")
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    epochs = [(int(e), float(acc), float(s)) for e, acc, s in EPOCH_LINE.findall(done.stdout)]
    total = sum(s for _, _, s in epochs)
    reached = next((i for i, (_, acc, _) in enumerate(epochs) if acc >= TARGET), None)
    if reached is None:
        print(f"never reached {TARGET:.0%} test accuracy in {len(epochs)} epochs ({total:.2f} s)")
    else:
        seconds = sum(s for _, _, s in epochs[: reached + 1])
        epoch = epochs[reached][0]
        print(f"reached {TARGET:.0%} test accuracy at epoch {epoch} after {seconds:.2f} s of training")
    print(f"all {len(epochs)} epochs: {total:.2f} s; final test accuracy {epochs[-1][1]:.4f}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    print(f"peak memory (max RSS of the training process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
