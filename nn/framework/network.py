"""Digit Lab's network as a Keras model, and its weights copied both ways.

A Keras `Dense` layer keeps its kernel as (inputs, outputs), as `nn.core.layers.Dense` keeps W,
so the weights copy across as they are, in the same order: kernel, bias, layer after layer.
Training uses the logits (the loss applies the softmax, as `nn.core.losses` does); a model
handed to Keras users ends in the softmax itself, temperature included, built from Keras' own
layers only, so `keras.models.load_model` opens it with no code of ours.
"""

from __future__ import annotations

import keras
import numpy as np

from nn.core.config import N_INPUTS
from nn.core.network import MLP


def logits_network(model: MLP) -> keras.Sequential:
    """The network of `model`, in its precision, ending in the logits; a copy of its weights."""
    network = keras.Sequential(_layers(model), name="digit_lab_logits")
    network.set_weights(_weights(model))
    return network


def classifier(model: MLP) -> keras.Sequential:
    """The network of `model` reading out the ten probabilities as `MLP.predict_proba` does:
    [0, 1] pixels in (N, 784), softmax(logits / temperature) out."""
    readout = (
        [keras.layers.Rescaling(1 / model.temperature, name="temperature")] if model.temperature != 1 else []
    )
    network = keras.Sequential(
        [*_layers(model), *readout, keras.layers.Softmax(name="probabilities")], name="digit_lab"
    )
    network.set_weights(_weights(model))
    return network


def copy_weights(network: keras.Model, model: MLP) -> None:
    """Write the Keras network's weights into `model`'s (in place: its views stay valid)."""
    arrays = network.get_weights()
    for W, b, kernel, bias in zip(model.weights, model.biases, arrays[::2], arrays[1::2], strict=True):
        W[...], b[...] = kernel, bias


def flat(model: MLP, arrays: list[np.ndarray]) -> np.ndarray:
    """Per-layer arrays in Keras' order (kernel, bias, …) as one vector laid out as `MLP.params`:
    every kernel first, then every bias."""
    return np.concatenate([a.ravel() for a in (*arrays[::2], *arrays[1::2])]).astype(model.dtype, copy=False)


def unflat(model: MLP, vector: np.ndarray) -> list[np.ndarray]:
    """The inverse of `flat`: per-layer arrays in Keras' order, from a vector laid out as `MLP.params`."""
    shapes = [W.shape for W in model.weights] + [b.shape for b in model.biases]
    parts = np.split(vector, np.cumsum([int(np.prod(shape)) for shape in shapes])[:-1])
    arrays = [part.reshape(shape) for part, shape in zip(parts, shapes)]
    layers = len(model.weights)
    return [a for pair in zip(arrays[:layers], arrays[layers:]) for a in pair]


def _weights(model: MLP) -> list[np.ndarray]:
    return [a for W, b in zip(model.weights, model.biases) for a in (W, b)]


def _layers(model: MLP) -> list[keras.Layer]:
    dtype = model.dtype.name
    sizes = model.layer_sizes
    layers: list[keras.Layer] = [keras.Input((N_INPUTS,), dtype=dtype, name="pixels")]
    for i, width in enumerate(sizes[1:], start=1):
        last = i == len(sizes) - 1
        name = "logits" if last else f"hidden_{i}"
        layers.append(keras.layers.Dense(width, activation=None if last else "relu", dtype=dtype, name=name))
    return layers
