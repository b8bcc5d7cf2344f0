"""A training run as it trains, drawn by the browser from a small JSON answer instead of a page rerun.

Every Streamlit rerun, even of a fragment holding only a progress bar, costs the browser about
0.1 s of CPU (React redrawing the page) and the server a few hundredths, on the cores the run
trains on; redrawing the figures costs more. So while a run trains, the Train page's progress and
figures are one small component that asks the server for `/api/live/<token>` once a second and
redraws only itself: no Streamlit rerun at all until the run ends. The answer carries the bar,
the numbers and where the run computes (`device_line`) every time, and the figures
(`ui.train_figures`) only when they have changed since the page last drew them, drawn again at
most every `FIGURES_SECONDS`. When the run's state changes (it has ended), the component reruns
the page, which then shows the outcome as before. Beside one streaming run, Chromium now takes
0.03-0.06 of a core, against 0.08-0.11 with the figures from Streamlit and 0.22 with the progress
too (README).

The route is served by `streamlit_app.py`'s `st.App`. Where the page runs without it (AppTest,
or `streamlit run app_navigation.py`), `served()` is False and the page redraws its progress and figures
from fragments instead, with the same words and pictures.
"""

from __future__ import annotations

import base64
import html
import math
import operator
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nn.core.config import PARAMETERS
from nn.core.engine import NumpyEngine
from services.job_states import JobState
from services.jobs import Job, Progress

from . import cache, params
from .jobs import FIGURES_SECONDS, PROGRESS_SECONDS
from .layer_maps import Sample, sample
from .train_figures import (
    CURVES_CAPTION,
    FEATURES_CAPTION,
    LEGEND_HTML,
    Pictures,
    map_caption,
    map_heading,
    pictures,
)

PATH = "/api/live/{token}"

_served = False


def routes() -> list[Route]:
    """The route `st.App` serves; asking for it means the page may rely on it."""
    global _served
    _served = True
    return [Route(path(), progress_answer)]


def served() -> bool:
    """Whether this server answers `/api/live/...` (it does when started from `streamlit_app.py`)."""
    return _served


def progress_line(progress: Progress) -> tuple[float, str]:
    """How far through its current epoch a running job is, and the words beside the bar."""
    epochs = progress.task.config.training.epochs
    within = progress.batch.batch / progress.batch.batches if progress.batch else 0.0
    text = f"Epoch {min(len(progress.epochs) + 1, epochs)} of {epochs}: {within:.0%} of the batches"
    return within, text + (" · stopping…" if progress.stopping else "")


def device_line(progress: Progress) -> str | None:
    """Where the run computes, as its worker said when its training started; until then, for an
    engine that takes seconds to load, that it is loading, so the wait is explained. None while it
    waits for a worker (or, for NumPy, in the instant before the worker says)."""
    if progress.device is not None:
        verb = "Training" if progress.running else "Trained" if progress.state is JobState.FINISHED else "Ran"
        return f"{verb} on {progress.device}"
    engine = progress.task.config.training.engine
    if progress.state is JobState.RUNNING and engine != NumpyEngine.name:
        name = params.shown(PARAMETERS["engine"], engine)
        return f"{name} is starting in the worker: loading it takes a few seconds."
    return None


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


def answer(progress: Progress) -> dict[str, Any]:
    """What the browser draws: the job's state and, while it runs, its bar and numbers."""
    if progress.state is not JobState.RUNNING:
        return {"state": progress.state}
    within, text = progress_line(progress)
    return {
        "state": progress.state,
        "within": within,
        "text": text,
        "device": device_line(progress) or "",
        "metrics": epoch_metrics(progress),
    }


