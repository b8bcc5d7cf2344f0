"""Robustness: fool the network on purpose, stress it with ordinary changes, and check its confidence."""

from pathlib import Path

import streamlit as st

from nn.robustness.adversarial import DEFAULT_STEPS, attack_one
from ui import cache, robustness, session
from ui.inside import DRAWN_DIGIT, digit_chart

st.title("Robustness")
active = session.require_active_model("to put to the test")
model = cache.model(active.path)
mnist = cache.mnist()
saved, _ = cache.saved_models()
by_path = {str(m.path): m for m in saved}

st.header("Adversarial examples")
st.caption(
    "Change every pixel by at most ε, each in the direction that most raises the network's loss — "
    "the direction its own backward pass gives, carried on to the input. FGSM takes one step of ε; "
    "PGD takes several smaller steps, staying within ε of the original. A change too small to see "
    "can change the answer."
)
choose_source, choose_attack, choose_goal = st.columns(3)
drawn = st.session_state.get(DRAWN_DIGIT)
sources = (["your drawing"] if drawn is not None else []) + ["a test image"]
source = choose_source.radio("Digit", sources, help="draw on the Draw page to attack your own digit")
label = None
if source == "your drawing":
    image = drawn
else:
    index = choose_source.number_input("Test image number", 0, len(mnist.test_labels) - 1, 0)
    image, label = mnist.test_images[index], int(mnist.test_labels[index])
method = choose_attack.radio("Attack", list(robustness.ATTACK_NAMES), format_func=robustness.ATTACK_NAMES.get)
steps = DEFAULT_STEPS
if method == "pgd":
    steps = choose_attack.slider("PGD steps", 1, 40, DEFAULT_STEPS)
goal = choose_goal.selectbox(
    "Push it",
    [None, *range(10)],
    format_func=lambda d: "away from the right answer" if d is None else f"toward {d}",
    help="away from the true digit (for a drawing: from the network's answer), or toward a digit you pick",
)
epsilon = st.slider("ε: how far any pixel may move (ink runs from 0 to 1)", 0.0, 0.3, 0.05, step=0.005)

outcome = attack_one(model, image, epsilon, method, target=goal, label=label, steps=steps)
original, change, adversarial = st.columns(3)
original.plotly_chart(digit_chart(outcome.original, "original"), width="stretch")
change.plotly_chart(robustness.perturbation_chart(outcome.perturbation, epsilon), width="stretch")
adversarial.plotly_chart(
    digit_chart(outcome.adversarial, f"after the attack, ε = {epsilon:g}"), width="stretch"
)
before_column, after_column, smallest_column = st.columns(3)
for column, name, probs in (
    (before_column, "Before", outcome.before),
    (after_column, "After", outcome.after),
):
    column.metric(
        name, str(probs.argmax()), f"{probs.max():.0%} confident", delta_color="off", delta_arrow="off"
    )
smallest = robustness.smallest_epsilon(active.path, image, method, goal, label, steps)
value, note = robustness.describe_smallest(smallest, goal)
smallest_column.metric("Smallest ε that works", value, note, delta_color="off", delta_arrow="off")
st.caption(
    "The middle image is the change alone, amplified so that ±ε spans the colours: red pixels got more ink, "
    "blue ones less. The smallest ε is found by bisection, to a thousandth, with the same attack."
)

st.header("Accuracy against ε")
st.caption(
    "The same attacks on 1,000 fixed test images, at every ε from 0 to 0.3, for one or two models: "
    "solid lines FGSM, dashed PGD. Compare a run trained with adversarial training (Train, More "
    "settings, Adversarial training ε) with one trained without: what it buys under attack, and "
    "what it costs at ε = 0."
)
chosen = st.multiselect(
    "Models to attack",
    list(by_path),
    default=[str(active.path)],
    max_selections=2,
    format_func=lambda p: by_path[p].label,
    key="attack_models",
)
if chosen:
    named = {
        p: f"{by_path[p].label} ({robustness.adversarial_training_of(cache.model(Path(p)))})" for p in chosen
    }
    curves = {named[p]: robustness.attack_curves(Path(p)) for p in chosen}
    st.plotly_chart(robustness.attack_chart(curves), width="stretch")
    st.caption("  \n".join(robustness.describe_attack_curves(name, c) for name, c in curves.items()))

