"""MNIST loading: the real files decode as expected, and every kind of damage is named and explained.

Damaged copies are built in a temporary directory; data/mnist/ itself is only ever read.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from nn import DataError, load_mnist
from nn.core.data import DATA_DIR, FILES, subset, train_validation_split

TRAIN_IMAGES = FILES["train_images"].name  # read first, so breaking it fails fast
TRAIN_LABELS = FILES["train_labels"].name


def test_shapes_dtypes_and_label_range(mnist) -> None:
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels.shape == (60000,) and mnist.test_labels.shape == (10000,)
    for array in (mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels):
        assert array.dtype == np.uint8
        assert not array.flags.writeable, "the cached arrays are shared and must be read-only"
    for labels in (mnist.train_labels, mnist.test_labels):
        assert set(np.unique(labels)) == set(range(10))
    assert mnist.train_images.max() == 255 and mnist.train_images.min() == 0
    # The first training digit of MNIST is a 5, the first test digit a 7.
    assert (mnist.train_labels[0], mnist.test_labels[0]) == (5, 7)


def test_a_second_load_is_the_cached_object() -> None:
    assert load_mnist() is load_mnist()
    assert load_mnist(DATA_DIR) is load_mnist(str(DATA_DIR))


@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    """A data directory whose files point at the real ones, ready to have one replaced."""
    for spec in FILES.values():
        (tmp_path / spec.name).symlink_to(DATA_DIR / spec.name)
    return tmp_path


def replace(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.unlink()
    path.write_bytes(content)
    return path


def idx_gz(magic: int, shape: tuple[int, ...], payload: bytes = b"") -> bytes:
    header = struct.pack(f">{1 + len(shape)}I", magic, *shape)
    return gzip.compress(header + payload, compresslevel=1)


def expect_data_error(directory: Path, path: Path, *words: str) -> None:
    with pytest.raises(DataError) as caught:
        load_mnist(directory)
    message = str(caught.value)
    assert str(path) in message, "the message names the file"
    assert "git checkout -- data/mnist" in message, "the message says how to fix it"
    for word in words:
        assert word in message


def test_missing_file(copy_dir: Path) -> None:
    path = copy_dir / TRAIN_LABELS
    path.unlink()
    expect_data_error(copy_dir, path, "is missing")


def test_truncated_file(copy_dir: Path) -> None:
    original = (DATA_DIR / TRAIN_IMAGES).read_bytes()
    path = replace(copy_dir, TRAIN_IMAGES, original[: len(original) // 2])
    expect_data_error(copy_dir, path, "truncated or corrupt")


def test_file_that_is_not_gzip(copy_dir: Path) -> None:
    path = replace(copy_dir, TRAIN_IMAGES, b"<html>404 Not Found</html>" * 100)
    expect_data_error(copy_dir, path, "cannot be decompressed")


def test_gzip_with_damaged_contents(copy_dir: Path) -> None:
    damaged = bytearray((DATA_DIR / TRAIN_LABELS).read_bytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 64] = bytes(64)
    path = replace(copy_dir, TRAIN_LABELS, bytes(damaged))
    expect_data_error(copy_dir, path, "cannot be decompressed")


def test_file_too_short_for_a_header(copy_dir: Path) -> None:
    path = replace(copy_dir, TRAIN_IMAGES, gzip.compress(b"\x00\x00"))
    expect_data_error(copy_dir, path, "too short")


def test_wrong_magic_number_as_when_two_files_are_swapped(copy_dir: Path) -> None:
    path = replace(copy_dir, TRAIN_IMAGES, (DATA_DIR / TRAIN_LABELS).read_bytes())
    expect_data_error(copy_dir, path, "magic number 2049, expected 2051")


def test_wrong_shape(copy_dir: Path) -> None:
    path = replace(copy_dir, TRAIN_IMAGES, idx_gz(2051, (1000, 28, 28), bytes(1000 * 28 * 28)))
    expect_data_error(copy_dir, path, "(1000, 28, 28)", "expected (60000, 28, 28)")


def test_right_header_wrong_contents_fails_the_md5_check(copy_dir: Path) -> None:
    with gzip.open(DATA_DIR / TRAIN_LABELS) as f:
        raw = bytearray(f.read())
    raw[100] = (raw[100] + 1) % 10  # one mislabelled digit
    path = replace(copy_dir, TRAIN_LABELS, gzip.compress(bytes(raw), compresslevel=1))
    expect_data_error(copy_dir, path, "MD5", FILES["train_labels"].md5)


def test_intact_copies_load_like_the_originals(copy_dir: Path, mnist) -> None:
    copy = load_mnist(copy_dir)
    np.testing.assert_array_equal(copy.test_labels, mnist.test_labels)
    np.testing.assert_array_equal(copy.train_images[-1], mnist.train_images[-1])


def test_validation_split_is_disjoint_complete_and_seeded() -> None:
    images, labels = np.arange(100) * 10, np.arange(100) % 10
    (train_x, train_y), (val_x, val_y) = train_validation_split(images, labels, 20, seed=3)
    assert len(val_x) == 20 and len(train_x) == 80
    assert not set(train_x) & set(val_x)
    assert sorted([*train_x, *val_x]) == list(images)
    np.testing.assert_array_equal(train_y, (train_x // 10) % 10)  # labels travel with their images
    np.testing.assert_array_equal(val_y, (val_x // 10) % 10)
    (again, _), _ = train_validation_split(images, labels, 20, seed=3)
    (other, _), _ = train_validation_split(images, labels, 20, seed=4)
    np.testing.assert_array_equal(again, train_x)
    assert not np.array_equal(other, train_x)


def test_subset_is_seeded_and_keeps_labels_with_images() -> None:
    images, labels = np.arange(1000), np.arange(1000) % 10
    chosen, chosen_labels = subset(images, labels, 50, seed=1)
    assert len(set(chosen)) == 50
    np.testing.assert_array_equal(chosen_labels, chosen % 10)
    np.testing.assert_array_equal(subset(images, labels, 50, seed=1)[0], chosen)
