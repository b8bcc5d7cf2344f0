"""Training in the app against the command line, and the app under load, side by side in one run.

python -m bench.app_load            # 5 minutes on 2 quiet cores, up to 10 on busy ones

Every figure comes from one invocation, so the machine's noise hits all of them alike:

1. The command line: `python -m digitlab train`, the default run (20 epochs of the default network),
   before each lone run and after all the app's runs; the median of its timed epochs is the
   reference. The same run with one BLAS thread is a second reference: a worker beside pages
   being served on 2 cores, or beside another busy worker, has one (`services.jobs.blas_threads`),
   so the ratio to it is what sharing costs.
2. One session alone, three times, each right after a command-line run, to which its ratio is
   also given: a real `streamlit run` and Chromium, the Train page open and streaming, the same
   default run. Epoch times are the ones the run records (nn.core.training's own clock, as the
   command line prints them).
3. Two sessions press Train at once: each run's median epoch.
4. Four sessions press Train at once (two wait in the queue on a 2-core machine): every run
   must finish and be saved; meanwhile a fifth visitor opens the app (first page until the
   Train button is ready) and draws a digit (mouse-up until the prediction shows). The same
   visitor is also timed before, while nothing trains.
5. The same, but the four close their tabs once they have pressed Train, as four students would
   leave for other pages on their own machines: here the four tabs' drawing no longer shares the
   benchmark machine's two cores with the fifth visitor's browser and the server.
6. A worker killed with SIGKILL mid-run, three times: seconds from the kill until the run's
   page says so.
7. Memory: the peak RSS (VmHWM) of the server and of each worker process.

Ratios are to the command line's median epoch; the first epoch of each run is left out, as it
includes warming up (the command line's too).
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nn.core.config import TrainConfig
from nn.core.persistence import load_model
from services.runs import RunStore
from tests.support.drawing import draw_a_one
from tests.support.server import CHROMIUM_ARGS, ROOT, chromium_path, running_app, server_pid, worker_pids

ALONE_ROUNDS = 3  # the noisiest figure: a lone run, each time right after the command line's
EPOCHS = TrainConfig().epochs  # the default run, as a person who just presses Train gets it
EPOCH_LINE = re.compile(r"^epoch\s+\d+/\d+ .* ([\d.]+)s$", re.M)
SAVED = re.compile(r"Saved as .*run-.*\.npz")
TIMEOUT_MS = 600_000


def cli_epochs(blas_threads: int | None = None) -> list[float]:
    """Seconds of epochs 2..EPOCHS of the command line's default run (a throwaway run store).

    `blas_threads`: OpenBLAS's thread count for the run (None: its default, one per core).
    """
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "DIGITLAB_RUNS_DB": f"{store}/runs.sqlite", "DIGITLAB_MODELS_DIR": store}
        if blas_threads is not None:
            env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
        output = subprocess.run(
            [sys.executable, "-m", "digitlab", "train", "--epochs", str(EPOCHS)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    return [float(s) for s in EPOCH_LINE.findall(output)][1:]


def start_default_run(page, url: str) -> None:
    page.goto(url)
    field = page.get_by_label("Epochs", exact=True)
    field.fill(str(EPOCHS))
    field.press("Enter")
    page.get_by_role("button", name="Train", exact=True).click()


def run_epochs(page, models_dir: Path) -> list[float]:
    """Epochs 2.. of the run this tab saved, from the model file's own history.

    Call it once the run is in the store (`wait_until_saved`): asked before, Playwright would
    search the page for the words every second while the run trains, and that search cost
    Chromium 0.11 of a core against the page's own 0.03 beside a lone run.
    """
    from playwright.sync_api import expect

    expect(page.get_by_text(SAVED)).to_be_visible(timeout=TIMEOUT_MS)
    name = re.search(r"run-\S*\.npz", page.get_by_text(SAVED).inner_text()).group(0)
    return [epoch.seconds for epoch in load_model(models_dir / "runs" / name).record.history][1:]


def press_train(browser, url: str, count: int) -> list:
    """`count` new sessions, each in a tab of its own, start the default run."""
    pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(count)]
    for page in pages:
        start_default_run(page, url)
    return pages


def sessions_at_once(browser, url: str, store: RunStore, count: int) -> list[list[float]]:
    runs = len(store.runs()) + count
    pages = press_train(browser, url, count)
    wait_until_saved(store, runs)
    epochs = [run_epochs(page, store.models_dir) for page in pages]
    for page in pages:
        page.context.close()
    return epochs


def visitor_while_busy(browser, url: str) -> tuple[float, float]:
    """A fifth visitor's first page (s) and drawn digit to prediction (s)."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    expect.set_options(timeout=TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(url)
    expect(page.get_by_role("combobox", name="Model")).to_be_visible()
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
    first_page = time.perf_counter() - start
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Draw").click()
    expect(page.get_by_role("heading", name="Draw a digit")).to_be_visible()
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    draw_a_one(page)  # returns once the stroke has landed (mouse-up), before the prediction
    start = time.perf_counter()
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("1")
    classified = time.perf_counter() - start
    page.context.close()
    return first_page, classified


