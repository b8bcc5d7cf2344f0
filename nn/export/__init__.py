"""Taking a model out of Digit Lab, into other tools' formats.

Each format is a module of its own that imports its library at the top (`to_onnx`: onnx), so
nothing else in `nn` needs that library and only a caller that exports pays for loading it.

A model that deskews its inputs (`MLP.prepare`) is refused by every format, in words: neither
graph can hold a warp that depends on the image, and a file that reads raw pixels would give
other answers than the model. `exportable` says so before any work.

May import: NumPy, the standard library, `nn.core`, and each its own format's library.
"""

from nn.core.errors import ExportError
from nn.core.network import MLP


def exportable(model: MLP, format_name: str) -> None:
    """Raise `ExportError` if `model` cannot be written as `format_name` and mean the same."""
    if model.deskews:
        raise ExportError(
            f"this model deskews every image before reading it, which {format_name} cannot do: "
            "exported, it would read raw pixels and give other answers. Export a model without deskewing."
        )
