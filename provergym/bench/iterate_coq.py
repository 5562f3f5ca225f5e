"""Expert iteration on Coq: the k-NN tactics learn from their own search.

Round ``r`` (1, 2, ...):

1. **search** a pool of lemmas (a fixed, seeded sample of the train manifest's lemmas) with a Coq method of the registry (``knn+sauto`` by default), the k-NN
   index holding the corpus's train split plus every earlier round's proofs. Every proof
   is checked by coqc and the ``Print Assumptions`` audit (:mod:`provergym.bench.check`), as
   in any benchmark, and the phase resumes line by line;
2. **collect**: the states of each checked proof, read from its search tree (a node is the
   printed proof state, each edge the tactic that left it), as corpus records
   (:func:`corpora.coq.features` plus ``round``), the shortest proof per lemma over all
   rounds; written as a Hugging Face dataset;
3. the next round's k-NN index reads them (``MethodConfig.extra_data``): for k-NN, that is
   the retraining;
4. **evaluate** on a fixed sample of the valid manifest: the pass rate with its 95% CI.

A trained Coq model is not retrained here (yet); ``--method model`` or ``knn`` with a model
would search with it unchanged. Each phase leaves its result on disk before the next
(``round-R/search``, ``round-R/data``, ``round-R/eval``, ``round-R/summary.json``), so a
killed run resumes without losing a finished search or round.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpora.coq import features, position_bucket
from provergym.bench.iterate import (
    ROUND_COLUMN,
    check_same_config,
    phase,
    read_json,
    round_features,
    save_round_data,
    write_json,
    write_table,
)
from provergym.bench.methods import BenchError, get_method
from provergym.bench.runner import (
    BenchConfig,
    fixed_sample,
    manifest_theorems,
    read_results,
    run_bench,
)
from provergym.bench.summary import wilson_interval
from provergym.distributed import LOCAL, Executor
from provergym.search.bestfirst import SearchConfig
from provergym.search.result import PROVED, SearchResult


@dataclass(frozen=True)
class CoqIterateConfig:
    out_dir: str
    data: str  # the Coq corpus whose train split the k-NN index starts from
    method: str = "knn+sauto"
    rounds: int = 1
    pool: int = 200  # train-manifest lemmas searched each round (a fixed sample)
    valid: int = 50  # the fixed valid sample each round is evaluated on
    budget: int = 8
    candidates: int = 8
    time_limit: float = 60.0
    hammer_timeout: float = 5.0
    libs: tuple[str, ...] = ("stdlib",)  # which libraries' lemmas (stdlib, mathcomp)
    # more lemmas ("file.v:lemma") searched every round besides the pool's sample, and
    # the lemmas to evaluate on instead of the valid manifest's sample (a user's own)
    pool_lemmas: tuple[str, ...] = ()
    valid_lemmas: tuple[str, ...] = ()
    jobs: int = 1  # search workers (Ray: actors; 0 there: one per CPU of the cluster)
    executor: Executor = LOCAL  # where the search's workers run (changes no result)
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        get_method("coq", self.method)  # a clear error for an unknown one
        if self.rounds < 1 or self.budget < 1 or self.pool < 0 or self.valid < 0:
            raise BenchError("rounds and budget must be 1 or more, pool and valid 0 or more")
        if not (self.pool or self.pool_lemmas) or not (self.valid or self.valid_lemmas):
            raise BenchError("nothing to search or to evaluate on: give a pool and a valid "
                             "sample, or lemmas of your own")


def _lemmas(config: CoqIterateConfig, split: str, limit: int) -> list[str]:
    if limit == 0:
        return []
    names = [n for n in manifest_theorems("coq", split)
             if n.split("/", 1)[0] in config.libs]
    if not names:
        raise BenchError(f"no {split} lemma of {', '.join(config.libs)} in the Coq manifest")
    return fixed_sample(names, limit, seed=config.seed)


def proof_records(result: SearchResult, round_number: int,
                  max_text: int = SearchConfig().max_text) -> list[dict[str, Any]]:
    """The states of a found proof, from its search tree, as Coq corpus records: the path
    from the root that the proof's tactics take. Empty when the tree does not hold the path
    (no tree kept) or a state's text was cut at the tree's length limit."""
    if result.status != PROVED or not result.actions or not result.tree:
        return []
    nodes = {node.id: node for node in result.tree}
    file, _, lemma = result.theorem.rpartition(":")
    node = nodes.get(0)
    records: list[dict[str, Any]] = []
    count = len(result.actions)
    from corpora.tactic_classes import tactic_class

    for rank, action in enumerate(result.actions):
        if node is None or len(node.text) >= max_text:
            return []
        edge = next((e for e in node.edges if e.action == action), None)
        if edge is None:
            return []
        steps_left = count - 1 - rank
        records.append({
            "file": file, "lemma": lemma, "lemma_id": result.theorem, "line": 0,
            "sentence": rank, "goals": node.text, "goals_sexp": "", "goals_after": "",
            "tactic": action, "tactic_class": tactic_class(action),
            "steps_left": steps_left, "position_bucket": position_bucket(steps_left),
            ROUND_COLUMN: round_number,
        })
        node = nodes.get(edge.children[0]) if edge.children else None
    return records


def collect_round(lines: Iterable[dict[str, Any]], round_number: int,
                  best: dict[str, int]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The records of every checked proof that is new or shorter than the best so far
    (``best``: lemma -> number of tactics, updated), and counts."""
    records: list[dict[str, Any]] = []
    counts = {"searched": 0, "proved": 0, "new": 0, "shorter": 0, "states": 0}
    for line in lines:
        result = SearchResult.from_json(line["result"])
        counts["searched"] += 1
        if result.status != PROVED:
            continue
        counts["proved"] += 1
        length = len(result.actions)
        before = best.get(result.theorem)
        if before is not None and length >= before:
            continue
        found = proof_records(result, round_number)
        if not found:
            continue
        best[result.theorem] = length
        counts["new" if before is None else "shorter"] += 1
        records.extend(found)
        counts["states"] += len(found)
    return records, counts


