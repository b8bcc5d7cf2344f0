"""What differs between Keras' backends (TensorFlow, JAX, PyTorch): threads, precision, the device.

Choices made here, for all of Digit Lab's framework runs:

- **TF32 off.** NVIDIA GPUs from Ampere on multiply float32 matrices in TensorFloat-32 (10 bits
  of mantissa) unless told not to: 1e-3 relative error per product, which would make "the same
  network" a different one. Exact float32 costs some speed on those GPUs; we keep the reference.
- **XLA off** on TensorFlow and PyTorch (`jit_compile`): for a few dense layers it fuses little,
  costs seconds of compiling, and rounds differently from the eager kernels. JAX has no fast mode
  without it, so there it is on.
- **oneDNN as TensorFlow ships it** (on, for x86 CPUs): it reorders sums, which moves results by
  rounding only, within the tests' tolerances, and is faster on the CPU. It is chosen when
  TensorFlow loads (`TF_ENABLE_ONEDNN_OPTS`), which is the process's business, not the engine's.
- **GPU memory grows as needed** instead of TensorFlow taking all of it at the start, so a run
  leaves room for other programs (and other runs) on the same GPU.
- **Threads**: the worker pool gives each worker a number of CPU threads; threadpoolctl does not
  reach TensorFlow or PyTorch, so they are told here. TensorFlow fixes its thread pools when it
  first computes: later changes to the count (a second run starting) apply only to NumPy's BLAS.
"""

from __future__ import annotations

import contextlib

import keras


def backend() -> str:
    """Keras' backend: "tensorflow", "jax" or "torch" (chosen by KERAS_BACKEND when Keras loads)."""
    return keras.backend.backend()


def configure(threads: int | None) -> None:
    """Apply the choices above; `threads` CPU threads for the framework's own kernels."""
    match backend():
        case "tensorflow":
            _configure_tensorflow(threads)
        case "torch":
            _configure_torch(threads)
        case "jax":
            _configure_jax()


def jit_compile() -> bool:
    """Whether `fit` compiles with XLA: only where there is no fast mode without it (JAX)."""
    return backend() == "jax"


def device() -> str:
    """Where the framework computes, in words: "TensorFlow 2.21.0 on the CPU: no GPU found"."""
    match backend():
        case "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpus else None
            return _where(f"TensorFlow {tf.__version__}", name or (gpus[0].name if gpus else None))
        case "torch":
            import torch

            name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
            return _where(f"Keras {keras.__version__} on PyTorch {torch.__version__}", name)
        case "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            return _where(
                f"Keras {keras.__version__} on JAX {jax.__version__}", gpus[0].device_kind if gpus else None
            )
    return f"Keras {keras.__version__} on {backend()}"


def _where(framework: str, gpu: str | None) -> str:
    return f"{framework} on GPU 0: {gpu}" if gpu else f"{framework} on the CPU: no GPU found"


def _configure_tensorflow(threads: int | None) -> None:
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(False)
    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError):  # already initialised: it was set then
            tf.config.experimental.set_memory_growth(gpu, True)
    if threads:
        # Refused once TensorFlow has computed anything: the first run's count stays (see above).
        # Inter-op 1: one operation at a time, each on `threads` threads, so the worker computes on
        # the cores the pool gave it and no more (a dense network has little to run side by side).
        with contextlib.suppress(RuntimeError):
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)


def _configure_torch(threads: int | None) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if threads:
        torch.set_num_threads(threads)


def _configure_jax() -> None:
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 or bfloat16 passes