st.header("Ordinary changes")
st.caption(
    "Accuracy on the same 1,000 test images, rotated, shifted, scaled, covered in noise, written "
    "with a thinner or thicker pen, and blurred — each at a growing strength — for up to three models."
)
compared = st.multiselect(
    "Models to compare",
    list(by_path),
    default=[str(active.path)],
    max_selections=3,
    format_func=lambda p: by_path[p].label,
    key="corruption_models",
)
if compared:
    curves = {by_path[p].label: robustness.corruption_curves(Path(p)) for p in compared}
    st.plotly_chart(robustness.corruption_chart(curves), width="stretch")
    trained = ", ".join(
        f"{by_path[p].label}: {robustness.augmentation_of(cache.model(Path(p)))}" for p in compared
    )
    st.caption(
        "What the curves show: a network trained on distorted digits (augmentation, on the Train page) "
        "degrades gracefully under the changes it trained on — its curves stay high as the digit turns, "
        "moves, grows, shrinks or changes pen, where one trained on MNIST's digits as they are falls away. "
        "Augmentation is no general armour, though: a change no training image showed, such as strong "
        "noise or heavy blur for a network that never trained on them (augmentations noise and blur), "
        f"can hurt it as much or more. ({trained}.)"
    )

st.header("Calibration")
kind, message = st.session_state.pop(robustness.NOTICE, (None, None))
if kind:
    (st.success if kind == "success" else st.error)(message)
fitted_for = active.path.stat().st_mtime
calibrated = robustness.calibration(active.path)
st.caption(
    "When the network says 90 %, is it right nine times in ten? Each bar gathers the test images "
    "it was about equally sure of and shows how many of them it got right: a calibrated network's "
    "bars reach the diagonal. The expected calibration error (ECE) is the gap, averaged over the "
    "images. Temperature scaling divides every score by one number T before the softmax: the "
    "answers stay the same, the confidence softens (T > 1) or sharpens (T < 1)."
)
st.plotly_chart(
    robustness.reliability_chart(calibrated.before, calibrated.after, calibrated.temperature), width="stretch"
)
ece_before, ece_after, fitted = st.columns(3)
ece_before.metric("ECE as trained", f"{calibrated.before.ece:.2%}")
ece_after.metric("ECE temperature scaled", f"{calibrated.after.ece:.2%}")
fitted.metric("Fitted temperature T", f"{calibrated.temperature:.2f}")
st.caption(f"T was fitted on {calibrated.validation} — never on the test set, which only judges it.")
if not calibrated.held_out:
    st.warning(
        "This model learned from every training image, so no image is left to fit T fairly: a network "
        "is surer of images it has learned than of new ones, and T fitted on them corrects too little. "
        "Train with validation images held out (on the Train page) to calibrate a model.",
        icon=":material/warning:",
    )
save_column, remove_column = st.columns(2)
save_column.button(
    f"Save T = {calibrated.temperature:.2f} with the model",
    icon=":material/thermostat:",
    disabled=not calibrated.held_out or model.temperature == calibrated.temperature,  # nothing to do
    on_click=robustness.store_temperature,
    args=(active.path, calibrated.temperature, fitted_for),
    help="writes the model file again with T in its metadata (the weights are untouched); every "
    "page then shows probabilities with it, and the ONNX export includes it",
)
if model.record.temperature is not None:
    st.info(
        f"This model is saved with temperature {model.temperature:.2f}: every page divides its scores by it.",
        icon=":material/thermostat:",
    )
    remove_column.button(
        "Remove the temperature", on_click=robustness.store_temperature, args=(active.path, None, fitted_for)
    )

st.header("Coverage against accuracy: when to say “not sure”")
st.caption(
    "A network allowed to say “not sure” below a confidence threshold answers fewer digits and gets "
    "more of those right. Pick the threshold here or on the Draw page, which then says “not sure” "
    "below it."
)
threshold = robustness.not_sure_threshold("not_sure_robustness")
curve = robustness.coverage_curve(active.path)
covered, accurate = curve.at(threshold)
st.plotly_chart(robustness.coverage_chart(curve, threshold), width="stretch")
st.caption(
    f"At {threshold:.0%} the network answers {covered:.1%} of the test digits and is right on "
    f"{accurate:.2%} of them; it says “not sure” about the other {1 - covered:.1%}."
)
