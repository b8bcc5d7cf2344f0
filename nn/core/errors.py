"""The errors `nn` raises, each one naming what went wrong and what to do about it.

Every error a person can cause (a damaged data file, a hostile model file, a nonsense
hyper-parameter, a run that blew up) has its own class, so that the command line and the app
can show the message as it is instead of a traceback from deep inside NumPy.
"""


class DigitLabError(Exception):
    """Base class: catch this to report any `nn` problem to a person."""


class DataError(DigitLabError):
    """An MNIST file is missing, truncated, corrupt or not the file it claims to be."""


class ModelFileError(DigitLabError):
    """A model file is unreadable, malformed, pickled or otherwise not a Digit Lab model."""


class OutputPathError(DigitLabError):
    """A file cannot be written where it was asked for: a missing or read-only folder, a directory."""


class ExportError(DigitLabError):
    """A model that a format cannot hold as it is (the preparation of its inputs, say)."""


class ConfigError(DigitLabError, ValueError):
    """One or more hyper-parameters are invalid.

    `problems` maps each offending parameter to its message, so a UI can show every
    message next to its own control.
    """

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{name}: {msg}" for name, msg in self.problems.items()))


class EmptyImageError(DigitLabError, ValueError):
    """The image holds no ink: there is no digit to classify."""


class ImageError(DigitLabError, ValueError):
    """An image file cannot be read or has a shape no digit can have."""
