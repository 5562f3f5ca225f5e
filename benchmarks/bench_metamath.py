"""Pass rate on set.mm's held-out test theorems: search with the model next to the
baselines (metamath-exe ``improve``, the frequency and uniform policies), same theorems,
same budget. A thin front to ``provergym bench`` with the settings we report.

    python3 benchmarks/bench_metamath.py [--model RUN] [--limit 100] [--budget 32] [--first N]
"""

from __future__ import annotations

import argparse
import sys

from provergym.cli import main as provergym


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained run folder (adds the model method)")
    parser.add_argument("--limit", type=int, default=100, help="fixed sample of test theorems")
    parser.add_argument("--budget", type=int, default=32, help="expansions per theorem")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--first", type=int, default=0, help="only among set.mm's first N $p")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="bench-out/metamath")
    parser.add_argument("--improve-seconds", type=float, default=10.0)
    args = parser.parse_args()
    argv = ["bench", "--backend", "metamath", "--split", "test", "--limit", str(args.limit),
            "--budget", str(args.budget), "--candidates", str(args.candidates),
            "--jobs", str(args.jobs), "--out", args.out, "--first", str(args.first),
            "--improve-seconds", str(args.improve_seconds), "--no-progress"]
    methods = ["frequency", "uniform", "improve"] + (["model"] if args.model else [])
    for method in methods:
        argv += ["--method", method]
    if args.model:
        argv += ["--model", args.model]
    return provergym(argv)


if __name__ == "__main__":
    sys.exit(main())
