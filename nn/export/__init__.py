"""Taking a model out of Digit Lab, into other tools' formats.

Each format is a module of its own that imports its library at the top (`to_onnx`: onnx), so
nothing else in `nn` needs that library and only a caller that exports pays for loading it.

May import: NumPy, the standard library, `nn.core`, and each its own format's library.
"""
