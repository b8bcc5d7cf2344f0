"""The command line's flags come from the parameter table alone: one per parameter, shaped by its kind."""

from __future__ import annotations

import argparse

import pytest

from digitlab.train import build_parser, config_from_args, parse_args
from nn.core.config import PARAMETERS, PRESETS, Kind, Parameter, RunConfig

# The argparse type each kind of parameter is read with (choices are checked by name instead).
READ_AS = {
    Kind.INT: int,
    Kind.FLOAT: float,
    Kind.WIDTHS: int,
    Kind.OPTIONAL_INT: int,
    Kind.CHOICE: None,
    Kind.COMBINATION: None,
}


def flag_of(parser: argparse.ArgumentParser, name: str) -> argparse.Action:
    return next(a for a in parser._actions if a.dest == name)


def a_new_value(spec: Parameter, value: object) -> list[str]:
    """Command-line words giving a valid value other than `value`, worked out from the table alone."""
    if spec.kind is Kind.CHOICE:
        return [next(choice for choice in reversed(spec.choices) if choice != value)]
    if spec.kind is Kind.COMBINATION:  # all but the first choice (none), joined
        return ["+".join(spec.choices[1:])]
    if spec.kind is Kind.WIDTHS:
        return [str(value[0] + int(spec.step)), "7"]
    if value is None:
        return [str(int(spec.minimum + spec.step))]
    changed = value + spec.step if value + spec.step <= spec.maximum else value - spec.step
    return [str(changed)]


@pytest.mark.parametrize("preset", [None, *PRESETS])
def test_every_parameter_has_a_flag_shaped_by_its_kind_defaulting_to_the_preset(preset: str | None) -> None:
    defaults = (PRESETS[preset] if preset else RunConfig()).values()
    parser = build_parser(PRESETS.get(preset))
    for name, spec in PARAMETERS.items():
        flag = flag_of(parser, name)
        assert flag.option_strings == ["--" + name.replace("_", "-")]
        assert flag.help.startswith(spec.help)
        assert flag.type is READ_AS[spec.kind], name
        assert flag.choices == (spec.choices if spec.kind is Kind.CHOICE else None), name
        assert (flag.nargs == "+") == (spec.kind is Kind.WIDTHS), name
        default = defaults[name]
        assert flag.default == (list(default) if spec.kind is Kind.WIDTHS else default), name
        shown = (
            spec.unset
            if default is None
            else " ".join(map(str, default))
            if spec.kind is Kind.WIDTHS
            else default
        )
        assert flag.help.endswith(f"(default: {shown})"), name


def test_each_flag_sets_its_parameter_in_the_config_or_configs_of_its_group() -> None:
    defaults = RunConfig().values()
    for name, spec in PARAMETERS.items():
        words = a_new_value(spec, defaults[name])
        config = config_from_args(parse_args(["--" + name.replace("_", "-"), *words]))
        expected = (
            tuple(map(int, words)) if spec.kind is Kind.WIDTHS else (READ_AS[spec.kind] or str)(words[0])
        )
        assert config.values()[name] == expected != defaults[name], name
        assert config.values() == defaults | {name: expected}, f"--{name} changes only {name}"
        for part in (config.model, config.training):
            if hasattr(part, name):
                assert getattr(part, name) == expected, f"{name} reaches {type(part).__name__}"
