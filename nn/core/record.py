"""What a trained model says about itself: how it was trained, how that went, how well it reads.

A model's `config` (`nn.core.config.ModelConfig`) says how the network is built. Its `record`, a
`ModelRecord`, says what has happened to it since: the training settings, one `EpochEnd` per
epoch, when (UTC) and for how long it trained, how the run ended, its test accuracy; for a
fine-tune, how its base was trained and the fine-tune's own account (`FineTuneRecord`); and, once
fitted, the softmax temperature that calibrates its probabilities; and where it trained (the engine
is in its training config, the device here). The training loop writes it, every
reader reads typed fields, and `nn.core.persistence` stores it as JSON.

`from_dict` is the only way a record comes in from outside (a file): every value is checked
for its type and range, so a file's claims become typed fields or a `ValueError` naming the
first bad one, never a dict each reader must second-guess.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from functools import partial
from typing import Any

from .config import PARAMETERS, TrainConfig
from .errors import ConfigError
from .events import STATUSES, EpochEnd

# Fine-tuning may cost at most 0.3 points of MNIST test accuracy; beyond that the app warns.
MAX_MNIST_DROP = 0.003


@dataclass(frozen=True)
class FineTuneMix:
    """What a fine-tune trains on, besides how (its `TrainConfig`): a slice of MNIST to rehearse,
    and the user's digits repeated, each copy distorted, until they make up `user_share` of it."""

    mnist_size: int  # MNIST images rehearsed alongside the user's
    user_share: float  # the user's (repeated, distorted) digits' share of the mix
    max_repeats: int  # so that three digits are not each copied a thousand times
    distortion: str  # how the copies are distorted, once: an augmentation, as TrainConfig.augment


@dataclass(frozen=True)
class FineTuneRecord:
    """A fine-tune's own account: its mix, and the accuracy before and after on both fronts.

    How it trained is the record's `training`, how that ended its `status`. The user's
    accuracies are on their held-out digits, which it never trains on: None when there were none.
    """

    mix: FineTuneMix
    user_train: int  # the user's digits it trained on
    user_held_out: int
    repeats: int  # how many times each of those appeared in the mix
    mnist_before: float  # on MNIST's 10,000 test images
    mnist_after: float
    user_before: float | None
    user_after: float | None

    @property
    def mnist_change_points(self) -> float:
        return 100 * (self.mnist_after - self.mnist_before)

    @property
    def user_change_points(self) -> float | None:
        if self.user_after is None or self.user_before is None:
            return None
        return 100 * (self.user_after - self.user_before)

    @property
    def kept_mnist(self) -> bool:
        """Whether MNIST accuracy stayed within the allowed drop (`MAX_MNIST_DROP`)."""
        return self.mnist_after >= self.mnist_before - MAX_MNIST_DROP


