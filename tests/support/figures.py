"""Reading the app's figures back as numbers, as a person reads them off the screen.

Plotly charts reach AppTest as JSON whose data arrays may be lists or base64 with a dtype;
the Train page's curves are an SVG picture, read back by its dots and its axes' tick labels.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np

from ui.curves import LEFT, RIGHT

SVG = "{http://www.w3.org/2000/svg}"


def values(encoded: list | dict) -> np.ndarray:
    """A plotly data array from a figure's JSON: a list, or base64 with dtype (and shape)."""
    if not isinstance(encoded, dict):
        return np.asarray(encoded, dtype=float)
    flat = np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])
    shape = [int(n) for n in str(encoded.get("shape", len(flat))).split(",")]
    return flat.reshape(shape)


def drawn(svg: str) -> tuple[dict[str, np.ndarray], list[tuple[str, float]], list[tuple[str, float]]]:
    """Each series' dots (x, y), and the left and right axes' tick labels with their heights."""
    root = ET.fromstring(svg)
    series = {
        g.get("data-series"): np.array(
            [(float(c.get("cx")), float(c.get("cy"))) for c in g.iter(f"{SVG}circle")]
        )
        for g in root.iter(f"{SVG}g")
    }
    ticks = [
        (t.text, float(t.get("y")) - 4, float(t.get("x")))
        for t in root.iter(f"{SVG}text")
        if "rotate" not in (t.get("transform") or "")
    ]
    left = [(label, y) for label, y, x in ticks if x < LEFT]
    right = [(label, y) for label, y, x in ticks if x > RIGHT]
    return series, left, right
