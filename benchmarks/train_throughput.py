"""Training throughput (tokens/s) of the agents' models, and tiny's learning curve.

Uses the real corpus at $PROVERGYM_HOME/corpora/<task> when it exists, else a synthetic
corpus in the same schema (said so in the output: throughput depends on sequence lengths,
so figures on the two are not interchangeable). The first logged window (compilation,
allocator warm-up) is left out of the steady-state figure. On a GPU it also prints MFU
against the bf16 dense peak given by --peak-tflops.

    python3 benchmarks/train_throughput.py                 # tiny (200 steps) + small (6 steps)
    python3 benchmarks/train_throughput.py --sizes tiny --steps 100 --threads 2
    python3 benchmarks/train_throughput.py --sizes tiny --data DIR --compare-buckets

``--compare-buckets`` trains each size twice in one run, with and without length-bucketed
batches (``TrainConfig.length_buckets``), and prints the ratio of their optimizer steps per
second (same batch size, so the same number of sequences per step).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="metamath", choices=("metamath", "coq", "rewrite"))
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"])
    parser.add_argument("--steps", type=int, default=200, help="steps for tiny")
    parser.add_argument("--small-steps", type=int, default=6, help="steps for small/base")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--data", help="corpus folder (default $PROVERGYM_HOME/corpora/TASK)")
    parser.add_argument("--compare-buckets", action="store_true",
                        help="train with and without length buckets, side by side")
    parser.add_argument("--peak-tflops", type=float, default=989.0,
                        help="GPU bf16 dense peak for MFU (H100 SXM: 989)")
    args = parser.parse_args()

    import torch

    from agents.model import build_model, flops_per_token, get_size
    from agents.synthetic import build_corpus
    from agents.train import read_log, resolve_config, train
    from provergym.paths import provergym_home

    work = Path(tempfile.mkdtemp(prefix="train-throughput-"))
    data = Path(args.data) if args.data else provergym_home() / "corpora" / args.task
    if data.exists():
        source = f"real corpus {data}"
    else:
        data = build_corpus(args.task, work / "corpus", sizes=(4000, 200, 200), seed=0)
        source = "SYNTHETIC corpus (real one not built)"
    device = "cuda" if torch.cuda.is_available() else f"cpu, {args.threads} thread(s)"
    print(f"task {args.task}, {source}; device {device}; torch {torch.__version__}")

    rates: dict[tuple[str, bool], float] = {}
    variants = [True, False] if args.compare_buckets else [True]
    for size, buckets in [(size, b) for size in args.sizes for b in variants]:
        steps = args.steps if size == "tiny" else args.small_steps
        name = f"{size}-{'buckets' if buckets else 'random'}"
        overrides = {"data_dir": str(data), "out_dir": str(work / name), "steps": steps,
                     "log_every": max(1, steps // 10), "eval_every": 10**9,
                     "save_every": 10**9, "progress": False, "cpu_threads": args.threads,
                     "length_buckets": buckets}
        if size != "tiny" and not torch.cuda.is_available():
            overrides["batch_size"] = 8  # a few seconds per step on a CPU
        config = resolve_config(args.task, size, overrides)
        started = time.perf_counter()
        result = train(config)
        wall = time.perf_counter() - started
        windows = [r["tokens_per_second"] for r in read_log(config.out_dir)]
        steady = statistics.median(windows[1:]) if len(windows) > 1 else windows[0]
        times = [r["time"] for r in read_log(config.out_dir)]
        rate = ((len(times) - 1) * config.log_every / (times[-1] - times[0])
                if len(times) > 1 else float("nan"))
        rates[(size, buckets)] = rate
        line = (f"{name:>13}: {result.parameters / 1e6:6.2f}M parameters, batch "
                f"{config.batch_size}x{config.grad_accum}, {steps} steps in {wall:.1f}s "
                f"(with tokenizer and data prep), steady {steady:,.0f} tokens/s, "
                f"{rate:.2f} steps/s")
        if torch.cuda.is_available():
            model = build_model(size, 8192, 0, 1)
            flops = flops_per_token(model, get_size(size).context)
            line += f", MFU {100 * steady * flops / (args.peak_tflops * 1e12):.1f}%"
        print(line)
        if size == "tiny":
            curve = read_log(config.out_dir)
            print("  learning curve (step: loss): " +
                  ", ".join(f"{r['step']}: {r['loss']:.3f}" for r in curve))
    if args.compare_buckets:
        for size in args.sizes:
            print(f"{size}: length buckets give {rates[(size, True)] / rates[(size, False)]:.2f}x"
                  " the optimizer steps per second of random batches")
    print(f"runs in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
