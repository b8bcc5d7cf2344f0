"""One digit's gradients computed twice: by TensorFlow's automatic differentiation and by hand.

Step by step shows `tensorflow_gradients` (its own source, as it ran) beside the NumPy code that
computed the same gradients, and how far apart the two answers are. The framework builds the
same network from the same weights (`nn.framework.network`), so any difference is rounding.
This is the one place that writes TensorFlow rather than Keras: `tf.GradientTape` is what a
learner will meet in TensorFlow code.
"""

from __future__ import annotations

import inspect

import numpy as np

from nn.core.network import MLP

from .comparison import GradientComparison
from .network import flat, logits_network


def tensorflow_gradients(model: MLP, image: np.ndarray, label: int) -> list[np.ndarray]:
    import tensorflow as tf

    network = logits_network(model)  # the same layers and weights, in Keras
    x = tf.constant(model.prepare(image)[0])
    with tf.GradientTape() as tape:  # records every operation on the weights...
        logits = network(x)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[label], logits=logits))
    gradients = tape.gradient(loss, network.trainable_variables)  # ...and plays it backwards
    return [g.numpy() for g in gradients]  # kernel and bias of each layer, input side first


def compare_gradients(model: MLP, image: np.ndarray, label: int, device: str) -> GradientComparison:
    """TensorFlow's gradients of the loss of `image` labelled `label` against `model`'s own."""
    by_hand = MLP.from_config(model.config)  # a scratch copy: the model's gradient buffer is left alone
    by_hand.params[...] = model.params
    x, _ = model.prepare(image)
    by_hand.loss_and_gradients(x, np.array([label]))
    by_framework = flat(model, tensorflow_gradients(model, image, label))
    return GradientComparison(
        code=inspect.getsource(tensorflow_gradients),
        largest_difference=float(np.max(np.abs(by_framework - by_hand.grads))),
        largest_gradient=float(np.max(np.abs(by_hand.grads))),
        device=device,
    )