@dataclass
class _Watched:
    """A job a page shows: its token, and the figures last drawn for that page."""

    token: str
    chosen: Sample  # the map's sample
    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: int = 0  # how many times the figures have been drawn: the page says which it has
    epochs_drawn: int = -1  # the epochs, features and map they were drawn from
    drawn_from: tuple[Any, Any] = (None, None)
    at: float = -math.inf  # when (time.monotonic)
    figures: dict[str, Any] | None = None

    def figures_since(self, progress: Progress, seq: int) -> dict[str, Any] | None:
        """The figures, if newer than those the page has (drawing `seq`, 0 for none); else None.

        Drawn again only when the run has changed, and at most every `FIGURES_SECONDS` however
        often the page asks: each drawing costs the server some 60 ms and the browser a little.
        """
        now = (progress.features, progress.layer_map)  # replaced, never changed in place, by the runner
        with self.lock:
            changed = any(map(operator.is_not, now, self.drawn_from))
            changed |= len(progress.epochs) != self.epochs_drawn
            if changed and time.monotonic() - self.at >= FIGURES_SECONDS:
                self.seq += 1
                self.figures = {"seq": self.seq, **figures_json(progress, pictures(progress, self.chosen))}
                self.epochs_drawn, self.drawn_from, self.at = len(progress.epochs), now, time.monotonic()
            return self.figures if self.seq > seq else None


# Weak, so a job is forgotten with the session that started it.
_watched: weakref.WeakKeyDictionary[Job, _Watched] = weakref.WeakKeyDictionary()
_by_token: weakref.WeakValueDictionary[str, Job] = weakref.WeakValueDictionary()
_watched_lock = threading.Lock()


def watch(job: Job, chosen: Sample) -> str:
    """Answer for `job` at a token of its own, made the first time (its map drawn of `chosen`).

    The token is unguessable: on a teacher's server, one student's page cannot read another's run.
    """
    with _watched_lock:
        if job not in _watched:
            # Hex, not urlsafe: a component's key must not hold "__".
            watched = _Watched(secrets.token_hex(16), chosen)
            _watched[job], _by_token[watched.token] = watched, job
        return _watched[job].token


def figures_json(progress: Progress, drawn: Pictures) -> dict[str, str | None]:
    """The pictures as data URLs, and the map's words as HTML."""
    figures = {
        "curves": _data_url("image/svg+xml", drawn.curves.encode()),
        "features": None if drawn.features is None else _data_url("image/png", drawn.features),
        "map": None if drawn.layer_map is None else _data_url("image/png", drawn.layer_map),
    }
    if (layer_map := progress.layer_map) is not None:
        figures["map_heading"] = html.escape(map_heading(layer_map))
        figures["map_caption"] = inline_html(map_caption(layer_map))
    return figures


def inline_html(markdown: str) -> str:
    """A caption's Markdown (plain text and **bold**) as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(markdown))


def _data_url(mime: str, content: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def progress_answer(request: Request) -> JSONResponse:
    """`GET /api/live/<token>?since=<seq>`. Not async: Starlette then answers it in a thread of its
    own, and drawing the figures does not hold up the server's event loop."""
    job = _by_token.get(request.path_params["token"])
    if job is None:  # the session has gone, or the server restarted
        return JSONResponse({"state": "unknown"}, status_code=404)
    body = _answer_since(job, job.progress(), _since(request))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _answer_since(job: Job, progress: Progress, seq: int) -> dict[str, Any]:
    """`answer`, with the figures if the page's are older (drawing `seq`)."""
    body = answer(progress)
    with _watched_lock:
        watched = _watched[job]
    if progress.state is JobState.RUNNING and (figures := watched.figures_since(progress, seq)):
        body["figures"] = figures
    return body


def _since(request: Request) -> int:
    try:
        return int(request.query_params.get("since", "0"))
    except ValueError:
        return 0


_HTML = f"""<div class="digitlab-live">
  <p class="device"></p>
  <p class="text"></p>
  <div class="bar" role="progressbar" aria-label="Training progress" aria-valuemin="0" aria-valuemax="100">
    <div class="fill"></div>
  </div>
  <div class="metrics"></div>
  <div class="figures">
    <img class="curves" alt="Loss and accuracy per epoch">
    <p class="caption">{inline_html(CURVES_CAPTION)}</p>
    <div class="features" hidden>
      <img alt="The first layer's features">
      <p class="caption">{inline_html(FEATURES_CAPTION)}</p>
    </div>
    <div class="map" hidden>
      <p class="heading"></p>
      <p class="legend">{LEGEND_HTML}</p>
      <img alt="The last hidden layer's map of the test digits">
      <p class="caption"></p>
    </div>
  </div>
</div>"""

