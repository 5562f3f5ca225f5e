"""The HTML report of a benchmark run: one self-contained file (the plot is embedded).

It shows the run's configuration and versions, the pass rate against the budget with 95%
confidence bands (matplotlib), the methods side by side with each theorem's statement,
every proof found grouped by theorem with its checkers' verdicts, and the search tree of
one theorem.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provergym.bench.runner import ENVIRONMENT, RESULTS, SUMMARY, read_results
from provergym.bench.summary import summarise, wilson_interval

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
        flat = method == "improve" or method in ("sauto", "best", "hauto")
        if flat:  # one attempt, no expansion budget: a flat line
            rates = [rates[-1]] * len(budgets)
        trials = row["attempted"]
        bands = [wilson_interval(round(rate / 100 * trials), trials) for rate in rates]
        line, = axes.plot(budgets, rates, linestyle="--" if flat else "-",
                          marker=None if flat else "o", label=method)
        axes.fill_between(budgets, [100 * low for low, _ in bands],
                          [100 * high for _, high in bands], color=line.get_color(),
                          alpha=0.12, linewidth=0)
    axes.set_xscale("log", base=2)
    axes.set_xlabel("budget (expansions per theorem)")
    axes.set_ylabel("pass rate (%)")
    axes.set_title(f"{summary['theorems']} held-out theorems (bands: 95% Wilson CI)")
    axes.grid(alpha=0.3)
    axes.legend()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(summary: dict[str, Any]) -> str:
    clean = summary.get("clean")
    rows = ["<tr><th>method</th><th>proved</th><th>pass rate</th><th>95% CI (Wilson)</th>"
            + ("<th>clean subset</th><th>clean 95% CI</th>" if clean else "")
            + "<th>mean s/theorem</th><th>median s</th><th>expansions/s</th>"
            "<th>check failures</th><th>statuses</th></tr>"]
    for method, row in summary["methods"].items():
        low, high = row["ci95"]
        statuses = ", ".join(f"{k}: {v}" for k, v in row["status_counts"].items())
        part = row.get("clean")
        clean_cells = ""
        if clean and part:
            c_low, c_high = part["ci95"]
            clean_cells = (f"<td>{part['proved']}/{part['attempted']} "
                           f"({100 * part['pass_rate']:.1f}%)</td>"
                           f"<td>[{100 * c_low:.1f}%, {100 * c_high:.1f}%]</td>")
        elif clean:
            clean_cells = "<td></td><td></td>"
        rows.append(
            f"<tr><td>{html.escape(method)}</td><td>{row['proved']}/{row['attempted']}</td>"
            f"<td>{100 * row['pass_rate']:.1f}%</td><td>[{100 * low:.1f}%, {100 * high:.1f}%]</td>"
            f"{clean_cells}"
            f"<td>{row['mean_seconds']:.2f}</td><td>{row['median_seconds']:.2f}</td>"
            f"<td>{row['expansions_per_second']:.0f}</td><td>{row['check_failed']}</td>"
            f"<td>{html.escape(statuses)}</td></tr>")
    note = ""
    if clean:
        note = (f"<p>Clean subset: {clean['theorems']} of {summary['theorems']} theorems "
                f"({clean.get('restatements', 0)} restate an earlier assertion, "
                f"{clean.get('discouraged', 0)} are discouraged). Detection: "
                f"{html.escape(clean.get('detection', ''))}.</p>")
    return "<table>" + "\n".join(rows) + "</table>" + note


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


MARKS = {"proved": "✔", "check_failed": "✘ rejected"}
LEGEND = ("<p class='legend'>✔ proved, and every checker accepted the proof; "
          "<span class='check_failed'>✘ rejected</span>: the method returned a proof that a "
          "checker (our kernel, metamath-exe or coqc with the Print Assumptions audit) "
          "refused, so it does not count (metamath-exe's <code>improve</code> sometimes breaks "
          "a <code>$d</code> condition); · not proved (not found within the budget, timed "
          "out, or an error: hover for the status).</p>")


def statements(lines: Sequence[dict[str, Any]], config: dict[str, Any]) -> dict[str, str]:
    """Each theorem's statement: the root of any search tree recorded for it, else read
    from the run's database (Metamath) or .v file (Coq) when they are still there."""
    found: dict[str, str] = {}
    for line in lines:
        tree = line["result"].get("tree") or []
        if tree and line["theorem"] not in found:
            found[line["theorem"]] = tree[0]["text"]
    missing = {line["theorem"] for line in lines} - set(found)
    if missing and config.get("backend") == "metamath" and config.get("db"):
        found.update(_metamath_statements(config["db"], missing))
    elif missing and config.get("backend") == "coq":
        found.update(_coq_statements(missing))
    return found


