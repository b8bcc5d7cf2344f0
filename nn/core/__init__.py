"""The engine's core: what it takes to build, train, save and load a network.

Owns the hyper-parameters (`config`), MNIST (`data`), the layers, losses and the network, the
optimizers, schedules and augmentation, the training loop and its events, the engine
interface every training engine implements (`engine`), model files (`persistence`, `record`),
a training's checkpoints (`checkpoint`) and the preprocessing of outside images.

May import: NumPy, Pillow, the standard library, and itself. Nothing else in `nn`.
"""
