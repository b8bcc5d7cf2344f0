"""One benchmark run in a process of its own, reported as one line of JSON on stdout.

`compare` starts a fresh interpreter for every run, so that each framework's libraries, thread
pools and memory are its own: the peak resident set size reported here is that process's whole
footprint (interpreter, libraries, data and training), and no framework's threads compete with
another's. The thread count comes from the environment, set by `compare` before NumPy, PyTorch
or TensorFlow start their pools.

    python -m bench.worker nn --batch-size 64 --epochs 2 --train-size 60000 --lr 0.05 --threads 2
    python -m bench.worker floor --batch-size 1024 --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from dataclasses import asdict


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("contender")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=60_000)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    if args.contender == "floor":
        from .floor import gemm_rate, products_seconds
        from .frameworks import LAYER_SIZES, MNIST_TRAIN

        products = products_seconds(LAYER_SIZES, args.batch_size, MNIST_TRAIN)
        print(json.dumps({"gemm_flops_per_second": gemm_rate(), "products_seconds": products}))
        return 0

    from nn.core.data import load_mnist

    from .frameworks import CONTENDERS, Job

    run, _ = CONTENDERS[args.contender]
    job = Job(args.contender, args.batch_size, args.epochs, args.lr, args.train_size, args.threads)
    try:
        outcome = run(job, load_mnist())
    except ImportError as exc:
        print(json.dumps({"missing": str(exc)}))
        return 0
    print(json.dumps({**asdict(outcome), "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
