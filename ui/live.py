"""A training run's progress, drawn by the browser from a small JSON answer instead of a page rerun.

Every Streamlit rerun, even of a fragment holding only a progress bar, costs the browser about
0.1 s of CPU (React redrawing the page) and the server a few hundredths: once a second, on the
cores the run trains on. So while a run trains, the Train page's progress bar and numbers are a
small component that asks the server for `/api/live/<token>` once a second and redraws only
themselves. It reruns the page when the run's state changes (it has ended), so the page then shows
the outcome as before. The charts still come from Streamlit, every few seconds (`ui.jobs`).
Beside one streaming run, Chromium's share of a core fell from 0.22 to 0.11 (README).

The route is served by `streamlit_app.py`'s `st.App`. Where the page runs without it (AppTest,
or `streamlit run digitlab.py`), `served()` is False and the page redraws its progress from a
fragment instead; both draw the same `progress_line` and `epoch_metrics`.
"""

from __future__ import annotations

import secrets
import weakref
from typing import Any

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.jobs import RUNNING, Job, Progress

from .jobs import PROGRESS_SECONDS

PATH = "/api/live/{token}"

# A token per job, unguessable: on a teacher's server, one student's page cannot read another's
# run. Weak, so a job is forgotten with the session that started it.
_jobs: weakref.WeakValueDictionary[str, Job] = weakref.WeakValueDictionary()
_tokens: weakref.WeakKeyDictionary[Job, str] = weakref.WeakKeyDictionary()
_served = False


def routes() -> list[Route]:
    """The route `st.App` serves; asking for it means the page may rely on it."""
    global _served
    _served = True
    return [Route(path(), progress_answer)]


def served() -> bool:
    """Whether this server answers `/api/live/...` (it does when started from `streamlit_app.py`)."""
    return _served


def token(job: Job) -> str:
    """The job's token in the route's path, made the first time it is asked for."""
    if job not in _tokens:
        _tokens[job] = secrets.token_hex(16)  # not urlsafe: a component's key must not hold "__"
        _jobs[_tokens[job]] = job
    return _tokens[job]


def progress_line(progress: Progress, stopping: bool) -> tuple[float, str]:
    """How far through its current epoch a running job is, and the words beside the bar."""
    epochs = progress.task.config.training.epochs
    within = progress.batch.batch / progress.batch.batches if progress.batch else 0.0
    text = f"Epoch {min(len(progress.epochs) + 1, epochs)} of {epochs}: {within:.0%} of the batches"
    return within, text + (" · stopping…" if stopping else "")


def epoch_metrics(progress: Progress) -> list[tuple[str, str]]:
    """The last finished epoch's numbers, as (label, value); none before the first epoch ends."""
    if not progress.epochs:
        return []
    last, epochs = progress.epochs[-1], progress.task.config.training.epochs
    return [
        ("Epochs done", f"{len(progress.epochs)} / {epochs}"),
        ("Average loss", f"{last.loss:.4f}"),
        ("Held-out accuracy", f"{last.held_out_accuracy:.2%}"),
        ("Epoch time", f"{last.seconds:.1f} s"),
    ]


def answer(progress: Progress, stopping: bool) -> dict[str, Any]:
    """What the browser draws: the job's state and, while it runs, its bar and numbers."""
    if progress.state != RUNNING:
        return {"state": progress.state}
    within, text = progress_line(progress, stopping)
    return {"state": RUNNING, "within": within, "text": text, "metrics": epoch_metrics(progress)}


async def progress_answer(request: Request) -> JSONResponse:
    job = _jobs.get(request.path_params["token"])
    if job is None:  # the session has gone, or the server restarted
        return JSONResponse({"state": "unknown"}, status_code=404)
    return JSONResponse(answer(job.progress(), job.stopping), headers={"Cache-Control": "no-store"})


_HTML = """<div class="digitlab-live">
  <p class="text"></p>
  <div class="bar" role="progressbar" aria-label="Training progress" aria-valuemin="0" aria-valuemax="100">
    <div class="fill"></div>
  </div>
  <div class="metrics"></div>
</div>"""

_CSS = """
.digitlab-live .text { margin: 0 0 0.25rem; font-size: 0.875rem; }
.digitlab-live .bar { height: 0.5rem; border-radius: 0.25rem; overflow: hidden;
  background: var(--st-secondary-background-color, #f0f2f6); }
.digitlab-live .fill { height: 100%; width: 0; background: var(--st-primary-color, #ff4b4b); }
.digitlab-live .metrics { display: flex; gap: 1rem; margin-top: 1rem; }
.digitlab-live .metric { flex: 1; }
.digitlab-live .label { font-size: 0.875rem; }
.digitlab-live .value { font-size: 2.25rem; line-height: 1.2; }
"""

# Polls until the job is no longer running, then reruns the page (a trigger value) and stops. A
# failed request (a busy moment, the server restarting) is simply tried again.
_JS = """
export default function ({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".digitlab-live");
  const text = root.querySelector(".text"), bar = root.querySelector(".bar");
  const fill = root.querySelector(".fill"), metrics = root.querySelector(".metrics");
  let timer = null, over = false;
  function cell(className, content) {
    const element = document.createElement("div");
    element.className = className;
    element.textContent = content;
    return element;
  }
  function draw(answer) {
    text.textContent = answer.text;
    fill.style.width = `${answer.within * 100}%`;
    bar.setAttribute("aria-valuenow", Math.round(answer.within * 100));
    metrics.replaceChildren(...answer.metrics.map(([label, value]) => {
      const metric = cell("metric", "");
      metric.append(cell("label", label), cell("value", value));
      return metric;
    }));
  }
  function show(answer) {
    if (answer.state !== "running") {
      over = true;
      setTriggerValue("state", answer.state);
    } else {
      draw(answer);
    }
  }
  async function poll() {
    try {
      const response = await fetch(data.url, { cache: "no-store" });
      show(await response.json());
    } catch (error) {}
    if (!over) timer = setTimeout(poll, data.every_ms);
  }
  show(data.answer);
  if (!over) timer = setTimeout(poll, data.every_ms);
  return () => { over = true; clearTimeout(timer); };
}
"""

_progress_component = st.components.v2.component("digitlab_live_progress", html=_HTML, css=_CSS, js=_JS)


def progress_view(job: Job, progress: Progress) -> None:
    """The running job's bar and numbers (`progress`: as the page has just read it), kept up to date
    by the browser itself."""
    job_token = token(job)
    data = {
        "url": path().format(token=job_token),
        "every_ms": int(PROGRESS_SECONDS * 1000),
        "answer": answer(progress, job.stopping),
    }
    _progress_component(data=data, key=f"live-{job_token}")


def path() -> str:
    """The route's path under the server's base URL (`server.baseUrlPath`): `st.App` serves its
    own routes where they say, not under the base URL."""
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"/{base}{PATH}" if base else PATH
