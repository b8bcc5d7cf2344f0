"""The Train page's sidebar: a preset, then one control per hyper-parameter from `PARAMETERS`.

Labels, steps, limits (the app's own where it offers less than the engine takes, as
`app_max_layers`) and explanations come from `nn.core.config.PARAMETERS`, and each parameter's
kind picks its control (`CONTROLS`), so the sidebar, the command line and the validation always
agree and no parameter is special-cased by name. Parameters marked `advanced` sit under
"More settings". Choosing a preset writes its values into the controls, which then stay free to
edit. Each control reserves a slot beneath it; once every value is read, `RunConfig.problems()`
fills the slot of each offending control with its message, so an invalid combination is
explained where it can be fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import streamlit as st

from nn.core.config import (
    COMBINED_BY,
    PARAMETERS,
    PRESET_DESCRIPTIONS,
    PRESETS,
    Kind,
    Parameter,
    RunConfig,
)

EXTRA_LAYER_WIDTH = 32  # the width of a layer added with the count control
LAYER_COUNT_HELP = "how many layers sit between the 784 pixels and the 10 digit scores"
DEFAULT_PRESET = "default"


def hyperparameter_sidebar() -> tuple[RunConfig, dict[str, str]]:
    """Draw the controls; return the configuration they describe and its problems."""
    values, slots = {}, {}
    with st.sidebar:
        st.header("Hyper-parameters")
        preset = st.selectbox(
            "Preset",
            list(PRESETS),
            index=list(PRESETS).index(DEFAULT_PRESET),
            format_func=str.capitalize,
            on_change=_apply_preset,
            key="hp_preset",
            help="a tried recipe to start from; every value below can still be changed",
        )
        st.caption(PRESET_DESCRIPTIONS[preset].capitalize() + ".")
        _fill_missing(PRESETS[preset])
        main, more = st.container(), st.expander("More settings")
        for spec in PARAMETERS.values():
            with more if spec.advanced else main:
                values[spec.name], slots[spec.name] = CONTROLS[spec.kind].draw(spec), st.empty()
    config = RunConfig.from_values(values)
    problems = config.problems()
    for name, message in problems.items():
        slots[name].error(f"{PARAMETERS[name].label} {message}", icon=":material/error:")
    return config, problems


def set_value(name: str, value: object) -> None:
    """Set the sidebar's control of parameter `name` (call before the sidebar is drawn: a callback)."""
    st.session_state[_key(PARAMETERS[name])] = value


def _key(spec: Parameter, part: str | int | None = None) -> str:
    """A control's session-state key: hp_<name>, and hp_<name>_<part> for a widths' parts."""
    return f"hp_{spec.name}" if part is None else f"hp_{spec.name}_{part}"


def _state(config: RunConfig) -> dict[str, object]:
    """The session-state value of every control, for a configuration."""
    state: dict[str, object] = {}
    for name, value in config.values().items():
        spec = PARAMETERS[name]
        state |= CONTROLS[spec.kind].state(spec, value)
    return state


def _apply_preset() -> None:
    """On a new preset, every control takes the preset's value."""
    st.session_state.update(_state(PRESETS[st.session_state.hp_preset]))


def _fill_missing(config: RunConfig) -> None:
    # The controls read their values from session state only (never value=), so a preset can
    # rewrite them; a control seen for the first time starts at the preset's value.
    for key, value in _state(config).items():
        st.session_state.setdefault(key, value)


def shown(spec: Parameter, value: Any) -> str:
    """A value as the app names it: a choice by its label where the table gives one ("NumPy (from
    scratch)" for numpy), any other value as a person writes it (`Parameter.show`). The session,
    the config and the command line keep the plain name; only what a person reads changes."""
    labels = spec.choice_labels or {}
    return labels[value] if value in labels else spec.show(value)


def _choice(spec: Parameter) -> str:
    return st.selectbox(
        spec.label, spec.choices, format_func=partial(shown, spec), help=spec.help, key=_key(spec)
    )


def _combination(spec: Parameter) -> str:
    """Several choices at once (none chosen: the first, "none"), joined as the config spells them."""
    nothing, *names = spec.choices
    chosen = st.multiselect(spec.label, names, help=spec.help, key=_key(spec), placeholder=nothing)
    return COMBINED_BY.join(chosen) or nothing


def _combination_keys(spec: Parameter, value: str) -> dict[str, object]:
    return {_key(spec): [] if value == spec.choices[0] else value.split(COMBINED_BY)}


def _number(spec: Parameter, number: type, **options: Any) -> Any:
    """A number box within the parameter's limits, moving by its step, holding `number`s."""
    return st.number_input(
        spec.label,
        number(spec.minimum),
        number(spec.maximum),
        step=number(spec.step),
        help=spec.help,
        key=_key(spec),
        **options,
    )


def _int(spec: Parameter) -> int:
    return _number(spec, int)


def _optional_int(spec: Parameter) -> int | None:
    """Left empty, it is None: what `spec.unset` says, e.g. "all 60,000"."""
    return _number(spec, int, placeholder=f"{spec.unset} {int(spec.maximum):,}")


def _float(spec: Parameter) -> float:
    return _number(spec, float, format="%g")


def _one_key(spec: Parameter, value: object) -> dict[str, object]:
    return {_key(spec): value}


def _widths_keys(spec: Parameter, value: tuple[int, ...]) -> dict[str, object]:
    return {_key(spec, "count"): len(value)} | {_key(spec, i): width for i, width in enumerate(value)}


def _widths(spec: Parameter) -> tuple[int, ...]:
    """A count, then one width control per layer."""
    count = st.number_input(
        spec.label, 1, spec.app_max_layers, key=_key(spec, "count"), help=LAYER_COUNT_HELP
    )
    widths = []
    for i in range(int(count)):
        st.session_state.setdefault(_key(spec, i), EXTRA_LAYER_WIDTH)
        widths.append(
            st.number_input(
                f"Layer {i + 1} width",
                int(spec.minimum),
                int(spec.maximum),
                step=int(spec.step),
                help=spec.help,
                key=_key(spec, i),
            )
        )
    return tuple(int(w) for w in widths)


@dataclass(frozen=True)
class Control:
    """The sidebar's control for one kind of parameter."""

    draw: Callable[[Parameter], Any]  # draws it; returns the value it holds
    state: Callable[[Parameter, Any], dict[str, object]]  # its session-state values showing a value


CONTROLS: dict[Kind, Control] = {
    Kind.INT: Control(_int, _one_key),
    Kind.FLOAT: Control(_float, _one_key),
    Kind.CHOICE: Control(_choice, _one_key),
    Kind.COMBINATION: Control(_combination, _combination_keys),
    Kind.WIDTHS: Control(_widths, _widths_keys),
    Kind.OPTIONAL_INT: Control(_optional_int, _one_key),
}
