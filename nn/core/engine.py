"""The engine interface: what any training engine offers, so nothing above cares which one trains.

An engine builds a network from a `ModelConfig` and trains it by a `TrainConfig`. Its training
(`Training`) is a stream of the events of `nn.core.events`, stops after any batch when asked, gives
its whole state at any epoch's end and takes it back in a fresh process (`TrainingState`:
weights, optimizer, schedule position, random generators, history), and hands back the network
as an `MLP`, which model files keep and every page reads. The worker pool, the Dask runner, the
command line and fine-tuning talk to this interface only.

`NumpyEngine` is the first: this package's own hand-written backpropagation. The other
(`nn.framework`: Keras 3, on a GPU when there is one) builds the same network with the same first
weights, trains it on the same batches by the same update rules, and copies its weights back into
the `MLP` it hands back. `nn.engines` finds an engine by the name a `TrainConfig` gives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

from .config import ModelConfig, TrainConfig
from .events import Event, TrainingEnd
from .network import MLP
from .training import NumpyTraining, TrainingData, TrainingState


class Training(Protocol):
    """One network's training by one engine, under way."""

    model: MLP  # the network as Digit Lab keeps it; current after every epoch and at the end
    device: str  # where it computes, in words (`Engine.device`)
    result: TrainingEnd | None  # how it ended, once it has

    def events(self, stop: threading.Event | None = None) -> Iterator[Event]:
        """Train the epochs still to do; setting `stop` ends it after the current batch."""
        ...

    def state(self) -> TrainingState:
        """Where the training is, taken as an `EpochEnd` is yielded (or before it starts)."""
        ...

    def restore(self, state: TrainingState) -> None:
        """Go on from `state` (of the same network and config) as if it had never stopped."""
        ...


class Engine(Protocol):
    """A way to train Digit Lab's network."""

    name: str  # as the command line and model records spell it
    label: str  # as the app shows it

    def device(self) -> str:
        """Where it computes, in words."""
        ...

    def build(self, config: ModelConfig) -> MLP:
        """The untrained network `config` describes, its first weights drawn from `config.seed`."""
        ...

    def start(self, model: MLP, config: TrainConfig, data: TrainingData) -> Training:
        """Ready to train `model` (fresh, or trained before: a fine-tune) on `data` by `config`."""
        ...


class NumpyEngine:
    """Digit Lab's own engine: NumPy, backpropagation written by hand, on the CPU."""

    name = "numpy"
    label = "NumPy (from scratch)"

    def device(self) -> str:
        return "NumPy on the CPU"

    def build(self, config: ModelConfig) -> MLP:
        return MLP.from_config(config)

    def start(self, model: MLP, config: TrainConfig, data: TrainingData) -> NumpyTraining:
        return NumpyTraining(model, config, data)
