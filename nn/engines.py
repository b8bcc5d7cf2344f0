"""The engines by name, as a `TrainConfig` names them: NumPy's own, or Keras 3's.

The framework engine is imported only when a training asks for it: TensorFlow takes seconds and
hundreds of megabytes to load, and the web server, which never trains, never loads it.
"""

from __future__ import annotations

from .core.config import RunConfig
from .core.data import MNIST
from .core.engine import Engine, NumpyEngine, Training
from .core.errors import ConfigError
from .core.training import TrainingData


def engine_named(name: str, threads: int | None = None) -> Engine:
    """The engine called `name` ("numpy" or "tensorflow"), computing on `threads` CPU threads
    (None: its own choice; NumPy's are set from outside, with threadpoolctl)."""
    if name == NumpyEngine.name:
        return NumpyEngine()
    if name == "tensorflow":
        try:
            from .framework.engine import KerasEngine  # here, not above: see the module docstring
        except ImportError as exc:
            raise ConfigError(
                {"engine": f"the tensorflow engine needs Keras 3 and a backend for it ({exc})"}
            ) from None
        return KerasEngine(threads)
    raise ConfigError({"engine": f"must be one of numpy, tensorflow (got {name!r})"})


def start_training(config: RunConfig, mnist: MNIST, threads: int | None = None) -> Training:
    """A run of `config` on MNIST by the engine it names: its network built, its images chosen
    (`TrainingData.for_run`)."""
    config.validate()
    engine = engine_named(config.training.engine, threads)
    return engine.start(
        engine.build(config.model), config.training, TrainingData.for_run(config.training, mnist)
    )
