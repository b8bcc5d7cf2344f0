"""Framework work the pages ask for, done in a process of its own: the web server never loads
TensorFlow (seconds to load, hundreds of megabytes, and threads of its own).

Two things the app offers need Keras: any model as a `.keras` file (Compare runs), and one
digit's gradients by `tf.GradientTape` beside the hand-written ones (Step by step). Each is a
call into one spawned process, kept between calls so that only the first pays for loading
TensorFlow, running at the lowest priority as the training workers do and ending with the
server. A model crosses as its plain arrays (`model_arrays`), checked on arrival like a file; a
process that dies is replaced at the next call, and the call that was in it fails in words.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import numpy as np

from nn.core.errors import DigitLabError
from nn.core.network import MLP
from nn.core.persistence import model_arrays, model_from_arrays
from nn.framework.comparison import GradientComparison

from .jobs import no_page_script_as_main
from .worker import give_way

FRAMEWORK_THREADS = 1  # the pages' framework work is small: leave the other cores to training
T = TypeVar("T")
ORIGIN = "the model sent to the framework process"


class FrameworkError(DigitLabError):
    """The framework process could not do what was asked (it died, or Keras is missing)."""


def keras_file(model: MLP) -> bytes:
    """`model` as a `.keras` file's contents (`nn.export.to_keras`)."""
    return _call(_keras_file, model_arrays(model))


def compare_step(model: MLP, image: np.ndarray, label: int) -> GradientComparison:
    """TensorFlow's gradients of one digit's loss beside `model`'s own (`nn.framework.gradients`)."""
    return _call(_compare_step, model_arrays(model), image, label)


_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _call(function: Callable[..., T], *args: Any) -> T:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ProcessPoolExecutor(
                1, multiprocessing.get_context("spawn"), initializer=_serve, initargs=(os.getpid(),)
            )
        pool = _pool
        with no_page_script_as_main():  # the pool starts its process at a submit
            future = pool.submit(function, *args)
    try:
        return future.result()
    except BrokenProcessPool:
        with _pool_lock:
            if _pool is pool:
                _pool = None  # the next call starts a fresh one
        raise FrameworkError("the framework process stopped unexpectedly; try again") from None
    except ImportError as exc:
        raise FrameworkError(
            f"this needs Keras 3 and TensorFlow, which are not installed here ({exc})"
        ) from None


# -- in the framework process ----------------------------------------------------------------------
# Keras is imported here, in the functions the framework process runs, never in the server.

SERVER_POLL_SECONDS = 2.0


def _serve(server: int) -> None:
    """Run below the server, and end with it: a server stopped by a signal never shuts its pool
    down, and an idle process holding TensorFlow would be left behind for good."""
    give_way()

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(SERVER_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="digitlab server watch", daemon=True).start()


def _keras_file(arrays: dict[str, np.ndarray]) -> bytes:
    from nn.export.to_keras import keras_bytes

    return keras_bytes(model_from_arrays(arrays, ORIGIN))


def _compare_step(arrays: dict[str, np.ndarray], image: np.ndarray, label: int) -> GradientComparison:
    from nn.framework.engine import KerasEngine
    from nn.framework.gradients import compare_gradients

    device = KerasEngine(FRAMEWORK_THREADS).device()
    return compare_gradients(model_from_arrays(arrays, ORIGIN), image, label, device)
