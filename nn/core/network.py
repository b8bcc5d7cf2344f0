"""The multilayer perceptron: Dense → ReLU → … → Dense, read out through a softmax.

All weights and biases live in one flat array (`params`), each layer's W and b being views of
it, and likewise their gradients in `grads`. Layers see ordinary 2-D arrays; the optimizer sees
one vector, so an update costs a handful of NumPy calls whatever the depth of the network.
Weights come first in the buffer so that weight decay can skip the biases with one slice.

A network is built from a `ModelConfig` (its widths, initialisation, precision and seed) and
keeps it as `config`; what happens to it afterwards — training, its history, its accuracy —
is its `record` (`nn.core.record.ModelRecord`), which training writes and model files keep.
"""

from __future__ import annotations

import numpy as np

from .config import N_INPUTS, ModelConfig, TrainConfig
from .deskew import as_bytes, deskew
from .layers import Dense, ReLU
from .losses import cross_entropy, softmax
from .record import ModelRecord
from .training import train

PREDICT_CHUNK = 4096  # rows per forward pass at inference: bounds memory for any N


class MLP:
    """A fully connected classifier of 28×28 digit images.

    >>> model = MLP(hidden=(128, 64), seed=0)
    >>> model.layer_sizes
    (784, 128, 64, 10)
    >>> MLP.from_config(ModelConfig(hidden=(32,), init="small")).config.init
    'small'
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (128, 64),
        *,
        init: str = "he",
        seed: int = 0,
        dtype: str | np.dtype = "float32",
        prepare: str = "none",
    ):
        dtype = np.dtype(dtype)
        self.config = ModelConfig(
            hidden=tuple(hidden), init=init, dtype=dtype.name, seed=seed, prepare=prepare
        ).validate()
        self.record = ModelRecord()  # nothing has happened to it yet
        self.layer_sizes = self.config.layer_sizes
        self.dtype = dtype
        shapes = list(zip(self.layer_sizes, self.layer_sizes[1:]))
        self.n_weights = sum(a * b for a, b in shapes)
        self.params = np.zeros(self.n_weights + sum(b for _, b in shapes), self.dtype)
        self.grads = np.zeros_like(self.params)
        self.weights = _views(self.params, shapes)
        self.biases = _views(self.params[self.n_weights :], [(b,) for _, b in shapes])
        self._build_layers(shapes)
        self._initialise(init, np.random.default_rng(seed))

    @classmethod
    def from_config(cls, config: ModelConfig) -> MLP:
        """The network `config` describes, with its first weights drawn from `config.seed`."""
        return cls(
            config.hidden, init=config.init, seed=config.seed, dtype=config.dtype, prepare=config.prepare
        )

    def _build_layers(self, shapes: list[tuple[int, int]]) -> None:
        weight_grads = _views(self.grads, shapes)
        bias_grads = _views(self.grads[self.n_weights :], [(b,) for _, b in shapes])
        self.layers = _layers(self.weights, self.biases, weight_grads, bias_grads)

    def detached_layers(self) -> list[Dense | ReLU]:
        """Layers computing exactly what `layers` compute, with private scratch state.

        The layers of a network remember their last input for the backward pass and write
        gradients into its shared buffer, so looking inside through them while another thread
        predicts with (or trains) the same network would race. These share its weights but own
        their caches and gradient buffers: the same maths as training, none of its state.
        """
        return _layers(
            self.weights,
            self.biases,
            [np.empty_like(W) for W in self.weights],
            [np.empty_like(b) for b in self.biases],
        )

    def _initialise(self, init: str, rng: np.random.Generator) -> None:
        for W in self.weights:
            # He: variance 2/fan_in keeps ReLU activations at the same scale layer after layer.
            # Small: the classic N(0, 0.01²), which works for shallow nets and starts slower.
            scale = np.sqrt(2.0 / W.shape[0]) if init == "he" else 0.01
            W[...] = rng.standard_normal(W.shape) * scale
        self.params[self.n_weights :] = 0.0

    # -- the maths -------------------------------------------------------------------------

    @property
    def deskews(self) -> bool:
        """Whether it stands every image upright before reading it (`nn.core.deskew`)."""
        return self.config.prepare == "deskew"

    def prepare(self, images: np.ndarray) -> tuple[np.ndarray, bool]:
        """Images in any accepted layout as this network reads them: a (N, 784) float batch,
        deskewed if it deskews; and whether it was one image. Every way in goes through here,
        so an image is always prepared as the network was trained."""
        if not self.deskews:
            return as_batch(images, self.dtype)
        pixels, single = as_batch(images, np.float32)
        return as_batch(deskew(as_bytes(pixels.reshape(-1, 28, 28))), self.dtype)[0], single

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (N, 10) for a batch of flattened, [0, 1]-scaled images (N, 784)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_logits: np.ndarray) -> None:
        """Fill `grads` from dL/dlogits, going through the layers in reverse."""
        grad = grad_logits
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad)
        self.layers[0].backward(grad, need_input_grad=False)

    def input_gradient(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dLᵢ/dxᵢ (N, 784): how each pixel moves each image's own cross-entropy; and the logits.

        Training's backward pass stops at the first layer, since nobody trains the image; this one
        goes on to the input, which is what an adversarial attack follows. It runs on detached
        layers (`detached_layers`): the same weights and maths, private scratch state, so it is safe
        beside predictions with the same model; and it leaves `grads` alone, computing none.

        A network that deskews reads the deskewed image: the gradient is the one at that image,
        passed to the raw pixels as if deskewing were the identity (a shear moves pixels but
        hardly changes which way each one pushes the loss: Athalye et al. 2018's "backward pass
        differentiable approximation", which attacks such preprocessing as well as any).
        """
        return self.prepared_input_gradient(self.prepare(images)[0], labels)

    def prepared_input_gradient(self, x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`input_gradient` of a batch already prepared (`prepare`): what adversarial training takes."""
        layers = self.detached_layers()
        logits = x
        for layer in layers:
            logits = layer.forward(logits)
        _, grad = cross_entropy(logits, np.asarray(labels))
        grad *= len(x)  # each image's own loss, not the batch mean: attacks treat images one by one
        for layer in reversed(layers):
            grad = layer.backward(grad, need_param_grads=False)
        return grad, logits

    def loss_and_gradients(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean cross-entropy of a batch, its logits, and the gradients left in `grads`."""
        logits = self.forward(x)
        loss, grad_logits = cross_entropy(logits, labels)
        self.backward(grad_logits)
        return loss, logits

    # -- the estimator interface ------------------------------------------------------------

    @property
    def temperature(self) -> float:
        """The softmax temperature fitted by `nn.robustness.calibration` (in the record); 1 if none was."""
        return 1.0 if self.record.temperature is None else self.record.temperature

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Probabilities of the ten digits: (10,) for one image, (N, 10) for a batch.

        Accepts 28×28 or flattened 784 images, uint8 (0–255) or float (0–1). The logits are
        divided by the model's `temperature` first: the answer stays the same, its confidence
        becomes one that can be trusted (see `nn.robustness.calibration`).
        """
        batch, single = self.prepare(images)
        probs = np.empty((len(batch), self.layer_sizes[-1]), self.dtype)
        temperature = self.temperature
        for start in range(0, len(batch), PREDICT_CHUNK):
            chunk = slice(start, start + PREDICT_CHUNK)
            logits = self.forward(batch[chunk])
            if temperature != 1.0:
                logits /= temperature
            probs[chunk] = softmax(logits)
        return probs[0] if single else probs

    def predict(self, images: np.ndarray) -> np.ndarray | int:
        """The most probable digit: an int for one image, an array for a batch."""
        probs = self.predict_proba(images)
        return int(probs.argmax()) if probs.ndim == 1 else probs.argmax(axis=1)

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Accuracy on a labelled set."""
        return float(np.mean(self.predict(images) == np.asarray(labels)))

    def fit(self, images: np.ndarray, labels: np.ndarray, config: TrainConfig | None = None) -> MLP:
        """Train on (images, labels) with `config` (TrainConfig's defaults if None), and return self."""
        for _ in train(self, images, labels, config or TrainConfig()):
            pass
        return self

    def __repr__(self) -> str:
        deskewed = ", deskewed" if self.deskews else ""
        return f"MLP({'-'.join(map(str, self.layer_sizes))}, {self.dtype.name}{deskewed})"


def as_batch(images: np.ndarray, dtype: np.dtype | str = "float32") -> tuple[np.ndarray, bool]:
    """Images in any of the accepted layouts as a (N, 784) float batch, and whether it was one image."""
    images = np.asarray(images)
    single = images.shape in ((28, 28), (N_INPUTS,))
    if single:
        images = images[None]
    if images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images.reshape(len(images), N_INPUTS)
    if images.ndim != 2 or images.shape[1] != N_INPUTS:
        raise ValueError(f"expected 28×28 images or rows of 784 pixels, got shape {images.shape}")
    if images.dtype == np.uint8:
        return np.multiply(images, 1 / 255, dtype=dtype), single
    return images.astype(dtype, copy=False), single


def _layers(
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    weight_grads: list[np.ndarray],
    bias_grads: list[np.ndarray],
) -> list[Dense | ReLU]:
    """Dense → ReLU → … → Dense over the given weights and the buffers their gradients go to."""
    layers: list[Dense | ReLU] = []
    for W, b, dW, db in zip(weights, biases, weight_grads, bias_grads):
        layers += [Dense(W, b, dW, db), ReLU()]
    layers.pop()  # the last Dense feeds the softmax, not a ReLU
    return layers


def _views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[start : start + size].reshape(shape))
        start += size
    return views
