"""Expert iteration: the policy and the value learn from their own search (GPT-f §4.7).

Round ``r`` (1, 2, ...) with the model of round ``r - 1`` (round 0: the model the user
trained on human proofs):

1. **search** over the statement pool (a fixed, seeded sample of the train split, plus every
   statement whose proof is ``?`` in the database) with the registry's ``model`` method: :func:`provergym.bench.runner.run_bench`, so every proof is
   checked by our kernel and metamath-exe, and the phase resumes line by line;
2. **collect**: the proof steps of each checked proof, read from the proof itself by the
   corpus builder (:class:`corpora.metamath.StepExtractor`), so they have the corpus's
   schema, with the shortest proof kept per statement over all rounds; and value targets
   from every search tree, as GPT-f labelled them: the goals of a found proof are
   provable (with their steps left), a goal the search expanded without proving is not
   (``steps_left = -1``). Written as a Hugging Face dataset, the corpus's features plus
   ``round``;
3. **retrain** on the human corpus plus every round's data so far: re-fine-tuned from the
   round-0 model (Polu et al. 2022, the default) or from scratch (GPT-f), chosen by
   ``restart``;
4. **evaluate** on a fixed sample of the valid split at a fixed budget: the pass rate with
   its 95% CI, and the value's calibration (AUC and accuracy against majority) on held-out
   search goals: those of round 0's valid searches, one fixed set for every round.

Each phase leaves its result on disk before the next starts (``round-R/search``,
``round-R/data``, ``round-R/model``, ``round-R/eval``, then ``round-R/summary.json``), so a
killed run resumes where it stopped without losing a finished search or round.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from corpora.metamath import StepExtractor, corpus_name, features, splitter_for
from provergym.bench.methods import BenchError, metamath_env
from provergym.bench.runner import (
    BenchConfig,
    fixed_sample,
    read_results,
    run_bench,
)
from provergym.bench.summary import wilson_interval
from provergym.distributed import LOCAL, Executor
from provergym.metamath.prooftree import incomplete_proof
from provergym.paths import SET_MM
from provergym.search.bestfirst import SearchConfig
from provergym.search.result import PROVED, SearchResult

ROUND_COLUMN = "round"
NOT_PROVED = -1  # steps_left of a goal that a search expanded and did not prove
RESTARTS = ("finetune", "scratch")


@dataclass(frozen=True)
class IterateConfig:
    out_dir: str
    model: str  # round 0: a run folder trained on human proofs (`provergym train`)
    db: str = SET_MM
    rounds: int = 1
    pool: int = 1000  # statements of the train split searched each round (a fixed sample)
    first: int = 0  # only statements among the database's first N $p (0: all)
    valid: int = 200  # the fixed valid sample each round is evaluated on
    budget: int = 16  # expansions per statement, search and evaluation alike
    # expansions per pool statement (0: ``budget``): a larger budget in the pool's search
    # finds proofs the evaluation budget would not, for the model to learn to find at once
    # (the amortisation of expert iteration; evaluation stays at ``budget``)
    pool_budget: int = 0
    candidates: int = 8
    time_limit: float = 30.0  # seconds per statement
    train_steps: int = 500  # optimizer steps of each round's training
    restart: str = "finetune"  # "finetune": from round 0's weights; "scratch": new weights
    # the search's priority (SearchConfig): log-probability by default; a value weight
    # mixes in the value, and logprob_weight 0 with it orders by the value alone
    value_weight: float = 0.0
    logprob_weight: float = 1.0
    jobs: int = 1  # search workers (Ray: actors; 0 there: one per CPU of the cluster)
    executor: Executor = LOCAL  # where the search's workers run (changes no result)
    seed: int = 0  # the pool's sample
    progress: bool = True

    def __post_init__(self) -> None:
        if self.restart not in RESTARTS:
            raise BenchError(f"restart must be one of {', '.join(RESTARTS)}, "
                             f"not {self.restart!r}")
        if self.rounds < 1 or self.pool < 1 or self.valid < 1 or self.budget < 1:
            raise BenchError("rounds, pool, valid and budget must be 1 or more")
        if self.train_steps < 1:
            raise BenchError("train_steps must be 1 or more")


# -- statements ---------------------------------------------------------------------------------
def _split_names(config: IterateConfig, split: str) -> list[str]:
    """The split's $p labels (among the database's first N with ``first``), split as the
    corpus builder splits them: set.mm by its committed manifest, another database by the
    same seeded rule, so that no valid or test statement is ever searched for training."""
    env = metamath_env(config.db)
    theorems = env.db.theorems()
    chosen = theorems[:config.first] if config.first else theorems
    splitter = splitter_for(corpus_name(config.db))
    return [s.label for s in chosen if splitter(s.label) == split]


def problems(config: IterateConfig) -> list[str]:
    """The database's statements whose own proof is incomplete (``?``): a benchmark's
    problems, or work in progress. Every round searches them all: this is where new
    knowledge enters. (A statement whose complete proof cites one is not among them.)"""
    db = metamath_env(config.db).db
    return [s.label for s in db.theorems() if incomplete_proof(s)]


def pool_statements(config: IterateConfig) -> list[str]:
    """A fixed sample of the train split's statements with a proof, then every problem."""
    unproved = metamath_env(config.db).unproved
    names = [n for n in _split_names(config, "train") if n not in unproved]
    extra = problems(config)
    if not names and not extra:
        raise BenchError(f"{config.db}: no train-split statement to search (with --first "
                         f"{config.first})")
    return fixed_sample(names, config.pool, seed=config.seed) + extra


