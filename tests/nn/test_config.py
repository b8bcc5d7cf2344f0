"""Hyper-parameter validation: every problem found up front, each explained to a person."""

from __future__ import annotations

import math

import pytest

from nn import MLP, ConfigError, TrainConfig
from nn.config import PARAMETERS


def test_the_defaults_are_valid_and_describe_the_default_network() -> None:
    config = TrainConfig()
    assert config.problems() == {}
    assert config.validate() is config
    assert config.hidden == (128, 64) and config.epochs == 20 and config.dtype == "float32"
    assert set(PARAMETERS) == set(config.to_dict()), "every hyper-parameter has a spec"


@pytest.mark.parametrize(
    ("changes", "parameter", "explanation"),
    [
        ({"epochs": 0}, "epochs", "greater than 0"),
        ({"epochs": -3}, "epochs", "greater than 0"),
        ({"epochs": 2.5}, "epochs", "whole number"),
        ({"hidden": ()}, "hidden", "at least one hidden layer"),
        ({"hidden": (128, 0)}, "hidden", "greater than 0"),
        ({"hidden": (-5,)}, "hidden", "greater than 0"),
        ({"hidden": (100_000,)}, "hidden", "at most 8192"),
        ({"hidden": (8192, 8192, 8192)}, "hidden", "GB"),
        ({"hidden": (4,) * 33}, "hidden", "at most 32 hidden layers"),
        ({"lr": 0.0}, "lr", "greater than 0"),
        ({"lr": -0.1}, "lr", "greater than 0"),
        ({"lr": math.nan}, "lr", "NaN"),
        ({"lr": math.inf}, "lr", "at most"),
        ({"batch_size": 0}, "batch_size", "greater than 0"),
        ({"optimizer": "rmsprop"}, "optimizer", "one of sgd, momentum, adam"),
        ({"schedule": "warmup"}, "schedule", "one of"),
        ({"momentum": 1.5}, "momentum", "at most"),
        ({"weight_decay": -1.0}, "weight_decay", "at least 0"),
        ({"train_size": 5}, "train_size", "at least 10"),
        ({"train_size": 1000, "val_size": 1000}, "val_size", "none of the 1000 training images"),
        ({"val_size": 30_000, "train_size": 20_000}, "val_size", "leaves none"),
        ({"dtype": "float16"}, "dtype", "one of float32, float64"),
        ({"lr": "fast"}, "lr", "must be a number"),
        ({"seed": -1}, "seed", "at least 0"),
    ],
)
def test_each_invalid_parameter_is_named_and_explained(
    changes: dict, parameter: str, explanation: str
) -> None:
    config = TrainConfig(**changes)
    with pytest.raises(ConfigError) as caught:
        config.validate()
    assert set(caught.value.problems) == {parameter}
    assert explanation in caught.value.problems[parameter]
    assert str(caught.value).startswith(f"{parameter}: ")


def test_absurd_layer_sizes_are_refused_before_any_memory_is_allocated() -> None:
    with pytest.raises(ConfigError) as caught:
        MLP(hidden=(10**9,))
    assert "hidden" in caught.value.problems
    with pytest.raises(ConfigError, match="weights would need about"):
        MLP(hidden=(8000, 8000))


def test_all_problems_are_reported_at_once() -> None:
    config = TrainConfig(epochs=0, hidden=(), lr=-1.0, batch_size=0, optimizer="magic")
    with pytest.raises(ConfigError) as caught:
        config.validate()
    problems = caught.value.problems
    assert set(problems) == {"epochs", "hidden", "lr", "batch_size", "optimizer"}
    for name in problems:
        assert f"{name}: " in str(caught.value)


def test_a_config_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        TrainConfig(epochs=0).validate()


def test_config_round_trips_through_a_dict_and_rejects_unknown_keys() -> None:
    config = TrainConfig(hidden=(32, 16), lr=0.05, optimizer="adam", train_size=500)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({**config.to_dict(), "learning_rate": 0.1})
    assert caught.value.problems == {"learning_rate": "is not a hyper-parameter"}


def test_every_numeric_parameter_has_limits_and_every_choice_a_default_in_range() -> None:
    defaults = TrainConfig()
    for name, spec in PARAMETERS.items():
        assert spec.help, name
        if spec.choices:
            assert getattr(defaults, name) in spec.choices
        else:
            assert spec.minimum is not None and spec.maximum is not None, name
