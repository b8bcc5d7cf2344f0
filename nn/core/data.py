"""MNIST: the four canonical IDX files, checked and decoded into uint8 arrays.

The repository ships the files in `data/mnist/`, so nothing here touches the network. Each file
is checked twice: its IDX header (magic number and dimensions) says it is the kind of file we
expect, and the MD5 of its decompressed bytes says it is the published one, not a damaged or
substituted copy. Images stay uint8 (47 MB for all 70k) until a batch needs floats.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "mnist"
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


@dataclass(frozen=True)
class IdxFile:
    name: str
    md5: str
    shape: tuple[int, ...]


FILES = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb", (60000, 28, 28)
    ),
    "train_labels": IdxFile("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624", (60000,)),
    "test_images": IdxFile("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea", (10000, 28, 28)),
    "test_labels": IdxFile("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637", (10000,)),
}


@dataclass(frozen=True)
class MNIST:
    """The 60k training and 10k test images (N, 28, 28) uint8 and their labels (N,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_mnist(directory: str | Path = DATA_DIR) -> MNIST:
    """Load and verify the four MNIST files; later calls in the process are free."""
    return _load_verified(Path(directory).resolve())


@functools.lru_cache(maxsize=2)
def _load_verified(directory: Path) -> MNIST:
    arrays = {key: read_idx(directory / spec.name, spec) for key, spec in FILES.items()}
    for array in arrays.values():
        array.flags.writeable = False  # shared by every caller: nobody may change it
    return MNIST(**arrays)


def read_idx(path: Path, spec: IdxFile) -> np.ndarray:
    """Decode one gzipped IDX file, or raise `DataError` naming the file and the fix."""
    raw = _decompress(path)
    digest = hashlib.md5(raw).hexdigest()
    header_size = 4 + 4 * len(spec.shape)
    magic = IMAGE_MAGIC if len(spec.shape) == 3 else LABEL_MAGIC
    if len(raw) < header_size:
        _fail(path, f"is too short to be an IDX file ({len(raw)} bytes)")
    header = np.frombuffer(raw, dtype=">u4", count=1 + len(spec.shape))
    if header[0] != magic:
        _fail(path, f"has IDX magic number {header[0]}, expected {magic}: it is not this MNIST file")
    if tuple(int(d) for d in header[1:]) != spec.shape:
        _fail(path, f"holds an array of shape {tuple(header[1:].tolist())}, expected {spec.shape}")
    if digest != spec.md5:
        _fail(path, f"does not match the published MNIST file (MD5 {digest}, expected {spec.md5})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(spec.shape)


def _decompress(path: Path) -> bytes:
    if not path.is_file():
        _fail(path, "is missing")
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        _fail(path, f"cannot be decompressed ({exc}); it is truncated or corrupt")


def _fail(path: Path, problem: str) -> None:
    raise DataError(
        f"MNIST file {path} {problem}. Restore the four files in data/mnist/ from the "
        "repository (git checkout -- data/mnist) and try again."
    )


def train_validation_split(
    images: np.ndarray, labels: np.ndarray, val_size: int, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold `val_size` random images out of training, the same ones for the same seed."""
    order = np.random.default_rng(seed).permutation(len(labels))
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])


def subset(images: np.ndarray, labels: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random subset of `size` images, the same one for the same seed."""
    chosen = subset_indices(len(labels), size, seed)
    return images[chosen], labels[chosen]


def subset_indices(total: int, size: int, seed: int) -> np.ndarray:
    """Which of `total` images `subset` picks, in order."""
    return np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))


ROBUSTNESS_SAMPLE = 1000


def robustness_sample(mnist: MNIST) -> tuple[np.ndarray, np.ndarray]:
    """The fixed test images (and labels) that robustness curves are measured on, everywhere.

    A thousand: few enough to attack at a dozen strengths in seconds, enough that one image
    moves accuracy by a tenth of a percent.
    """
    return subset(mnist.test_images, mnist.test_labels, ROBUSTNESS_SAMPLE, seed=0)
