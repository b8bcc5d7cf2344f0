"""One image through the network with every intermediate number kept: the arithmetic of learning.

Training needs a layer's z, a and δ only for the moment of one backward pass and overwrites
them with the next batch. To show a learner those numbers, `trace` runs one labelled image
forward and backward through layers detached from the model (`MLP.detached_layers`): the
same `Dense` and `ReLU` code as training, copying each value as it goes by. In the notation of
the page, for layer l:

    forward    z = a_prev · W + b,   a = ReLU(z)  (the output layer keeps a = z: the logits)
    loss       L = −log softmax(z_out)[y]
    backward   δ_out = softmax(z_out) − onehot(y),   δ = (δ_next · W_nextᵀ) ⊙ [z > 0]
    gradients  dL/dW = a_prevᵀ · δ,   dL/db = δ

`sgd_steps` then takes plain gradient steps on that one image — to a copy from `scratch_copy`,
so a learner can push a network around without touching the saved one — and `largest_changes`
says which weights moved most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nn.core.losses import cross_entropy, softmax
from nn.core.network import MLP
from nn.core.optimizers import SGD

from .inside import layer_names


@dataclass(frozen=True)
class LayerTrace:
    """One Dense layer, and its ReLU if it is hidden, for one image."""

    name: str
    inputs: np.ndarray  # a of the layer below (the 784 pixels for the first layer)
    z: np.ndarray  # inputs · W + b
    a: np.ndarray  # ReLU(z) for a hidden layer, z itself (the logits) for the output layer
    delta: np.ndarray  # dL/dz: how much the loss changes per unit change of each z
    weight_gradient: np.ndarray  # dL/dW = outer(inputs, delta), shape (fan_in, fan_out)

    @property
    def bias_gradient(self) -> np.ndarray:
        """dL/db equals δ: a bias enters z with weight 1."""
        return self.delta

    @property
    def firing_share(self) -> float:
        """The share of units whose output is positive (for a hidden layer: that fire)."""
        return float(np.mean(self.a > 0))


@dataclass(frozen=True)
class Trace:
    """Everything the network computed for one image and its true label."""

    label: int
    layers: tuple[LayerTrace, ...]
    probabilities: np.ndarray
    loss: float

    @property
    def image(self) -> np.ndarray:
        return self.layers[0].inputs

    @property
    def hidden(self) -> tuple[LayerTrace, ...]:
        return self.layers[:-1]

    @property
    def output(self) -> LayerTrace:
        return self.layers[-1]

    @property
    def predicted(self) -> int:
        return int(self.probabilities.argmax())


def trace(model: MLP, image: np.ndarray, label: int) -> Trace:
    """Forward and backward for one image (28×28 or 784; uint8 or [0, 1]) without changing `model`."""
    x, _ = model.prepare(image)
    layers = model.detached_layers()
    dense, relus = layers[0::2], [*layers[1::2], None]
    inputs, zs, outputs = [], [], []
    a = x
    for layer, relu in zip(dense, relus):
        inputs.append(a)
        z = layer.forward(a)
        zs.append(z.copy())  # ReLU works in place: keep z before it becomes a
        a = relu.forward(z) if relu is not None else z
        outputs.append(a)
    loss, delta = cross_entropy(a, np.array([label]))  # δ_out = softmax(z) − onehot(y)
    deltas, weight_gradients = [None] * len(dense), [None] * len(dense)
    for i in reversed(range(len(dense))):
        deltas[i] = delta.copy()
        upstream = dense[i].backward(delta, need_input_grad=i > 0)
        weight_gradients[i] = dense[i].dW  # each detached layer owns its gradient buffer
        if i > 0:
            delta = relus[i - 1].backward(upstream)  # ⊙ [z > 0], in place on a fresh array
    names = layer_names(model)
    traced = tuple(
        LayerTrace(name, i[0], z[0], a[0], d[0], g)
        for name, i, z, a, d, g in zip(names, inputs, zs, outputs, deltas, weight_gradients)
    )
    return Trace(int(label), traced, softmax(zs[-1])[0], loss)


@dataclass(frozen=True)
class NeuronSum:
    """One neuron's z = Σ w·x + b written out: its largest terms, the rest summed, the bias."""

    layer: int
    neuron: int
    sources: np.ndarray  # indices of the inputs whose terms are largest in size, largest first
    weights: np.ndarray
    inputs: np.ndarray
    terms: np.ndarray  # weights * inputs
    rest: float  # the sum of every other term
    others: int  # how many other terms there are
    bias: float
    z: float
    a: float  # ReLU(z) for a hidden neuron, z for an output neuron