def _metamath_statements(db_path: str, labels: set[str]) -> dict[str, str]:
    try:
        from provergym.metamath.database import parse_database

        statements = parse_database(db_path).statements
    except Exception:  # noqa: BLE001 - a report without statements beats no report
        return {}
    return {label: statements[label].expression() for label in labels if label in statements}


def _coq_statements(names: set[str]) -> dict[str, str]:
    from provergym.coq.env import statement_name
    from provergym.coq.sentences import SentenceError, split_sentences

    found: dict[str, str] = {}
    by_file: dict[str, set[str]] = {}
    for name in names:
        path, _, lemma = name.rpartition(":")
        by_file.setdefault(path, set()).add(lemma)
    for path, lemmas in by_file.items():
        try:
            sentences = split_sentences(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SentenceError):
            continue
        for sentence in sentences:
            lemma = statement_name(sentence.text)
            if lemma in lemmas:
                found[f"{path}:{lemma}"] = sentence.text
    return found


def _side_by_side(lines: Sequence[dict[str, Any]], statement: dict[str, str]) -> str:
    """Which method proved which theorem, with each theorem's statement."""
    methods = list(dict.fromkeys(line["method"] for line in lines))
    status = {(line["method"], line["theorem"]): line["result"]["status"] for line in lines}
    theorems = sorted({line["theorem"] for line in lines})
    head = "<tr><th>theorem</th><th>statement</th>" + "".join(
        f"<th>{html.escape(m)}</th>" for m in methods)
    rows = [head + "</tr>"]
    for theorem in theorems:
        cells = []
        for method in methods:
            value = status.get((method, theorem), "")
            mark = MARKS.get(value, "·")
            cells.append(f"<td class='{html.escape(value)}' title='{html.escape(value)}'>{mark}</td>")
        text = statement.get(theorem, "")
        short = text if len(text) <= 140 else text[:137] + "..."
        rows.append(f"<tr><td>{html.escape(theorem)}</td><td class='statement' "
                    f"title='{html.escape(text)}'><code>{html.escape(short)}</code></td>"
                    f"{''.join(cells)}</tr>")
    return LEGEND + "<table class='grid'>" + "\n".join(rows) + "</table>"


def _proofs(lines: Sequence[dict[str, Any]], statement: dict[str, str]) -> str:
    """Every proof found (or rejected), grouped by theorem: one block per theorem, holding
    each method's proof and the checkers' verdicts."""
    by_theorem: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if line["result"]["status"] in ("proved", "check_failed"):
            by_theorem.setdefault(line["theorem"], []).append(line)
    parts = []
    for theorem in sorted(by_theorem):
        entries = []
        for line in by_theorem[theorem]:
            result = line["result"]
            checks = ", ".join(f"{k}: {v}" for k, v in result.get("checks", {}).items())
            actions = "\n".join(result.get("actions") or [])
            verdict = "proved" if result["status"] == "proved" else "rejected by a checker"
            entries.append(
                f"<h4>{html.escape(line['method'])}: {verdict} "
                f"({result['stats']['expansions']} expansions, "
                f"{result['stats']['seconds']:.2f} s; {html.escape(checks)})</h4>"
                + (f"<p>actions (pre-order):</p><pre>{html.escape(actions)}</pre>"
                   if actions else "")
                + f"<p>proof:</p><pre>{html.escape(result.get('proof') or '')}</pre>"
                + (f"<p>{html.escape(result.get('message', ''))}</p>"
                   if result.get("message") else ""))
        methods = ", ".join(html.escape(line["method"]) for line in by_theorem[theorem])
        parts.append(f"<details><summary><b>{html.escape(theorem)}</b> ({methods})"
                     f"</summary><pre>{html.escape(statement.get(theorem, ''))}</pre>"
                     + "".join(entries) + "</details>")
    return "\n".join(parts) or "<p>No proof was found.</p>"


