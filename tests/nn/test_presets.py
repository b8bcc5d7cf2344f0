"""Named presets: valid configurations, in the command line with flags overriding them."""

from __future__ import annotations

import pytest

from digitlab.train import config_from_args, main, parse_args
from nn import MLP, load_model
from nn.core.config import PRESET_DESCRIPTIONS, PRESETS, REPRODUCTIONS, RunConfig
from nn.engines import start_training
from tests.support.app_driver import SHIPPED_MODEL as SHIPPED


def test_presets_are_valid_and_described() -> None:
    assert list(PRESETS) == ["classic", "default", "best", "shipped", *REPRODUCTIONS]
    assert set(PRESET_DESCRIPTIONS) == set(PRESETS)
    for name, config in PRESETS.items():
        assert isinstance(config, RunConfig) and config.validate() is config, name
        assert config.model.seed == config.training.seed, "one seed, as the sidebar and the CLI set it"
        assert PRESET_DESCRIPTIONS[name].strip(), name


def test_each_preset_is_the_recipe_it_claims() -> None:
    classic, default, best = (PRESETS[name].values() for name in ("classic", "default", "best"))
    recipe = ("hidden", "batch_size", "optimizer", "init", "epochs")
    assert tuple(classic[name] for name in recipe) == (
        (128, 64),
        1,
        "sgd",
        "small",
        20,
    )
    assert classic["schedule"] == "constant" and classic["augment"] == "none"
    assert (default["init"], default["optimizer"], default["schedule"]) == ("he", "momentum", "cosine")
    assert default["batch_size"] > 1  # mini-batches
    assert config_from_args(parse_args([])) == PRESETS["default"], "no preset asked for: the default"
    assert best["augment"] != "none"
    assert min(best["hidden"]) > max(default["hidden"])
    assert MLP.from_config(PRESETS["shipped"].model).params.nbytes < 20_000_000  # a model file up to 20 MB
    shipped = load_model(SHIPPED)
    assert shipped.config == PRESETS["shipped"].model, "the shipped model's recipe"
    assert shipped.record.training == PRESETS["shipped"].training
    assert not shipped.deskews, "it exports to ONNX and Keras"
    assert MLP.from_config(PRESETS["best"].model).params.nbytes < 20_000_000  # a model file up to 20 MB
    for config in PRESETS.values():  # the presets train on all of MNIST and report test accuracy
        assert config.training.train_size is None and config.training.val_size == 0


def test_each_reproduction_is_the_papers_network_and_says_both_errors() -> None:
    shapes = {"lecun-300-100": (300, 100), "lecun-300-deskew": (300,), "simard-800-elastic": (800,)}
    for name, reproduction in REPRODUCTIONS.items():
        assert PRESETS[name].model.hidden == shapes[name]
        assert 0 < reproduction.measured_error < 10, "measured here, one run, seed 0"
        description = PRESET_DESCRIPTIONS[name]
        assert f"{reproduction.published_error:g} % test error published" in description
        assert f"{reproduction.measured_error:.2f} % here" in description
    assert PRESETS["lecun-300-deskew"].model.prepare == "deskew"
    assert PRESETS["simard-800-elastic"].training.augment == "elastic"


def test_cli_preset_sets_the_defaults_and_flags_override_them() -> None:
    args = parse_args(["--preset", "best", "--epochs", "2", "--lr", "0.01"])
    config = config_from_args(args)
    best = PRESETS["best"]
    assert (config.training.epochs, config.training.lr) == (2, 0.01)
    assert config.model == best.model
    assert (config.training.augment, config.training.batch_size) == ("elastic", best.training.batch_size)
    assert parse_args(["--epochs", "3", "--preset", "classic"]).batch_size == 1  # any order
    assert parse_args([]).batch_size == RunConfig().training.batch_size


def test_cli_rejects_an_unknown_preset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--preset", "fastest"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'fastest'" in capsys.readouterr().err


def test_cli_trains_the_classic_preset_with_overrides(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "classic.npz"
    status = main(["--preset", "classic", "--train-size", "300", "--epochs", "1", "--save", str(path)])
    assert status == 0
    assert "epoch 1/1" in capsys.readouterr().out
    model = load_model(path)
    training = model.record.training
    assert (training.batch_size, training.optimizer, model.config.init) == (1, "sgd", "small")
    assert (training.epochs, training.train_size) == (1, 300)


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("classic", {"train_size": 5000, "epochs": 2}),
        ("best", {"train_size": 5000, "epochs": 2}),
        ("shipped", {"train_size": 5000, "epochs": 2}),
        *((name, {"train_size": 5000, "epochs": 2}) for name in REPRODUCTIONS),
    ],
)
def test_preset_learns_in_a_short_run(mnist, name: str, changes: dict) -> None:
    """Each preset's optimizer, learning rate and initialisation get going on a small subset.

    The classic recipe starts slowly (small weights pass little signal), so this is where a
    learning rate that is too small, or one that diverges, shows up.
    """
    config = RunConfig.from_values(PRESETS[name].values() | changes)
    run = start_training(config, mnist)
    for _ in run.events():
        pass
    assert run.model.record.test_accuracy > 0.75, name
