"""`KerasEngine`: Digit Lab's network trained by Keras 3, behind `nn.core.engine.Engine`."""

from __future__ import annotations

from nn.core.config import ModelConfig, TrainConfig
from nn.core.network import MLP
from nn.core.training import TrainingData

from . import backends
from .training import KerasTraining


class KerasEngine:
    """The same network, batches and update rules as `nn.core.engine.NumpyEngine`, computed by
    Keras on its backend (TensorFlow as installed here; JAX or PyTorch elsewhere), on a GPU if any."""

    name = "tensorflow"
    label = "TensorFlow"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def device(self) -> str:
        backends.configure(self.threads)
        return backends.device()

    def build(self, config: ModelConfig) -> MLP:
        # NumPy draws the first weights, so both engines start from the same ones.
        return MLP.from_config(config)

    def start(self, model: MLP, config: TrainConfig, data: TrainingData) -> KerasTraining:
        return KerasTraining(model, config, data, self.device())