def _bench(config: CoqIterateConfig, lemmas: Sequence[str], out: Path,
           data_dirs: Sequence[Path]) -> list[dict[str, Any]]:
    run_bench(BenchConfig(
        backend="coq", methods=(config.method,), theorems=tuple(lemmas), out_dir=str(out),
        data=config.data, extra_data=tuple(str(d) for d in data_dirs),
        search=SearchConfig(expansions=config.budget, candidates=config.candidates,
                            time_limit=config.time_limit),
        hammer_timeout=config.hammer_timeout, jobs=config.jobs, executor=config.executor,
        progress=config.progress,
        keep_all_trees=False))
    return [line for line in read_results(out) if line["method"] == config.method]


def _evaluate(config: CoqIterateConfig, out: Path, data_dirs: Sequence[Path]) -> dict[str, Any]:
    lemmas = list(config.valid_lemmas) or _lemmas(config, "valid", config.valid)
    lines = _bench(config, lemmas, out, data_dirs)
    proved = sum(line["result"]["status"] == PROVED for line in lines)
    low, high = wilson_interval(proved, len(lines))
    return {"valid_proved": proved, "valid_attempted": len(lines),
            "valid_rate": proved / max(1, len(lines)), "valid_ci": [low, high]}


HEADER = ("| round | pool proved | new or shorter | states added | valid pass rate (95% CI) "
          "| wall time |\n|---|---|---|---|---|---|")


def _row(summary: dict[str, Any]) -> str:
    low, high = summary["valid_ci"]
    proved = f"{summary['proved']}/{summary['searched']}" if "searched" in summary else "-"
    changed = (f"{summary['new']} + {summary['shorter']}" if "new" in summary else "-")
    times = " ".join(f"{k} {v:.0f}s" for k, v in summary.get("seconds", {}).items())
    return (f"| {summary['round']} | {proved} | {changed} | {summary.get('states', '-')} | "
            f"{summary['valid_proved']}/{summary['valid_attempted']} "
            f"({100 * summary['valid_rate']:.1f}%, CI {100 * low:.1f}-{100 * high:.1f}%) | "
            f"{times} |")


def iterate_coq(config: CoqIterateConfig) -> list[dict[str, Any]]:
    """Run the rounds not done yet; one summary per round (round 0 included)."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_same_config(out, config)
    pool = _lemmas(config, "train", config.pool) + [
        name for name in config.pool_lemmas if name not in set(config.valid_lemmas)]

    summaries: list[dict[str, Any]] = []
    zero = out / "round-0"
    zero.mkdir(exist_ok=True)
    summary = read_json(zero / "summary.json")
    if summary is None:
        phase(f"round 0: evaluate {config.method} on "
               f"{len(config.valid_lemmas) or config.valid} valid lemmas")
        started = time.perf_counter()
        summary = {"round": 0, **_evaluate(config, zero / "eval", []),
                   "seconds": {"eval": round(time.perf_counter() - started, 1)}}
        write_json(zero / "summary.json", summary)
    summaries.append(summary)
    print(HEADER + "\n" + _row(summary), flush=True)

    best: dict[str, int] = {}
    data_dirs: list[Path] = []
    for number in range(1, config.rounds + 1):
        folder = out / f"round-{number}"
        folder.mkdir(exist_ok=True)
        data = folder / "data"
        summary = read_json(folder / "summary.json")
        if summary is not None:
            best.update(summary["best"])
            data_dirs.append(data)
            summaries.append(summary)
            print(_row(summary), flush=True)
            continue
        seconds: dict[str, float] = {}
        phase(f"round {number}: search {len(pool)} lemmas with {config.method}")
        started = time.perf_counter()
        lines = _bench(config, pool, folder / "search", data_dirs)
        seconds["search"] = round(time.perf_counter() - started, 1)
        before = dict(best)
        records, counts = collect_round(lines, number, best)
        save_round_data(records, data, round_features(features()))
        data_dirs.append(data)
        phase(f"round {number}: {counts['states']} proof states -> {data}; evaluate on "
               f"{len(config.valid_lemmas) or config.valid} valid lemmas")
        started = time.perf_counter()
        evaluation = _evaluate(config, folder / "eval", data_dirs)
        seconds["eval"] = round(time.perf_counter() - started, 1)
        summary = {"round": number, "pool": len(pool), **counts, **evaluation,
                   "seconds": seconds,
                   "best": {k: v for k, v in best.items() if before.get(k) != v}}
        write_json(folder / "summary.json", summary)
        summaries.append(summary)
        print(_row(summary), flush=True)
    write_table(out, summaries, HEADER, _row)
    return summaries
