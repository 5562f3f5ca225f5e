"""Which priority should order the search's frontier after expert iteration?

Runs one round's model (``provergym iterate``'s ``round-R/model``) on that run's fixed valid
sample, at its budget and time limit, once per priority:

- ``logprob``: the cumulative log-probability of the path (GPT-f before iterating);
- ``value``: the value alone, ``log p(provable)`` (GPT-f after iterating);
- ``mix``: their sum (``--mix-weight`` times the value).

and prints the pass rates with 95% CIs and each pair's exact McNemar test on the same
statements. Valid statements only: the choice of default is made here, never on test.
Each priority's results go to ``<rounds>/priority-R/<name>/`` and resume after a kill.

    python3 benchmarks/iterate_priority.py /work/runs/iter-a --round 1 --jobs 2
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from provergym.bench.iterate import (
    IterateConfig,
    _split_names,
    bench_round,
    search_config,
    valid_statements,
)
from provergym.bench.summary import mcnemar_p, wilson_interval
from provergym.search.result import PROVED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", help="a `provergym iterate` output folder")
    parser.add_argument("--round", type=int, default=None,
                        help="whose model (default: the last finished round)")
    parser.add_argument("--mix-weight", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    root = Path(args.rounds)
    recorded = json.loads((root / "config.json").read_text())
    finished = sorted(int(p.parent.name.split("-")[1]) for p in root.glob("round-*/summary.json"))
    number = args.round if args.round is not None else max(finished)
    if number not in finished:
        raise SystemExit(f"{root}: round {number} is not finished (finished: {finished})")
    model = str(root / f"round-{number}" / "model") if number else recorded["model"]
    config = IterateConfig(**{**recorded, "jobs": args.jobs,
                              "progress": not args.no_progress})
    theorems = valid_statements(config)
    train = tuple(_split_names(IterateConfig(**{**recorded, "first": 0}), "train"))
    priorities = {
        "logprob": {"value_weight": 0.0, "logprob_weight": 1.0},
        "value": {"value_weight": 1.0, "logprob_weight": 0.0},
        "mix": {"value_weight": args.mix_weight, "logprob_weight": 1.0},
    }
    proved: dict[str, set[str]] = {}
    for name, weights in priorities.items():
        out = root / f"priority-{number}" / name
        lines = bench_round(config, model, theorems, out, train,
                           search=search_config(config, **weights))
        proved[name] = {line["theorem"] for line in lines
                        if line["result"]["status"] == PROVED}

    count = len(theorems)
    print(f"round {number}'s model on {count} valid statements, budget {config.budget}, "
          f"{config.candidates} candidates, {config.time_limit:g} s each")
    print("| priority | proved | rate (95% CI) |\n|---|---|---|")
    for name in priorities:
        low, high = wilson_interval(len(proved[name]), count)
        print(f"| {name} | {len(proved[name])}/{count} | {100 * len(proved[name]) / count:.1f}% "
              f"({100 * low:.1f}-{100 * high:.1f}%) |")
    print("\n| pair | only first | only second | McNemar p |\n|---|---|---|---|")
    for first, second in itertools.combinations(priorities, 2):
        only_a = len(proved[first] - proved[second])
        only_b = len(proved[second] - proved[first])
        print(f"| {first} vs {second} | {only_a} | {only_b} | {mcnemar_p(only_a, only_b):.3f} |")


if __name__ == "__main__":
    main()
