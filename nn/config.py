"""Hyper-parameters: their defaults, their limits and their explanations, in one place.

The command line builds its flags from `PARAMETERS`, the app builds its sidebar from it and
`TrainConfig.problems()` checks a configuration against it, so a limit changed here changes
everywhere at once.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "linear", "cosine", "step")
INITS = ("he", "small")
AUGMENTATIONS = ("none", "affine", "elastic", "pen")  # recipes in nn/augment.py
DTYPES = ("float32", "float64")

MNIST_TRAIN_SIZE = 60_000
MAX_LAYER_WIDTH = 8192
MAX_HIDDEN_LAYERS = 32  # far deeper than a plain MLP can be trained without normalisation
# 50 million weights is 200 MB of float32 parameters, times four with Adam's moments and the
# gradient: beyond that a laptop runs out of memory long before the network learns anything.
MAX_WEIGHTS = 50_000_000


@dataclass(frozen=True)
class Parameter:
    """How one hyper-parameter may be set, and what it means to a person."""

    name: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None


PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("epochs", "passes over the training set", 1, 1000),
        Parameter(
            "hidden",
            "width of each hidden layer, input side first (e.g. 128 64)",
            1,
            MAX_LAYER_WIDTH,
        ),
        Parameter("lr", "learning rate: the size of each gradient step", 1e-7, 10.0),
        Parameter(
            "batch_size",
            "samples per weight update; 1 is the classic per-sample stochastic mode",
            1,
            MNIST_TRAIN_SIZE,
        ),
        Parameter("optimizer", "how gradients turn into weight updates", choices=OPTIMIZERS),
        Parameter("momentum", "momentum coefficient (the 'momentum' optimizer)", 0.0, 0.999),
        Parameter("weight_decay", "L2 penalty on the weights (not the biases)", 0.0, 1.0),
        Parameter("schedule", "how the learning rate changes over the run", choices=SCHEDULES),
        Parameter("init", "weight initialisation: He, or small random (classic)", choices=INITS),
        Parameter(
            "augment",
            "random distortions of the training images, fresh every epoch: affine (rotate, scale, "
            "shear, shift), elastic (affine plus a smooth random wobble), pen (affine plus random "
            "stroke thickness and blur)",
            choices=AUGMENTATIONS,
        ),
        Parameter("seed", "random seed: the same seed gives the same run", 0, 2**32 - 1),
        Parameter(
            "train_size",
            "train on a random subset of this many images (quick experiments)",
            10,
            MNIST_TRAIN_SIZE,
        ),
        Parameter("val_size", "images held out of training for validation", 0, 30_000),
        Parameter("dtype", "floating-point precision of the network", choices=DTYPES),
    )
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a network is built and trained.

    The defaults train the 784-128-64-10 network to about 98 % test accuracy in 20 epochs.
    """

    hidden: tuple[int, ...] = (128, 64)
    epochs: int = 20
    lr: float = 0.07
    batch_size: int = 128
    optimizer: str = "momentum"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    init: str = "he"
    augment: str = "none"
    seed: int = 0
    train_size: int | None = None
    val_size: int = 0
    dtype: str = "float32"

    def problems(self) -> dict[str, str]:
        """Every invalid parameter mapped to a message a person understands."""
        found: dict[str, str] = {}
        for name, spec in PARAMETERS.items():
            message = _check(spec, getattr(self, name))
            if message:
                found[name] = message
        if "hidden" not in found:
            message = _check_size(self.hidden)
            if message:
                found["hidden"] = message
        if "val_size" not in found and "train_size" not in found:
            available = self.train_size or MNIST_TRAIN_SIZE
            if self.val_size >= available:
                found["val_size"] = (
                    f"holding out {self.val_size} images leaves none of the {available} "
                    "training images to learn from"
                )
        return found

    def validate(self) -> TrainConfig:
        """Raise `ConfigError` listing every problem; return self when there is none."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError({name: "is not a hyper-parameter" for name in sorted(unknown)})
        values = dict(data)
        if "hidden" in values:
            values["hidden"] = tuple(values["hidden"])
        return cls(**values)


# Named starting points for a run, from the original recipe to the most accurate one. Each is a
# plain TrainConfig (any field can still be changed); PRESET_DESCRIPTIONS says what each is for.
PRESETS: dict[str, TrainConfig] = {
    "classic": TrainConfig(
        hidden=(128, 64),
        epochs=20,
        lr=0.01,
        batch_size=1,
        optimizer="sgd",
        momentum=0.0,
        schedule="constant",
        init="small",
    ),
    "default": TrainConfig(),
    # Chosen on a 10,000-image validation split of the training set, never on the test set.
    # "pen" distortions read digits from other pens and fonts as well as "affine" and better
    # than "elastic" (nn/augment.py); 1024-256 keeps the saved model under 5 MB.
    "best": TrainConfig(
        hidden=(1024, 256), epochs=30, lr=0.05, batch_size=128, schedule="cosine", augment="pen"
    ),
}
PRESET_DESCRIPTIONS: dict[str, str] = {
    "classic": "the original recipe: 784-128-64-10, plain SGD one image at a time, small random init; "
    "about 98 % test accuracy, slowly",
    "default": "the fast mini-batch setup: He init, momentum, cosine decay; about 98.2 %, the quickest",
    "best": "784-1024-256-10 trained on freshly distorted digits every epoch: about 99.1 %, in minutes; "
    "reads other people's pens best (the app's model)",
}


def _check(spec: Parameter, value: Any) -> str | None:
    if spec.choices is not None:
        if value not in spec.choices:
            return f"must be one of {', '.join(spec.choices)} (got {value!r})"
        return None
    if spec.name == "train_size" and value is None:
        return None
    if spec.name == "hidden":
        if not isinstance(value, (tuple, list)):
            return "must be a list of layer widths"
        if not value:
            return "needs at least one hidden layer"
        if len(value) > MAX_HIDDEN_LAYERS:
            return f"at most {MAX_HIDDEN_LAYERS} hidden layers (got {len(value)})"
        return next((m for m in (_check_number(spec, v) for v in value) if m), None)
    return _check_number(spec, value)


def _check_number(spec: Parameter, value: Any) -> str | None:
    is_int_param = isinstance(spec.minimum, int) and spec.name not in ("lr",)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number (got {value!r})"
    if is_int_param and not float(value).is_integer():
        return f"must be a whole number (got {value!r})"
    if value != value:  # NaN compares unequal to itself
        return "must be a number (got NaN)"
    if spec.minimum is not None and spec.minimum > 0 and value <= 0:
        return f"must be greater than 0 (got {value:g})"
    if spec.minimum is not None and value < spec.minimum:
        return f"must be at least {spec.minimum:g} (got {value:g})"
    if spec.maximum is not None and value > spec.maximum:
        return f"must be at most {spec.maximum:g} (got {value:g})"
    return None


def _check_size(hidden: tuple[int, ...]) -> str | None:
    sizes = (784, *hidden, 10)
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    if weights > MAX_WEIGHTS:
        gigabytes = weights * 4 * 4 / 1e9
        return (
            f"{weights:,} weights would need about {gigabytes:.1f} GB to train; "
            f"keep the network under {MAX_WEIGHTS:,} weights"
        )
    return None
