"""The user's own labelled digits: drawings they added to teach the network their handwriting.

Each digit is one small `.npz` file (the 28×28 float image as the network sees it, and its
label) in the folder `services.locations.user_digits_dir()` names. One file per digit
means adding never rewrites what is there, so two browser tabs adding at once cannot lose each
other's digits; each file is written to a temporary name and renamed, so none is ever torn.
Files are read with `allow_pickle=False` and checked like any other input.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from nn.core.errors import DigitLabError, EmptyImageError, ImageError
from nn.core.persistence import write_atomically

from . import locations

SIDE = 28
HELD_OUT_EVERY = 4  # of each label's digits, in the order added, the 2nd, 6th, 10th… are held out
ID_PATTERN = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{8}$")


class UserDigitsError(DigitLabError):
    """A stored digit is damaged, or a digit asked for does not exist."""


@dataclass(frozen=True)
class UserDigit:
    id: str  # also its order: ids sort by the time the digit was added
    label: int
    image: np.ndarray  # (28, 28) float32 in [0, 1], ink = 1


@dataclass(frozen=True)
class Split:
    """The user's digits divided into those to learn from and those to measure on."""

    train_images: np.ndarray  # (N, 28, 28) float32
    train_labels: np.ndarray  # (N,) uint8
    held_out_images: np.ndarray
    held_out_labels: np.ndarray


class UserDigits:
    """The labelled digits stored in one folder (created on first add)."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory or locations.user_digits_dir())

    def add(self, image: np.ndarray, label: int) -> UserDigit:
        """Store a preprocessed digit (from `nn.core.preprocess.mnist_style`) with its label."""
        digit = UserDigit(_new_id(), _check_label(label), _check_image(image, "the digit"))
        write_atomically(
            self._path(digit.id), lambda f: np.savez(f, image=digit.image, label=np.uint8(digit.label))
        )
        return digit

    def all(self) -> list[UserDigit]:
        """Every stored digit, oldest first."""
        if not self.directory.is_dir():
            return []
        paths = sorted(p for p in self.directory.glob("*.npz") if ID_PATTERN.match(p.stem))
        return [_read(path) for path in paths]

    def delete(self, digit_id: str) -> None:
        path = self._path(digit_id)
        if not path.is_file():
            raise UserDigitsError(f"there is no digit {digit_id!r} in {self.directory}")
        path.unlink()

    def split(self) -> Split:
        """Hold out every `HELD_OUT_EVERY`th digit of each label, from its second one on.

        Splitting per label in the order added keeps the split stable as digits are added and
        puts a digit of every label that has two into the held-out part as early as possible.
        """
        digits = self.all()
        seen: dict[int, int] = {}
        held_out = []
        for digit in digits:
            held_out.append(seen.get(digit.label, 0) % HELD_OUT_EVERY == 1)
            seen[digit.label] = seen.get(digit.label, 0) + 1
        train = [d for d, h in zip(digits, held_out) if not h]
        test = [d for d, h in zip(digits, held_out) if h]
        return Split(*_arrays(train), *_arrays(test))

    def _path(self, digit_id: str) -> Path:
        if not ID_PATTERN.match(str(digit_id)):
            raise UserDigitsError(f"{digit_id!r} is not the id of a stored digit")
        return self.directory / f"{digit_id}.npz"


def _new_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def _check_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
        raise ValueError(f"a digit's label is a whole number from 0 to 9, got {label!r}")
    return int(label)


def _check_image(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.shape != (SIDE, SIDE) or image.dtype.kind != "f":
        raise ImageError(f"{what} must be a 28×28 float image, got {image.dtype} {image.shape}")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise ImageError(f"{what} must hold values from 0 to 1")
    if not image.any():
        raise EmptyImageError(f"{what} is blank: there is no digit to learn from")
    return image.astype(np.float32)


def _read(path: Path) -> UserDigit:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if set(archive.files) != {"image", "label"}:
                raise UserDigitsError(f"{path} holds {sorted(archive.files)}, not an image and a label")
            image, label = archive["image"], archive["label"]
        if label.shape != () or label.dtype != np.uint8:
            raise UserDigitsError(f"{path} has a label that is not a single digit")
        return UserDigit(path.stem, _check_label(int(label)), _check_image(image, str(path)))
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:  # incl. pickles
        raise UserDigitsError(f"{path} is damaged ({exc}); delete it to carry on") from None


def _arrays(digits: list[UserDigit]) -> tuple[np.ndarray, np.ndarray]:
    images = np.array([d.image for d in digits], np.float32).reshape(-1, SIDE, SIDE)
    return images, np.array([d.label for d in digits], np.uint8)
