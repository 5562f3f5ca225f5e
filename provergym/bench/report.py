"""The HTML report of a benchmark run: one self-contained file (the plot is embedded).

It shows the pass rate against the budget (matplotlib), the methods side by side, every
proof found with its checkers' verdicts, and the search tree of one theorem.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provergym.bench.runner import RESULTS, SUMMARY, read_results
from provergym.bench.summary import summarise

MAX_TREE_NODES = 400


def _plot(summary: dict[str, Any]) -> str:
    """The pass-rate-against-budget plot as a base64 PNG ('' if matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ""
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for method, row in summary["methods"].items():
        curve = row["pass_rate_by_budget"]
        budgets = [int(b) for b in curve]
        rates = [100 * curve[b] for b in curve]
        if method == "improve" or method in ("sauto", "best", "hauto"):
            # one attempt, no expansion budget: a flat line
            axes.plot(budgets, [rates[-1]] * len(budgets), linestyle="--", label=method)
        else:
            axes.plot(budgets, rates, marker="o", label=method)
    axes.set_xscale("log", base=2)
    axes.set_xlabel("budget (expansions per theorem)")
    axes.set_ylabel("pass rate (%)")
    axes.set_title(f"{summary['theorems']} held-out theorems")
    axes.grid(alpha=0.3)
    axes.legend()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(summary: dict[str, Any]) -> str:
    rows = ["<tr><th>method</th><th>proved</th><th>pass rate</th><th>95% CI (Wilson)</th>"
            "<th>mean s/theorem</th><th>median s</th><th>expansions/s</th>"
            "<th>check failures</th><th>statuses</th></tr>"]
    for method, row in summary["methods"].items():
        low, high = row["ci95"]
        statuses = ", ".join(f"{k}: {v}" for k, v in row["status_counts"].items())
        rows.append(
            f"<tr><td>{html.escape(method)}</td><td>{row['proved']}/{row['attempted']}</td>"
            f"<td>{100 * row['pass_rate']:.1f}%</td><td>[{100 * low:.1f}%, {100 * high:.1f}%]</td>"
            f"<td>{row['mean_seconds']:.2f}</td><td>{row['median_seconds']:.2f}</td>"
            f"<td>{row['expansions_per_second']:.0f}</td><td>{row['check_failed']}</td>"
            f"<td>{html.escape(statuses)}</td></tr>")
    return "<table>" + "\n".join(rows) + "</table>"


def _paired(summary: dict[str, Any]) -> str:
    pairs = summary.get("paired") or []
    if not pairs:
        return ""
    rows = ["<tr><th>methods</th><th>theorems</th><th>only the first</th>"
            "<th>only the second</th><th>exact McNemar p</th></tr>"]
    for pair in pairs:
        rows.append(f"<tr><td>{html.escape(pair['a'])} vs {html.escape(pair['b'])}</td>"
                    f"<td>{pair['theorems']}</td><td>{pair['only_a']}</td>"
                    f"<td>{pair['only_b']}</td><td>{pair['p_value']:.3g}</td></tr>")
    return ("<h3>Paired, on the same theorems</h3><table>" + "\n".join(rows) + "</table>")


def _side_by_side(lines: Sequence[dict[str, Any]]) -> str:
    """Which method proved which theorem."""
    methods = list(dict.fromkeys(line["method"] for line in lines))
    status = {(line["method"], line["theorem"]): line["result"]["status"] for line in lines}
    theorems = sorted({line["theorem"] for line in lines})
    head = "<tr><th>theorem</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in methods)
    rows = [head + "</tr>"]
    for theorem in theorems:
        cells = []
        for method in methods:
            value = status.get((method, theorem), "")
            mark = "✔" if value == "proved" else ("✘ bug" if value == "check_failed" else "·")
            cells.append(f"<td class='{html.escape(value)}' title='{html.escape(value)}'>{mark}</td>")
        rows.append(f"<tr><td>{html.escape(theorem)}</td>{''.join(cells)}</tr>")
    return "<table class='grid'>" + "\n".join(rows) + "</table>"


def _proofs(lines: Sequence[dict[str, Any]]) -> str:
    parts = []
    for line in lines:
        result = line["result"]
        if result["status"] not in ("proved", "check_failed"):
            continue
        checks = ", ".join(f"{k}: {v}" for k, v in result.get("checks", {}).items())
        actions = "\n".join(result.get("actions") or [])
        parts.append(
            f"<details><summary><b>{html.escape(line['theorem'])}</b> by "
            f"{html.escape(line['method'])}: {html.escape(result['status'])} "
            f"({result['stats']['expansions']} expansions, {result['stats']['seconds']:.2f} s;"
            f" {html.escape(checks)})</summary>"
            + (f"<p>actions (pre-order):</p><pre>{html.escape(actions)}</pre>" if actions else "")
            + f"<p>proof:</p><pre>{html.escape(result.get('proof') or '')}</pre>"
            + (f"<p>{html.escape(result.get('message', ''))}</p>" if result.get("message") else "")
            + "</details>")
    return "\n".join(parts) or "<p>No proof was found.</p>"


def _pick_tree(lines: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A proved attempt with a tree, the one with the most nodes that still fits."""
    best = None
    for line in lines:
        tree = line["result"].get("tree") or []
        if line["result"]["status"] == "proved" and 1 < len(tree) <= MAX_TREE_NODES:
            if best is None or len(tree) > len(best["result"]["tree"]):
                best = line
    return best


def tree_html(result: dict[str, Any]) -> str:
    """The search tree as nested lists: each node, then its actions and their outcomes."""
    nodes = {node["id"]: node for node in result["tree"]}
    shown: set[int] = set()

    def render(node_id: int) -> str:
        node = nodes[node_id]
        if node_id in shown:
            return f"<li class='ref'>↺ node {node_id} (shown above)</li>"
        shown.add(node_id)
        klass = "proved" if node["proved"] else ("expanded" if node["expanded"] else "open")
        edges = []
        for edge in node["edges"]:
            detail = f" — {html.escape(edge['detail'])}" if edge.get("detail") else ""
            children = "".join(render(c) for c in edge["children"]
                               if nodes[c]["parent"] == node_id or c in shown)
            inner = f"<ul>{children}</ul>" if children else ""
            edges.append(f"<li class='edge {html.escape(edge['outcome'])}'><code>"
                         f"{html.escape(edge['action'])}</code> "
                         f"[{edge['logprob']:.2f}] {html.escape(edge['outcome'])}{detail}{inner}</li>")
        return (f"<li class='node {klass}'><span>#{node_id} (score {node['score']:.2f}): "
                f"<code>{html.escape(node['text'])}</code></span>"
                f"<ul>{''.join(edges)}</ul></li>")

    roots = [n for n in nodes.values() if n["parent"] is None]
    return "<ul class='tree'>" + "".join(render(r["id"]) for r in roots) + "</ul>"


STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; }
td.proved { background: #d8f5d8; } td.check_failed { background: #f5c6c6; }
pre { background: #f6f6f6; padding: 6px; white-space: pre-wrap; }
ul.tree li.node.proved > span { color: #176317; font-weight: bold; }
li.edge.rejected { color: #888; } li.edge.proved { color: #176317; }
"""


def write_report(out_dir: str | Path, title: str = "provergym benchmark") -> Path:
    """Write ``<out_dir>/report.html`` from ``results.jsonl`` and return its path."""
    out_dir = Path(out_dir)
    lines = read_results(out_dir)
    if (out_dir / SUMMARY).exists():
        summary = json.loads((out_dir / SUMMARY).read_text())
    else:
        summary = summarise(lines)
    plot = _plot(summary) if summary["methods"] else ""
    picked = _pick_tree(lines)
    tree = ("<p>No proved attempt with a small enough search tree.</p>" if picked is None else
            f"<p>{html.escape(picked['theorem'])} by {html.escape(picked['method'])}: "
            f"{len(picked['result']['tree'])} nodes.</p>" + tree_html(picked["result"]))
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{summary['theorems']} theorems; budget {summary['budget']} expansions"
        f" × {summary.get('candidates')} candidates. Source: <code>{RESULTS}</code>.</p>",
        "<h2>Pass rate against budget</h2>",
        f"<img alt='pass rate against budget' src='data:image/png;base64,{plot}'>" if plot
        else "<p>(matplotlib is not installed: no plot)</p>",
        "<h2>Methods</h2>", _table(summary), _paired(summary),
        "<h2>Theorem by theorem</h2>", _side_by_side(lines),
        "<h2>Proofs found</h2>", _proofs(lines),
        "<h2>A search tree</h2>", tree,
    ]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
