"""Step by step: one digit through the active network, every number shown, then one step of learning."""

import numpy as np
import streamlit as st

from nn.explain.stepwise import largest_changes, neuron_sum, softmax_steps, trace
from ui import cache, session, stepwise
from ui.inside import DRAWN_DIGIT, digit_chart

CHECK_SEED = "step_check_seed"

st.title("Step by step")
active = session.require_active_model("to take apart")
model = cache.model(active.path)
mnist = cache.mnist()
st.caption(
    "One digit goes through the active network, layer by layer: each formula beside the real "
    "numbers it produces. Then the error flows back, and one step of learning changes the "
    "weights — on a scratch copy, never on the saved model."
)

# -- the input ---------------------------------------------------------------------------------
choose_source, choose_detail = st.columns(2)
source = choose_source.radio("Input", stepwise.available_sources(), horizontal=True)
if source == "your drawing":
    drawn = st.session_state[DRAWN_DIGIT]
    label = choose_detail.selectbox(
        "It is really a…", list(range(10)), index=model.predict(drawn), help="the true digit, y"
    )
    example = stepwise.Example(drawn, label, "Your drawing")
elif source == "a test image":
    index = choose_detail.number_input("Test image number", 0, len(mnist.test_labels) - 1, 0)
    example = stepwise.test_example(mnist, index)
else:
    model_key, chosen = st.session_state.get(stepwise.MISTAKE, (None, None))
    another = choose_detail.button("Another mistake", icon=":material/shuffle:")
    if another or chosen is None or model_key != str(active.path):  # a mistake of this model
        test = cache.test_predictions(active.path)
        chosen = stepwise.random_mistake(test.predicted, test.labels, np.random.default_rng())
        st.session_state[stepwise.MISTAKE] = (str(active.path), chosen)
    if chosen is None:
        st.info("This network classifies every test image correctly.", icon=":material/info:")
        st.stop()
    example = stepwise.test_example(mnist, chosen, "Mistake: test image")

traced = trace(model, example.image, example.label)

# -- 1. input ------------------------------------------------------------------------------------
st.header("1 · Input")
picture, values = st.columns([1, 2])
picture.plotly_chart(digit_chart(example.image, f"{example.title} (a {example.label})"), width="stretch")
with values:
    st.latex(r"x \in [0, 1]^{784}")
    pixels = stepwise.strip_chart({"x": traced.image}, "the 784 pixels, row after row")
    st.plotly_chart(pixels, width="stretch")
    st.caption(
        f"The network reads the image as one row of 784 numbers, 0 for black and 1 for full ink: "
        f"{np.count_nonzero(traced.image)} of them carry ink here. Hover for each exact value."
    )

# -- 2. hidden layers ----------------------------------------------------------------------------
st.header("2 · Hidden layers")
chosen_neurons = []
for i, step in enumerate(traced.hidden):
    width = len(step.z)
    st.subheader(f"Hidden layer {i + 1}: {width} units")
    st.latex(stepwise.layer_formula(i, last=False))
    st.plotly_chart(
        stepwise.strip_chart({"z": step.z, "a = ReLU(z)": step.a}, f"all {width} units: z, then ReLU(z)"),
        width="stretch",
    )
    fire, pick = st.columns([1, 2])
    firing = f"{np.count_nonzero(step.a)} of {width}"
    fire.metric(
        "Units that fire (a > 0)", f"{step.firing_share:.0%}", firing, delta_color="off", delta_arrow="off"
    )
    neuron = pick.number_input(
        f"Neuron of hidden layer {i + 1} to spell out",
        0,
        width - 1,
        int(np.argmax(step.a)),
        help="starts at the unit that fires most for this digit",
    )
    chosen_neurons.append(neuron)
    spelled = neuron_sum(model, traced, i, neuron, top=stepwise.TOP_TERMS)
    st.latex(stepwise.neuron_latex(spelled))
    st.dataframe(stepwise.terms_table(spelled), hide_index=True)

