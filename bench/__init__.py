"""Side-by-side benchmarks of `nn/` against PyTorch, Keras and the classic from-scratch code.

`python -m bench.compare --help` for the options; `bench/RESULTS.md` for the last full run.
"""