def killed_worker_reported(browser, url: str) -> float:
    """Seconds from SIGKILL to every worker until the page of the run that was training says so."""
    from playwright.sync_api import expect

    [page] = press_train(browser, url, 1)
    expect(page.get_by_role("progressbar")).to_be_visible()
    killed = time.perf_counter()
    for pid in worker_pids(url):  # the idle one too: it is replaced as well, and runs nothing
        os.kill(pid, signal.SIGKILL)
    expect(page.get_by_text(re.compile("killed by SIGKILL"))).to_be_visible()
    reported = time.perf_counter() - killed
    page.context.close()
    return reported


def wait_until_saved(store: RunStore, runs: int) -> None:
    """Until the run store holds `runs` runs."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while len(store.runs()) < runs:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(store.runs())} of {runs} runs were saved in time")
        time.sleep(1)


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    if chromium_path() is None:
        raise SystemExit("no Chromium: install Debian's chromium or set CHROMIUM_PATH")
    cli, cli_one_thread = [], cli_epochs(blas_threads=1)
    rows: list[tuple[str, list[float]]] = []
    paired: list[float] = []  # each lone run against the command line's run just before it
    with tempfile.TemporaryDirectory() as temp, sync_playwright() as p:
        models = Path(temp) / "models"
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        env = {"DIGITLAB_RUNS_DB": f"{temp}/runs.sqlite"}
        store = RunStore(Path(temp) / "runs.sqlite", models)
        with running_app(models, Path(temp) / "streamlit.log", env=env) as url:
            for i in range(1, ALONE_ROUNDS + 1):
                before = cli_epochs()
                [alone] = sessions_at_once(browser, url, store, 1)
                cli += before
                rows.append((f"one session alone: round {i}", alone))
                paired.append(statistics.median(alone) / statistics.median(before))
            for i, run in enumerate(sessions_at_once(browser, url, store, 2), 1):
                rows.append((f"two sessions at once: run {i}", run))
            visitor = [("no session trains (for comparison)", *visitor_while_busy(browser, url))]
            pages = press_train(browser, url, 4)
            visitor.append(("four sessions train, their four tabs open", *visitor_while_busy(browser, url)))
            wait_until_saved(store, len(rows) + 4)
            for i, page in enumerate(pages, 1):
                rows.append((f"four sessions at once: run {i}", run_epochs(page, models)))
                page.context.close()
            for page in press_train(browser, url, 4):
                expect(page.get_by_role("button", name="Train", exact=True)).to_be_disabled()  # submitted
                page.context.close()
            visitor.append(("four sessions train, their four tabs closed", *visitor_while_busy(browser, url)))
            wait_until_saved(store, len(rows) + 4)
            server = server_pid(url)
            memory = [("server", peak_rss_mb(server))]
            memory += [(f"worker {i}", peak_rss_mb(pid)) for i, pid in enumerate(worker_pids(url), 1)]
            kills = [killed_worker_reported(browser, url) for _ in range(3)]
        browser.close()
    cli += cli_epochs()
    cli_one_thread += cli_epochs(blas_threads=1)
    _report(cli, cli_one_thread, rows, paired, visitor, kills, memory)


def _report(cli, cli_one_thread, rows, paired: list[float], visitor, kills: list[float], memory) -> None:
    reference, one_thread = statistics.median(cli), statistics.median(cli_one_thread)
    print(f"command line (python -m digitlab train --epochs {EPOCHS}): median epoch {reference:.3f} s")
    print(f"the same with one BLAS thread, as a worker beside pages being served: {one_thread:.3f} s")
    print(
        "one session alone, each round against the command line's run just before it: "
        + ", ".join(f"{ratio:.2f}" for ratio in paired)
        + f" × (median {statistics.median(paired):.2f} ×)"
    )
    print("\n| situation | median epoch (s) | × CLI | × CLI, 1 thread |\n| --- | ---: | ---: | ---: |")
    for name, epochs in rows:
        median = statistics.median(epochs)
        print(f"| {name} | {median:.3f} | {median / reference:.2f} | {median / one_thread:.2f} |")
    print(f"\nall {len(rows) + 4} runs finished and were saved")
    for situation, first_page, classified in visitor:
        print(f"a visitor while {situation}: first page {first_page:.2f} s, "
              f"drawing classified in {classified:.2f} s")  # fmt: skip
    print("a killed worker's run reported on its page after " + ", ".join(f"{s:.2f}" for s in kills) + " s")
    print("peak RSS: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in memory))


if __name__ == "__main__":
    main()