# -- 3. output ------------------------------------------------------------------------------------
st.header("3 · Output")
last = len(traced.layers) - 1
st.latex(stepwise.layer_formula(last, last=True))
st.plotly_chart(stepwise.strip_chart({"z": traced.output.z}, "the 10 logits, digit 0 to 9"), width="stretch")
steps = softmax_steps(traced.output.z)
st.latex(stepwise.softmax_latex(steps, example.label))
st.dataframe(stepwise.softmax_table(steps), hide_index=True)
answer, confidence, loss = st.columns(3)
answer.metric("Prediction", str(traced.predicted))
confidence.metric(f"p(true digit {example.label})", f"{traced.probabilities[example.label]:.4%}")
loss.metric("Loss −log p", f"{traced.loss:.6g}")
st.caption(
    "Softmax subtracts the largest logit first so that no exponential can overflow; it changes "
    "nothing else, since the same factor cancels above and below the line."
)

# -- 4. backward -----------------------------------------------------------------------------------
st.header("4 · Backward: the error flows back")
st.latex(rf"\delta^{{(\mathrm{{out}})}} = p - \mathrm{{onehot}}({example.label})")
st.dataframe(stepwise.output_delta_table(traced), hide_index=True)
st.caption(
    "δ is dL/dz: how much the loss would change per unit of each z. At the output it is simply "
    "the probabilities minus 1 at the true digit: push the true digit's logit up, the others down."
)
for i in reversed(range(len(traced.hidden))):
    step = traced.hidden[i]
    st.latex(stepwise.hidden_delta_formula(i))
    st.plotly_chart(
        stepwise.strip_chart({"δ": step.delta}, f"hidden layer {i + 1}: δ of all {len(step.delta)} units"),
        width="stretch",
    )
neuron = chosen_neurons[0]
delta = float(traced.hidden[0].delta[neuron])
gradient, meaning = st.columns([1, 2])
gradient.plotly_chart(
    stepwise.gradient_image_chart(traced.hidden[0].weight_gradient[:, neuron], neuron, delta), width="stretch"
)
with meaning:
    st.latex(
        rf"\frac{{\partial L}}{{\partial W^{{(1)}}_{{i,{neuron}}}}} = x_i\,\delta^{{(1)}}_{{{neuron}}}"
        rf" = x_i \times {stepwise.number(delta)}"
    )
    st.caption(
        f"The gradient of neuron {neuron}'s 784 weights is **the input image scaled by that neuron's "
        f"error** δ = {delta:.4g}: only pixels with ink get a gradient, in proportion to their ink. "
        + (
            "This neuron did not fire (z ≤ 0), so its δ is 0 and none of its weights would change."
            if delta == 0
            else "A step moves these weights against it, towards a lower loss."
        )
    )

# -- 5. update -------------------------------------------------------------------------------------
st.header("5 · Update: take a step")
current = stepwise.scratch(model, active.path)
rate, one, ten, back = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
lr = rate.number_input(
    "Learning rate η",
    0.00001,
    10.0,
    0.001,
    step=0.001,
    format="%.5f",
    help="one image is a steep slope: try 0.001 first, then 0.01 to see it jump",
)
one.button("Take one step", on_click=stepwise.take_steps, args=(current, example, lr, 1))
ten.button("Take 10 steps", on_click=stepwise.take_steps, args=(current, example, lr, 10))
back.button("Reset", on_click=stepwise.reset, args=(model, active.path))
st.latex(r"W \leftarrow W - \eta\,\frac{\partial L}{\partial W},\qquad b \leftarrow b - \eta\,\delta")
after = trace(current.model, example.image, example.label)
y = example.label
before_loss, after_loss, before_p, after_p = st.columns(4)
before_loss.metric("Loss, saved network", f"{traced.loss:.6g}")
after_loss.metric(
    f"Loss after {current.steps} step{'s' * (current.steps != 1)}",
    f"{after.loss:.6g}",
    f"{after.loss - traced.loss:+.6g}",
    delta_color="inverse",
)
before_p.metric(f"p({y}), saved network", f"{traced.probabilities[y]:.4%}")
after_p.metric(
    f"p({y}) after your steps",
    f"{after.probabilities[y]:.4%}",
    f"{100 * (after.probabilities[y] - traced.probabilities[y]):+.4f} points",
)
st.plotly_chart(stepwise.before_after_chart(traced.probabilities, after.probabilities, y), width="stretch")
st.caption(
    "A step is −η × the gradient, and every gradient is proportional to δ = p − onehot(y). For "
    "a digit the network is already sure of, δ is tiny and the step barely moves anything: pick "
    "a mistake, or say your drawing is another digit, to see a large step. On one image even a "
    "small η goes far: the first layer's gradient is the whole image times δ."
)
if current.steps:
    st.subheader("The weights that changed most")
    st.dataframe(stepwise.changes_table(largest_changes(model, current.model, stepwise.CHANGES_SHOWN)))
    st.caption(
        "Each step moves every weight by −η × its gradient. Take 10 steps to watch the network "
        "memorise this one image — and remember it is a copy: Reset returns to the saved weights, "
        "which never changed. Steps accumulate across inputs until you reset."
    )

