"""The Train page's sidebar: a preset, then one control per hyper-parameter from `PARAMETERS`.

Limits and explanations come from `nn.config.PARAMETERS`, so the sidebar, the command line and
the validation always agree. Choosing a preset writes its values into the controls, which
then stay free to edit. Each control reserves a slot beneath it; once every value is read,
`TrainConfig.problems()` fills the slot of each offending control with its message, so an
invalid combination is explained where it can be fixed.
"""

from __future__ import annotations

import streamlit as st

from nn.config import MAX_LAYER_WIDTH, PARAMETERS, PRESET_DESCRIPTIONS, PRESETS, Parameter, TrainConfig

LABELS = {
    "epochs": "Epochs",
    "hidden": "Hidden layers",
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "optimizer": "Optimizer",
    "seed": "Random seed",
    "train_size": "Training images",
    "momentum": "Momentum",
    "weight_decay": "Weight decay",
    "schedule": "Learning-rate schedule",
    "init": "Weight initialisation",
    "augment": "Data augmentation",
    "val_size": "Validation images",
    "dtype": "Precision",
}
MAIN = ("epochs", "hidden", "lr", "batch_size", "optimizer", "seed", "train_size")
MAX_HIDDEN_LAYERS = 6  # a UI choice: deeper plain MLPs teach little more and train slowly here
EXTRA_LAYER_WIDTH = 32
FLOAT_STEPS = {"lr": 0.01, "momentum": 0.05, "weight_decay": 1e-4}
INT_STEPS = {"train_size": 1000, "val_size": 1000, "batch_size": 16}


DEFAULT_PRESET = "default"


def hyperparameter_sidebar() -> tuple[TrainConfig, dict[str, str]]:
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
        for name in MAIN:
            values[name] = _control(PARAMETERS[name])
            slots[name] = st.empty()
        with st.expander("More settings"):
            for name in [n for n in PARAMETERS if n not in MAIN]:
                values[name] = _control(PARAMETERS[name])
                slots[name] = st.empty()
    config = TrainConfig(**values)
    problems = config.problems()
    for name, message in problems.items():
        slots[name].error(f"{LABELS[name]} {message}", icon=":material/error:")
    return config, problems


def _preset_values(config: TrainConfig) -> dict[str, object]:
    """The session-state value of every control, for a configuration."""
    values = {f"hp_{name}": getattr(config, name) for name in PARAMETERS if name != "hidden"}
    values["hp_hidden_count"] = len(config.hidden)
    values |= {f"hp_hidden_{i}": width for i, width in enumerate(config.hidden)}
    return values


def _apply_preset() -> None:
    """On a new preset, every control takes the preset's value."""
    st.session_state.update(_preset_values(PRESETS[st.session_state.hp_preset]))


def _fill_missing(config: TrainConfig) -> None:
    # The controls read their values from session state only (never value=), so a preset can
    # rewrite them; a control seen for the first time starts at the preset's value.
    for key, value in _preset_values(config).items():
        st.session_state.setdefault(key, value)


def _control(spec: Parameter):
    label, key = LABELS[spec.name], f"hp_{spec.name}"
    if spec.choices is not None:
        return st.selectbox(label, spec.choices, help=spec.help, key=key)
    if spec.name == "hidden":
        return _hidden_layers(spec)
    if spec.name == "train_size":
        return st.number_input(
            label,
            int(spec.minimum),
            int(spec.maximum),
            step=INT_STEPS[spec.name],
            placeholder=f"all {int(spec.maximum):,}",
            help=spec.help,
            key=key,
        )
    if isinstance(spec.minimum, float):
        return st.number_input(
            label,
            spec.minimum,
            spec.maximum,
            step=FLOAT_STEPS[spec.name],
            format="%g",
            help=spec.help,
            key=key,
        )
    return st.number_input(
        label,
        int(spec.minimum),
        int(spec.maximum),
        step=INT_STEPS.get(spec.name, 1),
        help=spec.help,
        key=key,
    )


def _hidden_layers(spec: Parameter) -> tuple[int, ...]:
    count = st.number_input(
        LABELS["hidden"],
        1,
        MAX_HIDDEN_LAYERS,
        key="hp_hidden_count",
        help="how many layers sit between the 784 pixels and the 10 digit scores",
    )
    widths = []
    for i in range(int(count)):
        st.session_state.setdefault(f"hp_hidden_{i}", EXTRA_LAYER_WIDTH)
        widths.append(
            st.number_input(
                f"Layer {i + 1} width",
                1,
                MAX_LAYER_WIDTH,
                step=16,
                help=spec.help,
                key=f"hp_hidden_{i}",
            )
        )
    return tuple(int(w) for w in widths)