@dataclass(frozen=True)
class ModelRecord:
    """A model's history. Every field is optional: a model from elsewhere may say nothing."""

    training: TrainConfig | None = None  # how it was last trained; None: not trained by Digit Lab
    history: tuple[EpochEnd, ...] = ()  # one per completed epoch of that training
    trained_at: str | None = None  # when that training started, ISO 8601 in UTC
    train_seconds: float | None = None
    status: str | None = None  # how that training ended: one of nn.core.events.STATUSES
    epochs_done: int | None = None
    test_accuracy: float | None = None  # on MNIST's 10,000 test images
    base_training: TrainConfig | None = None  # a fine-tune's: how the model it started from was trained
    finetune: FineTuneRecord | None = None  # a fine-tune's own account
    temperature: float | None = None  # fitted softmax temperature; None: not calibrated
    device: str | None = None  # where its last training computed, in words (`Engine.device`)

    @property
    def first_training(self) -> TrainConfig | None:
        """How the network was trained from its first weights: a fine-tune's base training."""
        return self.base_training if self.finetune is not None else self.training

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("training", "base_training"):
            data[name] = data[name].to_dict() if data[name] is not None else None
        data["history"] = [asdict(epoch) for epoch in self.history]
        data["finetune"] = asdict(self.finetune) if self.finetune is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ModelRecord:
        """Check and convert JSON values; raise `ValueError` naming the first that is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"must be a JSON object (got {_shown(data)})")
        unknown = sorted(set(data) - set(READERS))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not part of a model's record")
        return cls(**{name: READERS[name](name, value) for name, value in data.items()})


# -- reading one field from JSON -------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _optional(read: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda name, value: None if value is None else read(name, value)


def _number(name: str, value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (got {_shown(value)})")
    if value < low or value > high:
        bounds = f"between {low:g} and {high:g}" if high < math.inf else f"at least {low:g}"
        raise ValueError(f"{name} must be {bounds} (got {value:g})")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more (got {_shown(value)})")
    return value


def _utc_time(name: str, value: Any) -> str:
    try:
        aware = datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        aware = False
    if not aware:
        raise ValueError(f"{name} must be an ISO 8601 time with its UTC offset (got {_shown(value)})")
    return value


def _text(name: str, value: Any, longest: int = 200) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise ValueError(f"{name} must be a text of 1 to {longest} characters (got {_shown(value)})")
    return value


def _augmentation(name: str, value: Any) -> str:
    problem = PARAMETERS["augment"].problem(value)
    if problem:
        raise ValueError(f"{name} {problem}")
    return value


def _train_config(name: str, value: Any) -> TrainConfig:
    try:
        return TrainConfig.from_dict(value).validate()
    except (ConfigError, TypeError) as exc:
        raise ValueError(f"{name} is not a valid training config ({exc})") from None


def _json_object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object (got {_shown(value)})")
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def read(name: str, value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)} (got {_shown(value)})")
        return value

    return read


def _object(cls: type, readers: dict[str, Callable[[str, Any], Any]]) -> Callable[[str, Any], Any]:
    """A reader of a JSON object holding exactly the fields of `cls`, each read by its reader."""

    def read(name: str, value: Any) -> Any:
        if set(_json_object(name, value)) != set(readers):
            raise ValueError(f"{name} must hold exactly {', '.join(readers)}")
        return cls(**{key: readers[key](f"{name}.{key}", value[key]) for key in readers})

    return read


def _history(name: str, value: Any) -> tuple[EpochEnd, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of epochs (got {_shown(value)})")
    return tuple(_epoch(f"{name}[{i}]", epoch) for i, epoch in enumerate(value))


_EPOCH_FIELDS = typing.get_type_hints(EpochEnd)  # e.g. {"loss": float, "val_accuracy": float | None}


def _epoch(name: str, value: Any) -> EpochEnd:
    """One epoch's figures, each of the type `EpochEnd` declares for it."""
    if not isinstance(value, dict) or set(value) != set(_EPOCH_FIELDS):
        raise ValueError(f"{name} must hold exactly {', '.join(_EPOCH_FIELDS)}")
    return EpochEnd(**{key: _typed(f"{name}.{key}", value[key], _EPOCH_FIELDS[key]) for key in _EPOCH_FIELDS})


def _finetune(name: str, value: Any) -> FineTuneRecord:
    """A fine-tune's account; one written before it was typed is read into the same fields.

    That one held {"settings": ..., "result": ...}: the settings repeated the training config's
    epochs, lr, batch size and seed (the record's `training` has them), named the distortion
    "augment", and the result repeated the record's status.
    """
    if isinstance(value, dict) and set(value) == {"settings", "result"}:
        settings, result = (_json_object(f"{name}.{key}", value[key]) for key in ("settings", "result"))
        mix = {key: settings.get(key) for key in _MIX_READERS if key != "distortion"}
        value = {"mix": mix | {"distortion": settings.get("augment")}}
        value |= {key: result.get(key) for key in _FINETUNE_READERS if key != "mix"}
    return _object(FineTuneRecord, _FINETUNE_READERS)(name, value)


def _typed(name: str, value: Any, hint: Any) -> Any:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    if int in allowed and not isinstance(value, bool) and isinstance(value, int):
        return value
    return _number(name, value) if float in allowed else _count(name, value)


_accuracy = partial(_number, low=0, high=1)
_MIX_READERS: dict[str, Callable[[str, Any], Any]] = {
    "mnist_size": _count,
    "user_share": partial(_number, low=0, high=1),
    "max_repeats": _count,
    "distortion": _augmentation,
}
_FINETUNE_READERS: dict[str, Callable[[str, Any], Any]] = {
    "mix": _object(FineTuneMix, _MIX_READERS),
    "user_train": _count,
    "user_held_out": _count,
    "repeats": _count,
    "mnist_before": _accuracy,
    "mnist_after": _accuracy,
    "user_before": _optional(_accuracy),
    "user_after": _optional(_accuracy),
}

# A softmax temperature (nn/calibration.py) outside these bounds is no calibration but a broken file:
# fitted ones land between about 0.5 and 3.
TEMPERATURE_RANGE = (0.01, 100.0)

# The reader of each field: a name → implementation table, checked against the dataclass's fields.
READERS: dict[str, Callable[[str, Any], Any]] = {
    "training": _optional(_train_config),
    "history": _history,
    "trained_at": _optional(_utc_time),
    "train_seconds": _optional(partial(_number, low=0)),
    "status": _optional(_choice(STATUSES)),
    "epochs_done": _optional(_count),
    "test_accuracy": _optional(_accuracy),
    "base_training": _optional(_train_config),
    "finetune": _optional(_finetune),
    "temperature": _optional(partial(_number, low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])),
    "device": _optional(_text),
}
