"""Inside the network: what the first layer looks for, what fires for one digit, and why."""

import streamlit as st

from nn.explain.inside import (
    activation_distributions,
    activations,
    first_layer_features,
    initial_model,
    layer_names,
    weight_distributions,
)
from nn.explain.projection import place
from nn.explain.saliency import saliency
from ui import cache, charts, layer_maps, session
from ui.inside import (
    DRAWN_DIGIT,
    activations_chart,
    digit_chart,
    distribution_chart,
    feature_grid_chart,
    saliency_chart,
)
from ui.pixels import enlarge

SAMPLE = 500  # test images whose activations make the distributions

st.title("Inside the network")
active = session.active_model()
if active is None:
    st.info("There is no model to look inside yet: train one on the Train page.", icon=":material/info:")
    st.stop()
model = cache.model(active.path)
mnist = cache.mnist()

st.header("What the first layer looks for")
st.caption(
    "Each square is one neuron of the first hidden layer: its 784 weights laid out as the 28×28 "
    "image they multiply. Red pixels excite the neuron when there is ink on them, blue ones "
    "inhibit it — so a neuron fires for digits that cover its red and avoid its blue. A network "
    "that has not trained yet shows noise; watch strokes and blobs appear as it learns."
)
width = model.layer_sizes[1]
shown = width
if width > 16:
    shown = st.slider("Neurons shown", 16, min(width, 256), min(width, 128), step=16)
st.plotly_chart(feature_grid_chart(first_layer_features(model)[:shown]), width="stretch")

st.header("One digit, layer by layer")
choose_source, choose_image, choose_rival = st.columns(3)
sources = (["your drawing"] if st.session_state.get(DRAWN_DIGIT) is not None else []) + ["a test image"]
source = choose_source.radio("Digit", sources, help="draw on the Draw page to look at your own digit")
if source == "your drawing":
    image = st.session_state[DRAWN_DIGIT]
else:
    index = choose_image.number_input("Test image number", 0, len(mnist.test_labels) - 1, 0)
    image = mnist.test_images[index]

explained = saliency(model, image)
others = [d for d in range(10) if d != explained.predicted]
versus = choose_rival.selectbox(
    f"Why {explained.predicted} and not…",
    others,
    index=others.index(explained.runner_up),
    help="the runner-up (the second most probable digit) is chosen at first",
)
if versus != explained.runner_up:
    explained = saliency(model, image, versus=versus)
seen, why, answer = st.columns(3)
seen.plotly_chart(digit_chart(image, "what the network sees"), width="stretch")
why.plotly_chart(saliency_chart(explained), width="stretch")
answer.plotly_chart(charts.probability_chart(explained.probabilities), width="stretch")
st.caption(
    f"**Saliency** (gradient × input): how much each pixel's ink moved the score of "
    f"{explained.predicted} above that of {explained.runner_up}, computed by the network's own "
    "backward pass. Red ink argued for the prediction, blue ink for the other digit."
)
hidden = activations(model, image)[:-1]
st.plotly_chart(activations_chart(hidden, layer_names(model)[:-1]), width="stretch")
st.caption(
    "Every bar is one neuron's output after its ReLU. Most stay at zero for any one digit: each "
    "layer describes the digit with the few features that are present in it."
)

st.header("How the layers sort the digits")
st.caption(
    "Each dot is one of 2,000 test digits, placed by what a layer makes of it: the layer's "
    "activations, flattened to the two directions in which they vary most (PCA). Digits the "
    "layer tells apart land apart. Raw pixels mix them; each trained layer sorts them better. "
    "**Click a dot** to see its digit."
)
maps = layer_maps.maps(model)
before = initial_model(model)  # rebuilt from its seed; None if the file does not say how
drawn = st.session_state.get(DRAWN_DIGIT)
stars = place(model, maps.after, drawn) if drawn is not None else None
stars_before = place(before, maps.before, drawn) if drawn is not None and before is not None else None
st.plotly_chart(layer_maps.separation_chart(maps), width="stretch")
st.caption(
    "Separation: how often a dot's 5 nearest neighbours in the map are mostly the same digit as "
    "itself (100 %: every digit in its own cluster; about 10 %: no better than chance)."
)
names = [m.name for m in maps.after]
shown = st.radio("Map of", names, index=len(names) - 2, horizontal=True)
layer = names.index(shown)
chosen = layer_maps.sample(mnist)
clicked = st.session_state.get(layer_maps.CLICKED)
trained_map, untrained_map, picked = st.columns([5, 5, 2])
panels = [
    (trained_map, "after training", maps.after, stars),
    (untrained_map, "before training", maps.before, stars_before),
]
for column, when, layer_list, placed in panels:
    if layer_list is None:
        column.info("This model's file does not say how it was initialised: no map before training.")
        continue
    key = f"map_{when.split()[0]}"
    column.plotly_chart(
        layer_maps.map_chart(
            layer_list[layer],
            chosen,
            f"{when}: {layer_list[layer].separation:.0%} separated",
            star=None if placed is None else placed[layer],
            clicked=clicked,
        ),
        width="stretch",
        key=key,
        on_select=lambda key=key: layer_maps.remember_click(key),
        selection_mode="points",
    )
if clicked is not None:
    caption = f"Test image #{clicked}: a {mnist.test_labels[clicked]}"
    picked.image(enlarge(mnist.test_images[clicked], 4), caption=caption)
else:
    picked.caption("Click a dot to see its digit here.")

st.header("Weights and activations, before and after training")
if before is None:
    st.info(
        "This model's file does not say how it was initialised, so its untrained state cannot be "
        "recreated for comparison.",
        icon=":material/info:",
    )
    st.stop()
st.caption(
    "Grey: the same network as initialised, before its first step (recreated from its seed). "
    "Colour: after training. Weights spread out as neurons specialise; activations show how many "
    f"neurons stay silent (at zero) for {SAMPLE} test digits."
)
st.plotly_chart(distribution_chart(weight_distributions(before, model), "weights"), width="stretch")
sample = mnist.test_images[:SAMPLE]
st.plotly_chart(
    distribution_chart(activation_distributions(before, model, sample), "activations"), width="stretch"
)
