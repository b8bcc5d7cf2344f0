"""Digit Lab's command line: `python -m digitlab VERB …`, or `digitlab VERB …` once installed.

The front ends on top of every other layer: each verb is a module here with a `main(argv)`
that returns the exit status, and imports what it needs from the engine (`nn`) and the
services. Nothing below imports this package.
"""