# -- 6. check ---------------------------------------------------------------------------------------
st.header("6 · Check: is backprop right?")
seed = st.session_state.get(CHECK_SEED, 0)
checks = stepwise.gradient_check(current.model, example, seed)
st.dataframe(stepwise.gradient_check_table(checks), hide_index=True)
st.button(
    "Check other weights",
    on_click=lambda: st.session_state.update({CHECK_SEED: seed + 1}),
    icon=":material/casino:",
)
st.caption(
    "For a few random weights of the network as it is now, backprop's dL/dw beside the "
    "definition of a derivative: nudge the weight by h = 10⁻⁶ either way and see how the loss "
    "moves, all in float64. A relative error near 10⁻⁸ or below means the two agree to "
    "rounding: the chain rule was applied correctly. An error in backprop — a missing term, a "
    "wrong transpose — would show as an error near 1. Gradients below 10⁻⁴ (not resolvable) "
    "are too small for the finite difference to check finely: the loss is rounded to 10⁻¹⁶, "
    "so there rounding alone gives errors of 10⁻⁶ to 10⁻⁴."
)

# -- 7. the same step in TensorFlow ------------------------------------------------------------------
st.header("7 · The same step in TensorFlow")
st.caption(
    "Section 4 computed every gradient by hand: the chain rule, layer by layer, written in NumPy. "
    "A framework does it by **automatic differentiation**: TensorFlow's `GradientTape` records the "
    "forward pass and plays it backwards. Here it computes the gradients of this digit's loss for "
    "the same network and weights, in a process of its own, so the two can be set side by side."
)
comparison = stepwise.tensorflow_comparison(model, active.path, example)
if comparison is not None:
    tensorflow_code, numpy_code = st.columns(2)
    tensorflow_code.markdown("**TensorFlow**: the function that ran")
    tensorflow_code.code(comparison.code, language="python")
    numpy_code.markdown("**NumPy, by hand**: `nn.core`'s backward pass, from its source")
    numpy_code.code(stepwise.numpy_gradient_code(), language="python")
    difference, relative = st.columns(2)
    difference.metric("Largest difference, TensorFlow − NumPy", f"{comparison.largest_difference:.3g}")
    relative.metric("Relative to the largest gradient", stepwise.relative_difference(comparison))
    st.caption(
        f"Computed by {comparison.device}. Both engines compute in the model's "
        f"{model.dtype.name}, with about {np.finfo(model.dtype).precision} significant digits, and "
        "round differently. Where the network is sure of a digit, p is close to 1 and the output's "
        "δ = p − 1 keeps only the digits in which p differs from 1: then the two answers can part "
        "in their third digit. On a digit the network finds hard (try a random mistake) they agree "
        "to about a millionth of the largest gradient."
    )
