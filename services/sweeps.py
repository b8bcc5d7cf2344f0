"""Sweeps: a grid over one to three hyper-parameters, each point an ordinary run.

A learner understands a hyper-parameter best by sweeping it: the same network at five learning
rates, or three widths × three learning rates, with all the curves side by side. A `Grid` is a
base `RunConfig` and one to three `Axis`es (a parameter and its values); a parameter may be the
network's (hidden widths, init, precision) or its training's (learning rate, batch size…), and
`config_for` puts each value into the config it belongs to. Every combination of values is one
run, submitted to a runner (this machine's pool or a Dask cluster: the sweep does not care),
saved and recorded in the run store like any other, with the sweep's id and its grid point in
the run's details. The sweep itself — its grid and the job of each point — is a
row of the store too, so a past sweep can be reopened.

Choosing honestly: the best run is the one with the highest accuracy on a *validation* split,
images held out of the training set. Only that one run's test accuracy is reported. Picking the
highest test accuracy among many runs would choose partly by luck on those particular 10,000
test images, and the figure reported would overstate how well the chosen run reads new digits.
So a sweep needs `val_size` > 0; and the parameters that decide *which* images are held out
(`seed`, `train_size`, `val_size`) cannot be swept, or runs would be compared on different images:
the parameter table says so of each (`Parameter.not_swept`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nn.core.config import PARAMETERS, RunConfig
from nn.core.errors import DigitLabError
from nn.core.training import EpochEnd

from .job_states import JobState
from .jobs import Job, Runner
from .journal import Journal
from .runs import Run, RunDetails, RunStore, SweepPoint, stored_config
from .sweep_store import SweepEntry, SweepStore
from .tasks import TrainTask

MAX_AXES = 3
MAX_RUNS = 64  # beyond this a sweep is hours of training on a laptop: sweep coarsely, then refine
SWEEPABLE = tuple(name for name, spec in PARAMETERS.items() if spec.sweepable)
WHY_VALIDATION = (
    "a sweep chooses its best run by validation accuracy, measured on images held out of the "
    "training set; set the number of validation images (val_size) above 0, for example 10000. "
    "Choosing by test accuracy instead would make the winner's test accuracy an optimistic guess"
)
HONEST_CHOICE = (
    "The best run is the one with the highest accuracy on the validation images, which are held "
    "out of the training set. Only that run's test accuracy is shown: picking the highest of "
    "many test accuracies would choose partly by luck on these particular test images, and the "
    "figure would overstate how well the chosen network reads digits it has never seen."
)


class SweepError(DigitLabError):
    """A grid that cannot be swept; the message lists every problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Axis:
    """One swept hyper-parameter and the values it takes, in the order given."""

    name: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Grid:
    """Every combination of the axes' values, the other settings from `base`."""

    base: RunConfig
    axes: tuple[Axis, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(axis.name for axis in self.axes)

    @property
    def size(self) -> int:
        size = 1
        for axis in self.axes:
            size *= len(axis.values)
        return size

    def points(self) -> list[dict[str, Any]]:
        """The grid's points, the last axis varying fastest: {parameter: value} each."""
        return [dict(zip(self.names, values)) for values in itertools.product(*(a.values for a in self.axes))]

    def configs(self) -> list[RunConfig]:
        return [config_for(self.base, point) for point in self.points()]

    def problems(self) -> list[str]:
        """Everything that stops this grid from being swept, in words."""
        found = []
        if not 1 <= len(self.axes) <= MAX_AXES:
            found.append(f"a sweep varies one to {MAX_AXES} hyper-parameters (got {len(self.axes)})")
        for name in sorted({n for n in self.names if self.names.count(n) > 1}):
            found.append(f"{name} is swept twice; give all its values once")
        for axis in self.axes:
            found += _axis_problems(axis)
        if self.base.training.val_size <= 0:
            found.append(WHY_VALIDATION)
        if self.size > MAX_RUNS:
            found.append(
                f"{self.size} runs is more than the {MAX_RUNS} a sweep may have; sweep fewer values, "
                "coarsely first, then refine around the best"
            )
        if not found:
            found += _config_problems(self)
        return found

    def validate(self) -> Grid:
        problems = self.problems()
        if problems:
            raise SweepError(problems)
        return self

    def label(self, point: dict[str, Any]) -> str:
        """A grid point in a few words, e.g. "lr 0.03 · hidden 128-64"."""
        return " · ".join(f"{name} {PARAMETERS[name].show(value)}" for name, value in point.items())

    def describe(self) -> str:
        """e.g. "lr × hidden (3 × 2 runs)"."""
        counts = " × ".join(str(len(a.values)) for a in self.axes)
        return f"{' × '.join(self.names)} ({counts} runs)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base.to_dict(),
            "axes": [
                {"name": a.name, "values": [PARAMETERS[a.name].to_json(v) for v in a.values]}
                for a in self.axes
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Grid:
        """The inverse of `to_dict`; raises `SweepError` saying what is wrong with `data`.

        Sweeps recorded before the network's settings were separated from its training keep
        their base as one flat set of parameters; it is read into the same RunConfig.
        """
        try:
            return cls(stored_config(data["base"]), tuple(_stored_axis(axis) for axis in data["axes"]))
        except KeyError as exc:
            raise SweepError([f"its grid has no {exc}"]) from None
        except (TypeError, ValueError) as exc:  # ValueError includes ConfigError
            raise SweepError([f"its grid cannot be read ({exc})"]) from None


def _stored_axis(data: dict[str, Any]) -> Axis:
    spec = PARAMETERS.get(data["name"])
    if spec is None:
        raise ValueError(f"{data['name']!r} is not a hyper-parameter")
    return Axis(spec.name, tuple(spec.read(value) for value in data["values"]))


def config_for(base: RunConfig, point: dict[str, Any]) -> RunConfig:
    """The configuration of one grid point: `base` with the point's values, each in the config
    (the network's or its training's) that the parameter belongs to.

    The one place that turns sweep values into a configuration.
    """
    return RunConfig.from_values(base.values() | point)


def parse_values(name: str, text: str) -> tuple[Any, ...]:
    """Values typed for parameter `name`, separated by commas (or spaces).

    A widths parameter, whose one value is itself several numbers, takes one architecture per
    comma, its layer widths separated by spaces or dashes: "64, 128 64, 256-128".
    """
    spec = PARAMETERS.get(name)
    if spec is None:
        raise SweepError([f"{name} is not a hyper-parameter"])
    try:
        values = spec.parse(text)
    except ValueError:
        raise SweepError([f"{name}: {text.strip()!r} is not a list of {spec.values_in_words()}"]) from None
    if not values:
        raise SweepError([f"{name}: give at least one value"])
    return values


def _axis_problems(axis: Axis) -> list[str]:
    spec = PARAMETERS.get(axis.name)
    if spec is None:
        return [f"{axis.name} is not a hyper-parameter; these can be swept: {', '.join(SWEEPABLE)}"]
    if not spec.sweepable:
        return [f"{axis.name} cannot be swept: {spec.not_swept}, which must be the same for every run"]
    if not axis.values:
        return [f"{axis.name}: give at least one value"]
    repeated = sorted({spec.show(v) for v in axis.values if axis.values.count(v) > 1})
    return [f"{axis.name}: {', '.join(repeated)} given twice"] if repeated else []


def _config_problems(grid: Grid) -> list[str]:
    """Each value that makes an invalid configuration, said once per parameter and value."""
    found: dict[str, None] = {}  # an ordered set
    for point in grid.points():
        for name, message in config_for(grid.base, point).problems().items():
            where = f"{name} {PARAMETERS[name].show(point[name])}" if name in point else name
            found[f"{where}: {message}"] = None
    return list(found)


# -- a sweep's runs, as the page and the command line show them --------------------------------


@dataclass(frozen=True)
class Row:
    """One grid point's run, as of one moment."""

    index: int  # its place in the grid
    point: dict[str, Any]
    label: str
    state: JobState
    epochs: int  # how many the run is set to train
    history: tuple[EpochEnd, ...]  # the epochs done so far
    run: Run | None  # the recorded run, once its model is saved
    message: str | None  # why it failed, stopped or diverged
    ended: str | None = None  # how its training ended: "completed", "stopped" or "diverged"
    ahead: int = 0  # runs ahead of it in the queue while it waits
    live: bool = True  # False when read back from the store: its progress is not known here

    @property
    def val_accuracy(self) -> float | None:
        """Held-out accuracy after its last epoch so far."""
        return self.history[-1].val_accuracy if self.history else None

    @property
    def status(self) -> str:
        """e.g. "running · epoch 3/5", "waiting · 2 ahead", "finished", "failed"."""
        if self.state is JobState.RUNNING and not self.live:
            return "running in another process"
        if self.state is JobState.RUNNING:
            return f"running · epoch {min(len(self.history) + 1, self.epochs)}/{self.epochs}"
        if self.state is JobState.WAITING:
            return f"waiting · {self.ahead} ahead" if self.ahead else "waiting"
        if self.state is JobState.FINISHED and self.ended not in (None, "completed"):
            return f"{self.ended} after {len(self.history)} epochs"
        return self.state


@dataclass(frozen=True)
class SweepView:
    """A sweep's grid and every run's state: live from its jobs, or reopened from the store."""

    id: int
    name: str
    created: str
    place: str
    grid: Grid
    rows: tuple[Row, ...]

    @property
    def running(self) -> bool:
        return any(row.state.unfinished for row in self.rows)

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.state in (JobState.FAILED, JobState.INTERRUPTED)]

    def ranked(self) -> list[Row]:
        """Runs by validation accuracy, best first; those without one (yet) after, in grid order."""
        scored = [row for row in self.rows if row.val_accuracy is not None]
        rest = [row for row in self.rows if row.val_accuracy is None]
        return sorted(scored, key=lambda row: -row.val_accuracy) + rest

    def best(self) -> Row | None:
        """The saved run with the highest validation accuracy, once no run is left to finish."""
        if self.running:
            return None
        chosen = [row for row in self.ranked() if row.run is not None and row.val_accuracy is not None]
        return chosen[0] if chosen else None


class Sweep:
    """A sweep started by this process: its grid, its record and the job of every point."""

    def __init__(self, record: SweepEntry, grid: Grid, jobs: list[Job]):
        self.record, self.grid, self.jobs = record, grid, jobs

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def running(self) -> bool:
        return any(job.running for job in self.jobs)

    def view(self) -> SweepView:
        rows = []
        for index, (point, job) in enumerate(zip(self.grid.points(), self.jobs)):
            progress = job.progress()
            message = progress.error
            if message is None and progress.end is not None and progress.end.status != "completed":
                message = progress.end.message
            rows.append(
                Row(
                    index,
                    point,
                    self.grid.label(point),
                    progress.state,
                    job.task.config.training.epochs,
                    tuple(progress.epochs),
                    progress.saved,
                    message,
                    progress.end.status if progress.end else None,
                    progress.ahead,
                )
            )
        return _view(self.record, self.grid, rows)

    def cancel(self) -> None:
        """Cancel the runs still waiting; end the running ones after their current batch.

        A run ended this way keeps what it has learned (as Stop does on the Train page), marked
        "stopped" in the results.
        """
        for job in reversed(self.jobs):  # the last in the queue first, so none starts meanwhile
            if job.running:
                job.stop()

    def join(self, timeout: float | None = None) -> bool:
        return all(job.join(timeout) for job in self.jobs)


def start(grid: Grid, runner: Runner, store: SweepStore, name: str | None = None) -> Sweep:
    """Validate `grid`, record the sweep in `store`, and submit one run per point to `runner`."""
    grid.validate()
    record = store.add(name or grid.describe(), grid.to_dict(), runner.place)
    jobs = []
    for index, point in enumerate(grid.points()):
        task = TrainTask(
            config_for(grid.base, point),
            source="sweep",
            name=f"sweep {record.id} · {grid.label(point)}"[:80],
            details=RunDetails(
                SweepPoint(
                    record.id, index, {name: PARAMETERS[name].to_json(value) for name, value in point.items()}
                )
            ),
            activate=False,  # the person chooses which run to use, after seeing them all
        )
        jobs.append(runner.submit(task))
    store.set_jobs(record.id, [job.id for job in jobs])
    return Sweep(store.get(record.id), grid, jobs)


def reopen(store: SweepStore, journal: Journal, run_store: RunStore, sweep_id: int) -> SweepView:
    """A sweep as the stores remember it: for one started by another process, or a past one."""
    record = store.get(sweep_id)
    try:
        grid = Grid.from_dict(record.definition)
    except SweepError as exc:
        raise SweepError([f"sweep {record.id} ({record.name}) cannot be reopened: {exc}"]) from None
    jobs = journal.carried_on(record.job_ids)  # a point's run resumed after a restart: where it went on
    runs = run_store.runs_by_id([j.run_id for j in jobs.values() if j.run_id is not None]) if jobs else {}
    rows = []
    for index, point in enumerate(grid.points()):
        job = jobs.get(record.job_ids[index]) if index < len(record.job_ids) else None
        run = runs.get(job.run_id) if job and job.run_id is not None else None
        state = job.state if job else JobState.CANCELLED
        rows.append(
            Row(
                index,
                point,
                grid.label(point),
                state,
                config_for(grid.base, point).training.epochs,
                tuple(run.history) if run else (),
                run,
                job.message if job else "no run was submitted for this point",
                run.status if run else None,
                live=False,
            )
        )
    return _view(record, grid, rows)


def _view(record: SweepEntry, grid: Grid, rows: list[Row]) -> SweepView:
    return SweepView(record.id, record.name, record.created, record.place, grid, tuple(rows))


class Sweeps:
    """The sweeps of one server: those it started (live) and every recorded one (reopened)."""

    def __init__(self, runner: Runner, store: SweepStore):
        self.runner, self.store = runner, store
        self.live: dict[int, Sweep] = {}

    def start(self, grid: Grid, name: str | None = None) -> Sweep:
        sweep = start(grid, self.runner, self.store, name)
        self.live[sweep.id] = sweep
        return sweep

    def view(self, sweep_id: int) -> SweepView:
        live = self.live.get(sweep_id)
        if live is not None:
            return live.view()
        return reopen(self.store, self.runner.journal, self.runner.store, sweep_id)

    def cancel(self, sweep_id: int) -> None:
        if sweep_id in self.live:
            self.live[sweep_id].cancel()

    def records(self) -> list[SweepEntry]:
        return self.store.sweeps()
