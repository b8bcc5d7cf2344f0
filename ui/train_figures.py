"""The Train page's figures of a run: its curves, its first layer's features, its last hidden
layer's map, and the words under each.

Drawn in two places, from the same pictures and words: by the browser itself while the run trains
(`ui.live`, with no Streamlit rerun), and by Streamlit once it has ended, or where the browser
cannot ask the server (`draw`).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from nn.explain.projection import MAP_SAMPLE, LayerMap
from services.jobs import Progress

from .curves import training_curves
from .inside import feature_grid_picture
from .layer_maps import Sample, legend_html, map_picture
from .pixels import png

CURVES_CAPTION = (
    "**Loss** is the average of −log(probability the network gave the right digit): 2.3 means "
    "a blind guess among ten, 0 a certain and correct answer. **Held-out accuracy** is measured "
    "on images the network never trains on; when it stops rising while training accuracy keeps "
    "climbing, the network has started memorising instead of learning."
)
FEATURES_CAPTION = (
    "The first 64 neurons of the first layer, each one's 784 weights drawn as a 28×28 image "
    "(red: ink here excites it, blue: inhibits it). Redrawn as the run trains: watch the noise "
    "they start from turn into strokes and blobs as they learn what to look for."
)
LEGEND_HTML = legend_html()  # the colours of our own map picture


def map_heading(layer_map: LayerMap) -> str:
    return f"How {layer_map.name} sorts {MAP_SAMPLE:,} test digits"


def map_caption(layer_map: LayerMap) -> str:
    pc1, pc2 = layer_map.projection.explained[:2]
    return (
        "Each dot is a test digit, placed by what the last hidden layer makes of it (its two "
        f"principal axes: PC 1, {pc1:.0%} of the spread, left to right; PC 2, {pc2:.0%}, bottom "
        "to top), coloured by the digit it really is. Redrawn as the run trains: watch the "
        "colours gather into clusters as the layer learns to tell the digits apart. The "
        "**Inside the network** page maps every layer, and shows the image behind any dot."
    )


@dataclass(frozen=True)
class Pictures:
    """A run's figures as of one moment: the curves as SVG, the other two as PNG (None until the
    worker has sent them)."""

    curves: str
    features: bytes | None
    layer_map: bytes | None


def pictures(progress: Progress, chosen: Sample) -> Pictures:
    """Draw the run's figures; `chosen` is the map's sample (`ui.layer_maps.sample`)."""
    curves = training_curves(progress.epochs, progress.task.config.training.epochs)
    features = None if progress.features is None else png(feature_grid_picture(progress.features))
    layer_map = None if progress.layer_map is None else png(map_picture(progress.layer_map, chosen))
    return Pictures(curves, features, layer_map)


def draw(progress: Progress, chosen: Sample) -> None:
    """The figures as Streamlit elements."""
    drawn = pictures(progress, chosen)
    st.image(drawn.curves, width="stretch")
    st.caption(CURVES_CAPTION)
    if drawn.features is not None:
        st.image(drawn.features, width="stretch")
        st.caption(FEATURES_CAPTION)
    if drawn.layer_map is not None:
        st.markdown(f"**{map_heading(progress.layer_map)}**")
        st.markdown(LEGEND_HTML, unsafe_allow_html=True)
        st.image(drawn.layer_map, width="stretch")
        st.caption(map_caption(progress.layer_map))
