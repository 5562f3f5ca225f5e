"""Pass rates with Wilson 95% confidence intervals, times, and pass rate against budget."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from provergym.search.result import CHECK_FAILED, PROVED

Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (sound near 0 and 1)."""
    if trials <= 0:
        return (0.0, 0.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar test: the chance, if two methods were equally good, of a
    split of their discordant theorems (proved by one only) at least this uneven."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each pair of methods, on the theorems both attempted: how many only the first
    proves, how many only the second, and the exact McNemar p-value of that split (a
    comparison on the same theorems is sharper than two overlapping intervals)."""
    proved: dict[str, dict[str, bool]] = {}
    for line in lines:
        proved.setdefault(line["method"], {})[line["theorem"]] = (
            line["result"]["status"] == PROVED)
    out = []
    names = list(proved)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = proved[a].keys() & proved[b].keys()
            only_a = sum(1 for t in common if proved[a][t] and not proved[b][t])
            only_b = sum(1 for t in common if proved[b][t] and not proved[a][t])
            out.append({"a": a, "b": b, "theorems": len(common), "only_a": only_a,
                        "only_b": only_b, "p_value": mcnemar_p(only_a, only_b)})
    return out


def budget_points(budget: int) -> list[int]:
    """1, 2, 4, ... up to and including ``budget``."""
    points, b = [], 1
    while b < budget:
        points.append(b)
        b *= 2
    return [*points, budget]


def summarise(lines: Sequence[dict[str, Any]], config: Any = None,
              clean: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per method: attempted, proved, pass rate and CI, check failures, times, and the pass
    rate at each budget (a best-first search spending b expansions behaves exactly like the
    first b expansions of a longer one, so one run gives the whole curve).

    ``clean``: ``{"theorems": [...], ...}``, the clean subset of the run's theorems (see
    :mod:`provergym.metamath.integrity`) with how it was detected; each method then also
    gets its pass rate and CI on that subset, and the paired tests are repeated on it."""
    theorems = sorted({line["theorem"] for line in lines})
    # Without a config, the largest number of expansions any attempt spent.
    budget = getattr(getattr(config, "search", None), "expansions", None) or max(
        [max(line["result"].get("expansions_to_proof") or 1, line["result"]["stats"]["expansions"])
         for line in lines] or [1])
    methods: dict[str, Any] = {}
    for method in dict.fromkeys(line["method"] for line in lines):
        rows = [line["result"] for line in lines if line["method"] == method]
        proved = [r for r in rows if r["status"] == PROVED]
        low, high = wilson_interval(len(proved), len(rows))
        seconds = [r["stats"]["seconds"] for r in rows]
        curve = {}
        for b in budget_points(budget):
            hits = sum(1 for r in proved if (r.get("expansions_to_proof") or 1) <= b)
            curve[str(b)] = hits / len(rows) if rows else 0.0
        expansions = sum(r["stats"]["expansions"] for r in rows)
        search_seconds = sum(seconds)
        methods[method] = {
            "attempted": len(rows),
            "proved": len(proved),
            "pass_rate": len(proved) / len(rows) if rows else 0.0,
            "ci95": [low, high],
            "check_failed": sum(1 for r in rows if r["status"] == CHECK_FAILED),
            "errors": sum(1 for r in rows if r["status"] == "error"),
            "mean_seconds": statistics.fmean(seconds) if seconds else 0.0,
            "median_seconds": statistics.median(seconds) if seconds else 0.0,
            "expansions": expansions,
            "expansions_per_second": expansions / search_seconds if search_seconds else 0.0,
            "pass_rate_by_budget": curve,
            "status_counts": {s: sum(1 for r in rows if r["status"] == s)
                              for s in sorted({r["status"] for r in rows})},
            # The largest peak memory of a process that ran this method's attempts (MiB;
            # None for lines written before it was recorded).
            "peak_rss_mb": max((line["peak_rss_mb"] for line in lines
                                if line["method"] == method and line.get("peak_rss_mb")),
                               default=None),
        }
    summary = {"theorems": len(theorems), "budget": budget,
               "candidates": getattr(getattr(config, "search", None), "candidates", None),
               "methods": methods, "paired": paired(lines)}
    if clean is not None:
        kept = set(clean["theorems"])
        subset = [line for line in lines if line["theorem"] in kept]
        for method, row in methods.items():
            rows = [line["result"] for line in subset if line["method"] == method]
            hits = sum(1 for r in rows if r["status"] == PROVED)
            low, high = wilson_interval(hits, len(rows))
            row["clean"] = {"attempted": len(rows), "proved": hits,
                            "pass_rate": hits / len(rows) if rows else 0.0,
                            "ci95": [low, high]}
        summary["clean"] = {**{k: v for k, v in clean.items() if k != "theorems"},
                            "theorems": len({line["theorem"] for line in subset}),
                            "paired": paired(subset)}
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """A plain-text table, one method per line."""
    header = (f"{'method':<14}{'proved':>10}{'pass rate':>11}{'95% CI':>17}"
              f"{'s/thm':>8}{'exp/s':>8}{'bad':>5}{'errors':>8}")
    lines = [f"{summary['theorems']} theorems, budget {summary['budget']} expansions"
             f" x {summary.get('candidates')} candidates", header, "-" * len(header)]
    for method, row in summary["methods"].items():
        low, high = row["ci95"]
        lines.append(f"{method:<14}{row['proved']:>5}/{row['attempted']:<4}"
                     f"{100 * row['pass_rate']:>10.1f}%"
                     f"{f'[{100 * low:.1f}, {100 * high:.1f}]':>17}"
                     f"{row['mean_seconds']:>8.2f}{row['expansions_per_second']:>8.0f}"
                     f"{row['check_failed']:>5}{row.get('errors', 0):>8}")
    for pair in summary.get("paired", ()):
        lines.append(f"{pair['a']} vs {pair['b']} on {pair['theorems']}: "
                     f"{pair['only_a']} only {pair['a']}, {pair['only_b']} only {pair['b']}, "
                     f"exact McNemar p = {pair['p_value']:.3g}")
    clean = summary.get("clean")
    if clean:
        lines.append(f"clean subset: {clean['theorems']} of {summary['theorems']} theorems "
                     f"({clean.get('restatements', 0)} restate an earlier assertion, "
                     f"{clean.get('discouraged', 0)} are discouraged)")
        for method, row in summary["methods"].items():
            part = row.get("clean")
            if part:
                low, high = part["ci95"]
                lines.append(f"  {method:<12}{part['proved']:>5}/{part['attempted']:<4}"
                             f"{100 * part['pass_rate']:>10.1f}%"
                             f"{f'[{100 * low:.1f}, {100 * high:.1f}]':>17}")
        for pair in clean.get("paired", ()):
            lines.append(f"  {pair['a']} vs {pair['b']}: {pair['only_a']} / {pair['only_b']}, "
                         f"p = {pair['p_value']:.3g}")
    return "\n".join(lines)