def _configuration(config: dict[str, Any], environment: dict[str, Any]) -> str:
    """The run's settings and the versions it ran with, as a small table."""
    search = config.get("search") or {}
    database = config.get("db") or ""
    digest = ""
    if database and database == (environment.get("set.mm") or {}).get("path"):
        digest = environment["set.mm"].get("sha256", "")
    items = [
        ("backend", config.get("backend")),
        ("methods", ", ".join(config.get("methods") or [])),
        ("model", config.get("model") or "none"),
        ("database", f"{database} (sha256 {digest})" if digest else database),
        ("budget", f"{search.get('expansions')} expansions × {search.get('candidates')} "
                   f"candidates, {search.get('time_limit')} s per theorem"),
        ("priority weights", f"log-prob {search.get('logprob_weight')}, value "
                             f"{search.get('value_weight')}"),
        ("policy weights", f"retrieval {config.get('retrieval_weight')}, frequency "
                           f"{config.get('frequency_weight')}" if config.get("model") else ""),
        ("seed", search.get("seed", config.get("seed"))),
        ("jobs", f"{config.get('jobs')} ({(config.get('executor') or {}).get('kind', 'local')})"
         if isinstance(config.get("executor"), dict) else config.get("jobs")),
    ]
    if not environment:
        items.append(("versions", f"not recorded (runs before {ENVIRONMENT} existed)"))
    else:
        items += [
        ("provergym", f"{environment.get('provergym', '?')} (commit "
                      f"{environment.get('commit', '?')})"),
        ("Coq", environment.get("coq", "?")),
        ("metamath-exe", environment.get("metamath-exe", "?")),
        ("CoqHammer", (environment.get("debian") or {}).get("libcoq-hammer", "?")),
        ("torch / transformers", f"{(environment.get('libraries') or {}).get('torch', '?')} / "
                                 f"{(environment.get('libraries') or {}).get('transformers', '?')}"),
        ]
    rows = "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
                   for name, value in items if value not in (None, ""))
    return f"<table class='config'>{rows}</table>"


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
ul.tree code { white-space: pre-wrap; } td.statement { max-width: 420px; font-size: 90%; }
table.config th { text-align: left; background: #f6f6f6; } p.legend { font-size: 90%; }
span.check_failed { background: #f5c6c6; }
ul.tree li.node.proved > span { color: #176317; font-weight: bold; }
li.edge.rejected { color: #888; } li.edge.proved { color: #176317; }
"""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_report(out_dir: str | Path, title: str = "provergym benchmark") -> Path:
    """Write ``<out_dir>/report.html`` from ``results.jsonl`` and return its path."""
    out_dir = Path(out_dir)
    lines = read_results(out_dir)
    if (out_dir / SUMMARY).exists():
        summary = json.loads((out_dir / SUMMARY).read_text())
    else:
        summary = summarise(lines)
    plot = _plot(summary) if summary["methods"] else ""
    config = _read_json(out_dir / "config.json")
    environment = _read_json(out_dir / ENVIRONMENT)
    statement = statements(lines, config)
    picked = _pick_tree(lines)
    tree = ("<p>No proved attempt with a small enough search tree.</p>" if picked is None else
            f"<p>{html.escape(picked['theorem'])} by {html.escape(picked['method'])}: "
            f"{len(picked['result']['tree'])} nodes.</p>" + tree_html(picked["result"]))
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Configuration</h2>", _configuration(config, environment),
        f"<p>{summary['theorems']} theorems; budget {summary['budget']} expansions"
        f" × {summary.get('candidates')} candidates. Source: <code>{RESULTS}</code>.</p>",
        "<h2>Pass rate against budget</h2>",
        f"<img alt='pass rate against budget' src='data:image/png;base64,{plot}'>" if plot
        else "<p>(matplotlib is not installed: no plot)</p>",
        "<h2>Methods</h2>", _table(summary), _paired(summary),
        "<h2>Theorem by theorem</h2>", _side_by_side(lines, statement),
        "<h2>Proofs found, by theorem</h2>", _proofs(lines, statement),
        "<h2>A search tree</h2>", tree,
    ]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>")
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
