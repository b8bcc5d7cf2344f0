"""`python -m digitlab train|predict|sweep|export …`: one command, a verb per front end.

Each verb's module is imported only when it is asked for, so `digitlab predict` never loads
Dask or ONNX, and `digitlab --help` loads nothing but this file.
"""

from __future__ import annotations

import importlib
import sys

VERBS: dict[str, str] = {
    "train": "train a network on MNIST and report every epoch",
    "predict": "classify image files of single digits with a saved model",
    "sweep": "train one run per combination of hyper-parameter values, and rank them",
    "export": "write a saved model as ONNX",
}


def usage() -> str:
    lines = ["usage: python -m digitlab VERB [options]   (VERB --help for its options)", "", "verbs:"]
    lines += [f"  {verb:<8} {text}" for verb, text in VERBS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        print(f"{usage()}\n\nerror: unknown verb {verb!r}", file=sys.stderr)
        return 2
    return importlib.import_module(f"digitlab.{verb}").main(rest)


if __name__ == "__main__":
    sys.exit(main())
