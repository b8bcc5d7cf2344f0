"""The same network in a framework: Keras 3, on TensorFlow (or JAX, or PyTorch), on a GPU if any.

Digit Lab's second engine. It builds the network `nn.core` builds, from the same first weights;
it trains it on the same batches, drawn by NumPy on the CPU in the same order with the same
distortions; and it applies `nn.core`'s update rules, written as Keras optimizers. What differs
is who computes the gradients: the framework's automatic differentiation, not `nn.core`'s
hand-written backward pass. So the two engines' numbers agree to rounding, which the tests check.

- `backends`: what differs between Keras' backends: threads, exact float32, GPU memory, the device;
- `network`: Digit Lab's network as a Keras model, and the weights copied both ways;
- `optimizers`: SGD, momentum and Adam exactly as `nn.core.optimizers` does them;
- `batches`: the batches `nn.core.training` would take, as a Keras data source;
- `training`: `KerasTraining`, `fit` with callbacks, streamed as `nn.core.events`;
- `engine`: `KerasEngine`, the `nn.core.engine.Engine` of it all;
- `gradients`: one digit's gradients by `tf.GradientTape`, for Step by step.

The code is backend-agnostic (`keras.ops`) except `backends` and `gradients`, which say so.
Importing this package loads Keras and its backend: only worker processes do.

May import: `nn.core`, NumPy, Keras and its backends.
"""
