"""Hyper-parameters: the network's settings apart from training's, every problem found up front and
explained to a person, and one table that says everything about every parameter."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from nn import MLP, ConfigError, ModelConfig, RunConfig, TrainConfig
from nn.core.config import KINDS, PARAMETERS, PRESETS, Group, Kind, parameters

# The Python type each kind of parameter holds (None aside), to check the table against the configs.
PYTHON_TYPES = {
    Kind.INT: int,
    Kind.FLOAT: float,
    Kind.CHOICE: str,
    Kind.COMBINATION: str,
    Kind.WIDTHS: tuple,
    Kind.OPTIONAL_INT: int,
}


def test_the_defaults_are_valid_and_describe_the_default_network() -> None:
    config = RunConfig()
    assert config.problems() == {} and config.validate() is config
    assert config.model.validate() is config.model and config.training.validate() is config.training
    assert config.model == ModelConfig(hidden=(128, 64), init="he", dtype="float32", seed=0)
    assert config.training.epochs == 20 and config.training.lr == 0.07


def test_each_config_holds_exactly_the_parameters_of_its_group_and_the_seed_is_in_both() -> None:
    model_fields = [f.name for f in dataclasses.fields(ModelConfig)]
    training_fields = [f.name for f in dataclasses.fields(TrainConfig)]
    assert (
        set(model_fields)
        == {p.name for p in parameters(Group.MODEL)}
        == {"hidden", "init", "dtype", "seed", "prepare"}
    )
    assert set(training_fields) == {p.name for p in parameters(Group.TRAINING)}
    assert set(model_fields) & set(training_fields) == {"seed"}
    one_seed = RunConfig.from_values({"seed": 7})  # given once, as the sidebar and the CLI give it
    assert one_seed.model.seed == one_seed.training.seed == 7, "the seed of the weights and of the shuffling"
    assert set(model_fields) | set(training_fields) == set(PARAMETERS)


def test_the_table_says_everything_about_every_parameter() -> None:
    defaults = RunConfig().values()
    assert set(KINDS) == set(Kind), "every kind of value is read, checked and shown"
    for name, spec in PARAMETERS.items():
        assert spec.name == name and spec.help and spec.label, name
        default = defaults[name]
        if spec.kind is Kind.OPTIONAL_INT:
            assert default is None or isinstance(default, int), name
            assert spec.unset, f"{name}: what leaving it unset means"
        else:
            assert isinstance(default, PYTHON_TYPES[spec.kind]), name
        if spec.kind in (Kind.CHOICE, Kind.COMBINATION):
            assert spec.problem(default) is None and spec.step is None and spec.minimum is None, name
        else:
            assert spec.choices is None, name
            assert spec.minimum is not None and spec.maximum is not None and spec.step, name
            assert spec.step <= spec.maximum - spec.minimum, name
        if spec.kind is Kind.WIDTHS:  # the app's limit is its own, within the engine's
            assert 1 <= spec.app_max_layers < spec.max_layers, name
            deepest = RunConfig.from_values({name: (16,) * spec.app_max_layers})
            assert deepest.problems() == {}, "the sidebar offers only networks the engine takes"
        else:
            assert spec.max_layers is None and spec.app_max_layers is None, name


def test_each_value_reads_back_from_how_it_is_shown_typed_offered_and_stored() -> None:
    """A value as a table shows it, as its flag takes it, as the sweep form offers it among others,
    and as JSON keeps it, is read back as itself, in the type its config holds."""
    for name, spec in PARAMETERS.items():
        known = {config.values()[name] for config in PRESETS.values()} | set(spec.suggested_values)
        values = tuple(value for value in known if value is not None)
        assert spec.parse(spec.text(values)) == values, name
        for value in values:
            for text in (spec.show(value), spec.typed(value)):
                [read] = spec.parse(text)
                assert read == value and type(read) is type(value), (name, text)
            assert spec.from_json(json.loads(json.dumps(spec.to_json(value)))) == value, name
        assert spec.parse(" , ") == (), "no words, no values"
    with pytest.raises(ValueError):
        PARAMETERS["batch_size"].parse("32, 12.5")


def test_the_table_says_how_a_sweep_treats_each_parameter() -> None:
    [first] = [spec for spec in PARAMETERS.values() if spec.swept_by_default]
    assert first.sweepable and first.suggested_values, "the sweep form starts with values to sweep"
    for name, spec in PARAMETERS.items():
        assert spec.sweepable == (spec.not_swept is None), name
        assert not (spec.suggested_values and not spec.sweepable), f"{name} is suggested but not swept"
        assert len(set(spec.suggested_values)) == len(spec.suggested_values), name
        for value in spec.suggested_values:
            assert spec.problem(value) is None, (name, value)


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
        ({"hidden": (16.5,)}, "hidden", "whole number"),
        ({"hidden": 128}, "hidden", "list of layer widths"),
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
        ({"train_size": "all"}, "train_size", "must be a number"),
        ({"train_size": 1000, "val_size": 1000}, "val_size", "none of the 1000 training images"),
        ({"val_size": 30_000, "train_size": 20_000}, "val_size", "leaves none"),
        ({"dtype": "float16"}, "dtype", "one of float32, float64"),
        ({"init": "xavier"}, "init", "one of he, small"),
        ({"lr": "fast"}, "lr", "must be a number"),
        ({"epochs": True}, "epochs", "must be a number"),
        ({"seed": -1}, "seed", "at least 0"),
    ],
)
def test_each_invalid_parameter_is_named_and_explained(
    changes: dict, parameter: str, explanation: str
) -> None:
    config = RunConfig.from_values(changes)
    with pytest.raises(ConfigError) as caught:
        config.validate()
    assert set(caught.value.problems) == {parameter}
    assert explanation in caught.value.problems[parameter]
    assert str(caught.value).startswith(f"{parameter}: ")
    # The config the parameter belongs to finds it on its own.
    for part in (config.model, config.training):
        assert (parameter in part.problems()) == (parameter in {f.name for f in dataclasses.fields(part)})


def test_absurd_layer_sizes_are_refused_before_any_memory_is_allocated() -> None:
    with pytest.raises(ConfigError) as caught:
        MLP(hidden=(10**9,))
    assert "hidden" in caught.value.problems
    with pytest.raises(ConfigError, match="weights would need about"):
        MLP(hidden=(8000, 8000))
    with pytest.raises(ConfigError, match="init"):
        MLP.from_config(ModelConfig(init="magic"))


def test_all_problems_are_reported_at_once_in_the_tables_order() -> None:
    config = RunConfig.from_values(
        dict(epochs=0, hidden=(), lr=-1.0, batch_size=0, optimizer="magic", seed=-1)
    )
    with pytest.raises(ConfigError) as caught:
        config.validate()
    problems = caught.value.problems
    assert list(problems) == ["epochs", "hidden", "lr", "batch_size", "optimizer", "seed"]
    for name in problems:
        assert f"{name}: " in str(caught.value)


def test_a_config_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        TrainConfig(epochs=0).validate()


def test_configs_round_trip_through_plain_dicts_and_refuse_unknown_or_misplaced_keys() -> None:
    config = RunConfig(
        ModelConfig(hidden=(32, 16), seed=3), TrainConfig(lr=0.05, optimizer="adam", train_size=500)
    )
    assert config.to_dict()["model"]["hidden"] == [32, 16], "JSON-ready"
    assert RunConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_dict(config.model.to_dict()) == config.model
    assert TrainConfig.from_dict(config.training.to_dict()) == config.training
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({**config.training.to_dict(), "learning_rate": 0.1})
    assert caught.value.problems == {"learning_rate": "is not a TrainConfig parameter"}
    with pytest.raises(ConfigError, match="lr: is not a ModelConfig parameter"):
        ModelConfig.from_dict({"hidden": [8], "lr": 0.1})
    with pytest.raises(ConfigError, match="must be a mapping"):
        ModelConfig.from_dict([["hidden", [8]]])
    with pytest.raises(ConfigError, match="'model' and a 'training'"):
        RunConfig.from_dict({"model": {}})


def test_one_value_per_parameter_splits_into_the_two_configs_and_joins_back() -> None:
    values = RunConfig().values() | {
        "hidden": [64],
        "init": "small",
        "seed": 11,
        "lr": 0.2,
        "train_size": 900,
    }
    config = RunConfig.from_values(values)
    assert config.model == ModelConfig(hidden=(64,), init="small", seed=11)
    assert config.training == TrainConfig(lr=0.2, train_size=900, seed=11), "the seed sets both"
    assert config.values() == values | {"hidden": (64,)}
    assert list(config.values()) == list(PARAMETERS)
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_values({"epochs": 3, "colour": "red"})
    assert caught.value.problems == {"colour": "is not a hyper-parameter"}


def test_a_network_is_built_from_its_config_and_keeps_it() -> None:
    config = ModelConfig(hidden=(24, 12), init="small", dtype="float64", seed=5)
    model = MLP.from_config(config)
    assert model.config == config
    assert model.layer_sizes == (784, 24, 12, 10) and model.dtype.name == "float64"
    assert MLP((24, 12), init="small", dtype="float64", seed=5).config == config, "the keyword form agrees"
    again = MLP.from_config(config)
    assert (model.params == again.params).all(), "the seed decides the first weights"
    assert not (model.params == MLP.from_config(dataclasses.replace(config, seed=6)).params).all()