def neuron_sum(model: MLP, traced: Trace, layer: int, neuron: int, top: int = 8) -> NeuronSum:
    """Neuron `neuron` of Dense layer `layer` (0 = first hidden layer) spelled out for the traced image.

    A wide layer has hundreds of terms, most of them zero (blank pixels, silent units), so only
    the `top` largest in size are listed and the others are added up into `rest`.
    """
    W, b = model.weights[layer], model.biases[layer]
    if not 0 <= neuron < W.shape[1]:
        raise ValueError(f"layer {layer} has {W.shape[1]} neurons; there is no neuron {neuron}")
    step = traced.layers[layer]
    terms = step.inputs * W[:, neuron]
    order = np.argsort(-np.abs(terms), kind="stable")
    shown, hidden = order[:top], order[top:]
    return NeuronSum(
        layer=layer,
        neuron=neuron,
        sources=shown,
        weights=W[shown, neuron],
        inputs=step.inputs[shown],
        terms=terms[shown],
        rest=float(terms[hidden].sum(dtype=np.float64)),
        others=len(hidden),
        bias=float(b[neuron]),
        z=float(step.z[neuron]),
        a=float(step.a[neuron]),
    )


@dataclass(frozen=True)
class SoftmaxSteps:
    """softmax(z)_k = exp(z_k − max z) / Σ_j exp(z_j − max z), one stage at a time."""

    logits: np.ndarray
    largest: float
    shifted: np.ndarray  # z − max z: every exponent ≤ 0, so exp cannot overflow
    exps: np.ndarray
    total: float
    probabilities: np.ndarray


def softmax_steps(logits: np.ndarray) -> SoftmaxSteps:
    """The stages `nn.core.losses.softmax` goes through, kept for one row of logits."""
    logits = np.asarray(logits, dtype=np.float64)
    largest = float(logits.max())
    shifted = logits - largest
    exps = np.exp(shifted)
    total = float(exps.sum())
    return SoftmaxSteps(logits, largest, shifted, exps, total, exps / total)


def scratch_copy(model: MLP, dtype: str | np.dtype | None = None) -> MLP:
    """A separate network with the same weights (optionally in another precision) to experiment on."""
    copy = MLP.from_config(replace(model.config, dtype=np.dtype(dtype or model.dtype).name))
    copy.params[...] = model.params
    return copy


def sgd_steps(model: MLP, image: np.ndarray, label: int, lr: float, steps: int = 1) -> MLP:
    """Take `steps` plain SGD steps, w ← w − lr · dL/dw, on this one image, in place; returns `model`.

    Use it on a `scratch_copy`: a network pushed this hard towards one image forgets others.
    """
    if not lr > 0 or steps < 1:
        raise ValueError(f"need a positive learning rate and at least one step (got lr={lr}, steps={steps})")
    x, _ = model.prepare(image)
    y = np.array([label])
    optimizer = SGD(model.params, model.grads, model.n_weights)
    for _ in range(steps):
        model.loss_and_gradients(x, y)
        optimizer.step(lr)
    return model


@dataclass(frozen=True)
class WeightChange:
    """Weight W[source, target] of Dense layer `layer` (0 = the first), before and after."""

    layer: int
    source: int
    target: int
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


def largest_changes(before: MLP, after: MLP, count: int = 10) -> list[WeightChange]:
    """The `count` weights that differ most between two networks of the same shape, largest first."""
    if before.layer_sizes != after.layer_sizes:
        raise ValueError(f"cannot compare {before} with {after}: their layers differ")
    n = before.n_weights
    difference = np.abs(after.params[:n].astype(np.float64) - before.params[:n])
    count = min(count, n)
    flat = np.argpartition(-difference, count - 1)[:count]
    flat = flat[np.argsort(-difference[flat], kind="stable")]
    starts = np.cumsum([0] + [W.size for W in before.weights])
    changes = []
    for index in flat:
        layer = int(np.searchsorted(starts, index, side="right") - 1)
        source, target = np.unravel_index(index - starts[layer], before.weights[layer].shape)
        changes.append(
            WeightChange(
                layer,
                int(source),
                int(target),
                float(before.weights[layer][source, target]),
                float(after.weights[layer][source, target]),
            )
        )
    return changes