def valid_statements(config: IterateConfig) -> list[str]:
    unproved = metamath_env(config.db).unproved
    names = [n for n in _split_names(config, "valid") if n not in unproved]
    if not names:
        raise BenchError(f"{config.db}: no valid-split statement to evaluate on")
    return fixed_sample(names, config.valid)


# -- collect --------------------------------------------------------------------------------------
def _theorem_hypotheses(db: Any, label: str) -> list[str]:
    statement = db.statements[label]
    scope = statement.scope.hypotheses if statement.scope else ()
    return [db.statements[h].expression() for h in scope if db.statements[h].kind == "e"]


def value_goals(result: SearchResult) -> tuple[list[str], list[str]]:
    """(provable, not proved) goals of one search tree, as GPT-f labelled them: a proved
    node is provable; an expanded node that was not proved is a negative. Text cut at the
    tree's length limit is left out (it is not the goal)."""
    limit = SearchConfig().max_text
    provable, negative = [], []
    for node in result.tree:
        if len(node.text) >= limit:
            continue
        if node.proved:
            provable.append(node.text)
        elif node.expanded:
            negative.append(node.text)
    return provable, negative


def collect_round(db_path: str, lines: Iterable[dict[str, Any]], round_number: int,
                  best: dict[str, int]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The records of one round's search lines: the proof steps of every checked proof that
    is new or shorter than the best so far (``best``: statement -> proof length, updated),
    and one value record per goal a search expanded without proving. Returns the records
    and counts."""
    env = metamath_env(db_path)
    db = env.db
    extractor = StepExtractor(db, env.grammar)
    records: list[dict[str, Any]] = []
    counts = {"searched": 0, "proved": 0, "new": 0, "shorter": 0, "proof_steps": 0,
              "negatives": 0}
    seen_negatives: set[tuple[str, str]] = set()
    for line in lines:
        result = SearchResult.from_json(line["result"])
        counts["searched"] += 1
        theorem = result.theorem
        if result.status == PROVED and result.proof:
            counts["proved"] += 1
            length = len(result.proof.split())
            before = best.get(theorem)
            if before is None or length < before:
                counts["new" if before is None else "shorter"] += 1
                best[theorem] = length
                statement = replace(db.statements[theorem], proof=result.proof)
                steps = extractor.records(statement)
                records.extend({**record, ROUND_COLUMN: round_number} for record in steps)
                counts["proof_steps"] += len(steps)
        _, negatives = value_goals(result)
        hypotheses = None
        for goal in negatives:
            if (theorem, goal) in seen_negatives:
                continue
            seen_negatives.add((theorem, goal))
            if hypotheses is None:
                hypotheses = _theorem_hypotheses(db, theorem)
            records.append({"theorem": theorem, "goal": goal, "goal_tree": "",
                            "hypotheses": hypotheses, "label": "", "substitution": [],
                            "action": "", "step": "", "steps_left": NOT_PROVED, "depth": 0,
                            ROUND_COLUMN: round_number})
            counts["negatives"] += 1
    return records, counts


def round_features(base: Any = None):
    """A corpus's features (default: Metamath's) plus the ``round`` column."""
    from datasets import Value

    found = base if base is not None else features()
    found[ROUND_COLUMN] = Value("int32")
    return found


def save_round_data(records: Sequence[dict[str, Any]], out: Path, schema: Any = None) -> None:
    """The round's records as a DatasetDict (one ``train`` split), written atomically, with
    ``schema`` (default: the Metamath corpus's features plus ``round``)."""
    from datasets import Dataset, DatasetDict

    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    data = Dataset.from_list(list(records), features=schema or round_features())
    DatasetDict(train=data).save_to_disk(str(tmp))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


# -- the loop -------------------------------------------------------------------------------------
def search_config(config: IterateConfig, expansions: int = 0,
                  **priority: float) -> SearchConfig:
    """The rounds' search settings; ``expansions`` overrides ``budget``, ``priority``
    overrides ``value_weight`` and ``logprob_weight`` (benchmarks/iterate_priority.py)."""
    return SearchConfig(expansions=expansions or config.budget, candidates=config.candidates,
                        time_limit=config.time_limit,
                        value_weight=priority.get("value_weight", config.value_weight),
                        logprob_weight=priority.get("logprob_weight", config.logprob_weight))


def bench_round(config: IterateConfig, model: str, theorems: Sequence[str], out: Path,
                train: tuple[str, ...], search: SearchConfig | None = None
                ) -> list[dict[str, Any]]:
    """Search ``theorems`` with ``model`` (the registry's ``model`` method), every proof
    checked, every tree kept; resumes in ``out``. Returns the result lines."""
    bench = BenchConfig(
        backend="metamath", methods=("model",), theorems=tuple(theorems), out_dir=str(out),
        db=config.db, train_theorems=train, model=model,
        search=search or search_config(config),
        jobs=config.jobs, executor=config.executor, progress=config.progress,
        keep_all_trees=True)
    run_bench(bench)
    return [line for line in read_results(out) if line["method"] == "model"]


def _base_train_config(model: str) -> dict[str, Any]:
    path = Path(model) / "train_config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise BenchError(f"{model}: not a trained run folder ({path}: {error})") from None


def _train_round(config: IterateConfig, out: Path, data_dirs: Sequence[Path]) -> None:
    from agents.train import latest_checkpoint, resolve_config, train

    base = _base_train_config(config.model)
    overrides = {key: value for key, value in base.items()
                 if key not in ("task", "size", "out_dir", "steps", "eval_every",
                                "save_every", "warmup_steps", "extra_data", "init_from")}
    steps = config.train_steps
    overrides.update({"out_dir": str(out), "steps": steps, "progress": config.progress,
                      "extra_data": tuple(str(d) for d in data_dirs),
                      "eval_every": max(1, steps // 2), "save_every": max(1, steps // 4),
                      "warmup_steps": min(base.get("warmup_steps", 20), max(1, steps // 10)),
                      "init_from": config.model if config.restart == "finetune" else ""})
    train_config = resolve_config(base.get("task", "metamath"), base.get("size", "tiny"),
                                  overrides)
    checkpoint = latest_checkpoint(out)  # the newest intact one, if latest.json is broken
    meta = read_json(checkpoint / "meta.json") if checkpoint is not None else None
    if meta is not None and int(meta.get("step", 0)) >= steps:
        return  # trained already (a resumed round)
    train(train_config, resume=checkpoint is not None)


def held_out_goals(db_path: str, lines: Iterable[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The goals of held-out search trees as the model reads them, labelled as GPT-f
    labelled them: 1 for a proved goal, 0 for one expanded and not proved."""
    db = metamath_env(db_path).db
    goals: list[str] = []
    labels: list[int] = []
    for line in lines:
        result = SearchResult.from_json(line["result"])
        provable, negative = value_goals(result)
        hypotheses = _theorem_hypotheses(db, result.theorem)
        for text, label in [(g, 1) for g in provable] + [(g, 0) for g in negative]:
            goals.append(_goal_text(text, hypotheses))
            labels.append(label)
    return goals, labels


def evaluate_round(config: IterateConfig, model: str, out: Path, train: tuple[str, ...],
                   value_lines: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The valid sample's pass rate (95% CI), and the value's calibration on held-out search
    goals: those of ``value_lines`` (the run's round-0 valid searches, one fixed set for
    every round, so that the rounds compare), else of this evaluation's own searches."""
    from agents.evaluate import value_calibration
    from agents.policy import Policy

    lines = bench_round(config, model, valid_statements(config), out, train)
    proved = sum(line["result"]["status"] == PROVED for line in lines)
    low, high = wilson_interval(proved, len(lines))
    goals, labels = held_out_goals(config.db, lines if value_lines is None else value_lines)
    calibration: dict[str, Any] = {"n": len(goals)}
    policy = Policy.load(model)
    if goals and policy.has_provable:
        calibration = value_calibration(policy, goals, labels)
    return {"valid_proved": proved, "valid_attempted": len(lines),
            "valid_rate": proved / max(1, len(lines)), "valid_ci": [low, high],
            "value": calibration}


def _goal_text(goal: str, hypotheses: Sequence[str]) -> str:
    from provergym.tensorize import metamath_goal_text

    return metamath_goal_text(goal, hypotheses)


def read_json(path: Path) -> Any:
    """A JSON file's value; None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a kill leaves the old file or the new one)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def check_same_config(out: Path, config: Any) -> None:
    """Refuse a rounds folder made with other settings (all but jobs, progress and rounds:
    more rounds may be added later), naming the differences; then record ``config``."""
    ignored = ("jobs", "executor", "progress", "rounds")
    settings = json.loads(json.dumps(asdict(config)))  # tuples as JSON gives them back
    path = out / "config.json"
    old = read_json(path)
    if isinstance(old, dict):
        # a setting added since that folder was made ran with its default
        defaults = json.loads(json.dumps({f.name: f.default for f in fields(config)
                                          if f.default is not MISSING
                                          and f.name not in ignored}))
        changed = [f"{k}: {old.get(k, defaults.get(k))!r} -> {v!r}"
                   for k, v in settings.items()
                   if k not in ignored and old.get(k, defaults.get(k)) != v]
        if changed:
            raise BenchError(f"{out} holds rounds made with other settings "
                             f"({'; '.join(changed)}): give another --out")
    write_json(path, settings)


def iterate(config: IterateConfig) -> list[dict[str, Any]]:
    """Run the rounds not done yet; returns one summary per round (round 0 included)."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_same_config(out, config)
    _base_train_config(config.model)  # a clear error now, not after the first search
    train = tuple(_split_names(replace(config, first=0), "train"))
    pool = pool_statements(config)
    summaries: list[dict[str, Any]] = []

    zero = out / "round-0"
    zero.mkdir(exist_ok=True)
    summary = read_json(zero / "summary.json")
    if summary is None:
        phase(f"round 0: evaluate {config.model} on {config.valid} valid statements")
        started = time.perf_counter()
        summary = {"round": 0, "model": config.model,
                   **evaluate_round(config, config.model, zero / "eval", train),
                   "seconds": {"eval": round(time.perf_counter() - started, 1)}}
        write_json(zero / "summary.json", summary)
    summaries.append(summary)
    _print_row(summary, header=True)

    best: dict[str, int] = {}
    data_dirs: list[Path] = []
    model = config.model
    for number in range(1, config.rounds + 1):
        folder = out / f"round-{number}"
        folder.mkdir(exist_ok=True)
        summary = read_json(folder / "summary.json")
        data = folder / "data"
        if summary is not None:  # finished earlier: replay its bookkeeping only
            best.update(summary["best"])
            data_dirs.append(data)
            model = str(folder / "model")
            summaries.append(summary)
            _print_row(summary)
            continue
        seconds: dict[str, float] = {}
        pool_budget = config.pool_budget or config.budget
        phase(f"round {number}: search {len(pool)} statements (budget {pool_budget})")
        started = time.perf_counter()
        lines = bench_round(config, model, pool, folder / "search", train,
                            search=search_config(config, expansions=pool_budget))
        seconds["search"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        before = dict(best)
        records, counts = collect_round(config.db, lines, number, best)
        save_round_data(records, data)
        data_dirs.append(data)
        seconds["collect"] = round(time.perf_counter() - started, 1)
        phase(f"round {number}: {counts['proof_steps']} proof steps and "
               f"{counts['negatives']} negatives -> {data}; train {config.train_steps} steps "
               f"({config.restart})")
        started = time.perf_counter()
        _train_round(config, folder / "model", data_dirs)
        model = str(folder / "model")
        seconds["train"] = round(time.perf_counter() - started, 1)
        phase(f"round {number}: evaluate on {config.valid} valid statements")
        started = time.perf_counter()
        evaluation = evaluate_round(config, model, folder / "eval", train,
                                    read_results(zero / "eval"))
        seconds["eval"] = round(time.perf_counter() - started, 1)
        summary = {"round": number, "model": model, "pool": len(pool), **counts,
                   "new_statements": len(set(best) - set(before)), **evaluation,
                   "seconds": seconds, "best": {k: best[k] for k in best if k not in before
                                                or best[k] != before[k]}}
        write_json(folder / "summary.json", summary)
        summaries.append(summary)
        _print_row(summary)
    write_table(out, summaries)
    return summaries


def phase(text: str) -> None:
    """A phase starts: one line on stderr (the table rows go to stdout)."""
    print(f"iterate: {text}", file=sys.stderr, flush=True)


def _row(summary: dict[str, Any]) -> str:
    low, high = summary["valid_ci"]
    value = summary.get("value") or {}
    auc = f"{value['auc']:.3f}" if "auc" in value else "-"
    accuracy = (f"{value['accuracy']:.3f} vs {value['majority']:.3f}"
                if "accuracy" in value else "-")
    proved = (f"{summary['proved']}/{summary['searched']}" if "searched" in summary else "-")
    seconds = summary.get("seconds", {})
    times = " ".join(f"{k} {v:.0f}s" for k, v in seconds.items())
    return (f"| {summary['round']} | {proved} | {summary.get('new_statements', '-')} | "
            f"{summary['valid_proved']}/{summary['valid_attempted']} "
            f"({100 * summary['valid_rate']:.1f}%, CI {100 * low:.1f}-{100 * high:.1f}%) | "
            f"{auc} | {accuracy} ({value.get('n', 0)} goals) | {times} |")


HEADER = ("| round | pool proved | new | valid pass rate (95% CI) | value AUC | "
          "value accuracy vs majority | wall time |\n|---|---|---|---|---|---|---|")


def _print_row(summary: dict[str, Any], header: bool = False) -> None:
    if header:
        print(HEADER)
    print(_row(summary), flush=True)


def write_table(out: Path, summaries: Sequence[dict[str, Any]], header: str = HEADER,
                row: Any = None) -> None:
    """``table.md`` (``header`` and one ``row(summary)`` a round) and ``rounds.jsonl``."""
    row = row or _row
    (out / "table.md").write_text(header + "\n" + "\n".join(row(s) for s in summaries) + "\n")
    with open(out / "rounds.jsonl", "w") as sink:
        for summary in summaries:
            sink.write(json.dumps({k: v for k, v in summary.items() if k != "best"}) + "\n")