_CSS = """
.digitlab-live p { margin: 0; }
.digitlab-live .device { margin-bottom: 0.5rem; font-size: 0.875rem; opacity: 0.6; }
.digitlab-live .text { margin-bottom: 0.25rem; font-size: 0.875rem; }
.digitlab-live .bar { height: 0.5rem; border-radius: 0.25rem; overflow: hidden;
  background: var(--st-secondary-background-color, #f0f2f6); }
.digitlab-live .fill { height: 100%; width: 0; background: var(--st-primary-color, #ff4b4b); }
.digitlab-live .metrics { display: flex; gap: 1rem; margin-top: 1rem; }
.digitlab-live .metric { flex: 1; }
.digitlab-live .label { font-size: 0.875rem; }
.digitlab-live .value { font-size: 2.25rem; line-height: 1.2; }
.digitlab-live .figures, .digitlab-live .features, .digitlab-live .map {
  display: flex; flex-direction: column; gap: 1rem; }
.digitlab-live .figures { margin-top: 1rem; }
.digitlab-live [hidden] { display: none; }
.digitlab-live img { width: 100%; }
.digitlab-live img:not([src]) { visibility: hidden; }
.digitlab-live .caption { font-size: 0.875rem; opacity: 0.6; }
.digitlab-live .heading { font-weight: 600; }
"""

# Polls until the job is no longer running, then reruns the page (a trigger value) and stops. A
# failed request (a busy moment, the server restarting) is simply tried again. The figures come
# only when the server has drawn newer ones than `seq`.
_JS = """
export default function ({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".digitlab-live");
  const part = (selector) => root.querySelector(selector);
  const device = part(".device"), text = part(".text");
  const bar = part(".bar"), fill = part(".fill"), metrics = part(".metrics");
  let timer = null, over = false, seq = 0;
  function cell(className, content) {
    const element = document.createElement("div");
    element.className = className;
    element.textContent = content;
    return element;
  }
  function drawProgress(answer) {
    device.textContent = answer.device;
    text.textContent = answer.text;
    fill.style.width = `${answer.within * 100}%`;
    bar.setAttribute("aria-valuenow", Math.round(answer.within * 100));
    metrics.replaceChildren(...answer.metrics.map(([label, value]) => {
      const metric = cell("metric", "");
      metric.append(cell("label", label), cell("value", value));
      return metric;
    }));
  }
  function drawFigures(figures) {
    seq = figures.seq;
    part(".curves").src = figures.curves;
    part(".features").hidden = !figures.features;
    if (figures.features) part(".features img").src = figures.features;
    part(".map").hidden = !figures.map;
    if (figures.map) {
      part(".map img").src = figures.map;
      part(".map .heading").innerHTML = figures.map_heading;
      part(".map .caption").innerHTML = figures.map_caption;
    }
  }
  function show(answer) {
    if (answer.state !== "running") {
      over = true;
      setTriggerValue("state", answer.state);
      return;
    }
    drawProgress(answer);
    if (answer.figures) drawFigures(answer.figures);
  }
  async function poll() {
    try {
      const response = await fetch(`${data.url}?since=${seq}`, { cache: "no-store" });
      show(await response.json());
    } catch (error) {}
    if (!over) timer = setTimeout(poll, data.every_ms);
  }
  show(data.answer);
  if (!over) timer = setTimeout(poll, data.every_ms);
  return () => { over = true; clearTimeout(timer); };
}
"""

_live_component = st.components.v2.component("digitlab_live_run", html=_HTML, css=_CSS, js=_JS)


def progress_view(job: Job, progress: Progress) -> None:
    """The running job's bar, numbers and figures (`progress`: as the page has just read it), kept up
    to date by the browser itself."""
    job_token = watch(job, sample(cache.mnist()))
    data = {
        "url": path().format(token=job_token),
        "every_ms": int(PROGRESS_SECONDS * 1000),
        "answer": _answer_since(job, progress, seq=0),
    }
    _live_component(data=data, key=f"live-{job_token}")


def path() -> str:
    """The route's path under the server's base URL (`server.baseUrlPath`): `st.App` serves its
    own routes where they say, not under the base URL."""
    base = st.get_option("server.baseUrlPath").strip("/")
    return f"/{base}{PATH}" if base else PATH
