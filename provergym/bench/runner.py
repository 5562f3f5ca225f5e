"""The benchmark runner: held-out theorems, several methods, one JSON line per attempt.

Methods, all run on the same theorems:

- Metamath: ``model`` (best-first search with the trained policy), ``frequency`` and
  ``uniform`` (the same search with a policy that uses no model), ``improve``
  (metamath-exe's Proof Assistant).
- Coq: ``model``, ``model+sauto`` (the model with ``sauto`` as a fallback tactic), ``fixed``
  (a fixed tactic list), ``knn`` and ``knn+sauto`` (the tactics of the nearest training
  states, no trained model; the Coq corpus of ``data``), and CoqHammer's
  ``sauto``/``best``/``hauto``.

Results go to ``<out>/results.jsonl`` (one line per method and theorem) as they come, so an
interrupted run resumes where it stopped (``resume=True`` skips what is there). Proofs are
then checked independently (Metamath: kernel and metamath-exe on a database copy per method;
Coq: coqc, in the worker) and the file is rewritten with the verdicts: a rejected proof is
a ``check_failed`` result, never a success. ``summary.json`` holds the pass rates.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.defaults import FREQUENCY_WEIGHT, POLICY_SERVER
from corpora.common import MANIFEST_ROOT, read_manifest
from corpora.coq import display_name, load_paths, source_path
from provergym import progress
from provergym.api import InitError, Proved, ProverError
from provergym.bench.check import METAMATH_EXE, check_coq_result, check_metamath_results
from provergym.bench.improve import run_improve
from provergym.bench.methods import (
    BenchError,
    MethodConfig,
    WithPreamble,
    build_policy,
    check_ready,
    get_method,
    metamath_env,
    release_models,
)
from provergym.bench.summary import summarise
from provergym.coq.env import CoqFile
from provergym.coq.hammer import HAMMER_IMPORT, HammerProver
from provergym.distributed import LOCAL, Executor, connect, supervised
from provergym.metamath.actions import INDEX_LEMMAS, LEMMA_LIMIT, CandidateConfig
from provergym.paths import SET_MM
from provergym.search.bestfirst import SearchConfig, best_first_search
from provergym.search.result import (
    ERROR,
    EXHAUSTED,
    PROVED,
    SearchResult,
    SearchStats,
)

RESULTS = "results.jsonl"


class SettingsChanged(BenchError):
    """An output folder whose results were made with other settings (not resumed)."""

SUMMARY = "summary.json"


@dataclass(frozen=True)
class BenchConfig:
    backend: str  # "metamath" or "coq"
    methods: tuple[str, ...]
    theorems: tuple[str, ...]  # Metamath labels, or "path/to/file.v:lemma" for Coq
    out_dir: str
    db: str = SET_MM
    train_theorems: tuple[str, ...] = ()  # for the frequency policy's counts
    model: str | None = None
    # Model: kNN-LM weight of retrieval (Metamath: the model's retriever; Coq: the tactics of
    # the nearest training states), None: the policy's default
    retrieval_weight: float | None = None
    # Metamath: lemmas per hypothesis that the look-ahead unifies with to fix open variables
    # (provergym.metamath.actions.LEMMA_LIMIT; the table comes from train_theorems' proofs)
    lemmas: int = LEMMA_LIMIT
    # Metamath: lemmas per such hypothesis found through the conclusion index, any earlier
    # assertion whose conclusion unifies with it (provergym.metamath.actions.INDEX_LEMMAS)
    index_lemmas: int = INDEX_LEMMAS
    # Metamath model: weight of the frequency policy's label distribution (from the training
    # theorems' proofs) mixed into the model's (0: the model and retrieval alone)
    frequency_weight: float = FREQUENCY_WEIGHT
    search: SearchConfig = field(default_factory=SearchConfig)
    jobs: int = 1  # workers (Ray: actors; 0 there: one per CPU of the cluster)
    # where the workers run: this machine's forked pool, or Ray (changes no result)
    executor: Executor = LOCAL
    # Metamath model on Ray: one policy server (agents.policy_server) answers every
    # worker's model calls, batched; its first-token figures may differ from a local
    # model's in the last bits
    policy_server: bool = False
    resume: bool = True
    improve_options: str = "/3 /depth 1"
    improve_seconds: float = 20.0  # per theorem (a batch's limit is this times its size)
    hammer_timeout: float = 10.0
    coq_args: tuple[str, ...] = ()
    # Coq knn methods: the corpus whose train split they retrieve from ("" is
    # $PROVERGYM_HOME/corpora/coq, where `provergym corpus build coq` puts it)
    data: str = ""
    # Coq knn methods: datasets whose train splits join the corpus's (expert iteration)
    extra_data: tuple[str, ...] = ()
    progress: bool = True
    # keep the search tree of every attempt, not only of the proved ones (expert iteration
    # reads the value targets from them); changes no result
    keep_all_trees: bool = False

    def __post_init__(self) -> None:
        if self.backend not in ("metamath", "coq"):
            raise BenchError(f"unknown backend {self.backend!r}: use metamath or coq")
        for method in self.methods:
            get_method(self.backend, method)  # a clear error for an unknown one
        if not 0.0 <= self.frequency_weight <= 1.0:
            raise BenchError(f"frequency_weight must be between 0 and 1, "
                             f"not {self.frequency_weight}")
        if any(get_method(self.backend, m).needs_model for m in self.methods) and not self.model:
            raise BenchError("the model method needs --model DIR (a trained run folder)")
        if self.policy_server and (self.executor.kind != "ray" or self.backend != "metamath"):
            raise BenchError("--policy-server needs --executor ray and the Metamath backend")

    @functools.cached_property
    def method_config(self) -> MethodConfig:
        """What the methods' policies are built from (the registry's cache key). Metamath:
        the candidates are the labels before the last theorem under test."""
        labels_before = None
        if self.backend == "metamath" and self.theorems:
            statements = metamath_env(self.db).db.statements
            known = [statements[t].index for t in self.theorems if t in statements]
            labels_before = max(known) if known else None
        return MethodConfig(
            backend=self.backend, db=self.db, model=self.model,
            retrieval_weight=self.retrieval_weight, frequency_weight=self.frequency_weight,
            candidates=CandidateConfig(lemma_limit=self.lemmas, index_lemmas=self.index_lemmas),
            train_theorems=self.train_theorems if self.backend == "metamath" else (),
            labels_before=labels_before, data=self.data if self.backend == "coq" else "",
            extra_data=self.extra_data if self.backend == "coq" else (),
            policy_server=POLICY_SERVER if self.policy_server else "")


# -- theorems ---------------------------------------------------------------------------------
def manifest_theorems(backend: str, split: str, root: str | os.PathLike[str] | None = None) -> list[str]:
    """The names in the committed manifest ``corpora/splits/<backend>/<split>.txt``."""
    directory = Path(root or MANIFEST_ROOT) / backend
    manifest = read_manifest(directory)
    if manifest is None:
        raise BenchError(f"no split manifest in {directory}: run `provergym corpus build "
                         f"{backend}` (it writes and commits the manifests), or pass --theorems")
    return [name for name, owner in manifest.items() if owner == split]


def metamath_manifest(db_path: str | os.PathLike[str], db: Any) -> tuple[dict[str, str], str]:
    """The split (name -> split) of a Metamath database's ``$p`` and where it lives. set.mm
    (every label of the committed manifest is in the database) keeps its committed
    manifest, ``corpora/splits/metamath/``. Any other database gets the same seeded rule
    (``corpora.metamath.database_split``), written on first use to
    ``$PROVERGYM_HOME/manifests/<file name>-<SHA-256 of its content, 16 digits>/``, so a
    changed file gets a new manifest and an unchanged one always the same."""
    from corpora.common import SPLITS, write_manifest
    from corpora.metamath import database_split
    from provergym.paths import provergym_home

    committed_dir = Path(MANIFEST_ROOT) / "metamath"
    committed = read_manifest(committed_dir)
    if committed is not None and all(name in db.statements for name in committed):
        return committed, str(committed_dir)
    digest = hashlib.sha256()
    with open(db_path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    directory = provergym_home() / "manifests" / f"{Path(db_path).name}-{digest.hexdigest()[:16]}"
    found = read_manifest(directory)
    if found is None:
        split = database_split(db)
        staging = directory.with_name(directory.name + f".tmp{os.getpid()}")
        write_manifest(staging, {name: split[name] for name in SPLITS})
        try:
            os.replace(staging, directory)
        except OSError:  # another process wrote it first: the same content
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
        found = read_manifest(directory) or {}
    return found, str(directory)


def fixed_sample(names: Iterable[str], limit: int | None, seed: int = 0) -> list[str]:
    """A fixed pseudo-random sample (by SHA-256 of the name), the same on every machine."""
    ranked = sorted(set(names), key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).hexdigest())
    return ranked[:limit] if limit else ranked


# -- results file ------------------------------------------------------------------------------
def read_results(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The lines of ``out_dir``'s ``results.jsonl`` (none without one): see
    :func:`read_results_file`."""
    path = Path(out_dir) / RESULTS
    return read_results_file(path) if path.exists() else []


def read_results_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every line of a results file. The last line, when a kill cut it off (no newline
    after it), is skipped with a warning; any other line that is not one result is a
    :class:`BenchError` naming the file and the line."""
    path = Path(path)
    try:
        rows = path.read_bytes().split(b"\n")
    except OSError as error:
        raise BenchError(f"cannot read {path}: {error.strerror}") from None
    lines = []
    for number, row in enumerate(rows, 1):
        unfinished = number == len(rows)  # no newline after it: maybe cut off by a kill
        try:
            # a line cut off by a kill may end inside a character
            text = codecs.getincrementaldecoder("utf-8")().decode(row, final=not unfinished)
            if not text.strip():
                continue
            line = json.loads(text)
        except UnicodeDecodeError:
            raise BenchError(f"{path}:{number}: not UTF-8 text (is it a results.jsonl "
                             "written by provergym bench?)") from None
        except RecursionError:
            raise BenchError(f"{path}:{number}: not a result line: JSON nested too deep; "
                             "fix or delete that line") from None
        except json.JSONDecodeError as error:
            if unfinished and text.startswith("{"):
                _warn(f"{path}:{number}: skipped the last line, cut off before its end "
                      "(by a kill?)")
                continue
            raise BenchError(f"{path}:{number}: not a JSON line ({error.msg} at column "
                             f"{error.colno}); fix or delete that line") from None
        except ValueError as error:  # e.g. an integer of more than 4,300 digits
            raise BenchError(f"{path}:{number}: not a result line ({error}); fix or "
                             "delete that line") from None
        problem = _not_a_result(line)
        if problem:
            raise BenchError(f"{path}:{number}: not a result line: {problem}; fix or "
                             "delete that line")
        lines.append(line)
    return lines


def _not_a_result(line: Any) -> str:
    """What keeps a parsed line from being one result line ("" when nothing does)."""
    if not isinstance(line, dict):
        return f"a JSON {type(line).__name__}, not an object"
    for key in ("method", "theorem"):
        if not isinstance(line.get(key), str):
            return f"no {key!r} string"
    result = line.get("result")
    if not isinstance(result, dict):
        return "no 'result' object"
    if not isinstance(result.get("status"), str):
        return "its result has no 'status' string"
    if result.get("proof") is not None and not isinstance(result["proof"], str):
        return "its proof is not a string"
    stats = result.get("stats")
    if not isinstance(stats, dict) or not all(
            isinstance(stats.get(key), (int, float)) and not isinstance(stats.get(key), bool)
            for key in ("expansions", "seconds")):
        return "its result has no 'stats' with numeric 'expansions' and 'seconds'"
    return ""


def _end_last_line(path: Path) -> None:
    """Make the file end with a newline before lines are appended, so that none is glued
    onto its last line: a last line that a kill cut off is removed (reading skipped it),
    a complete one is ended."""
    data = path.read_bytes() if path.exists() else b""
    if data and not data.endswith(b"\n"):
        end = data.rfind(b"\n") + 1
        try:
            json.loads(data[end:])
        except (ValueError, RecursionError):
            with open(path, "r+b") as handle:
                handle.truncate(end)
        else:
            with open(path, "ab") as handle:
                handle.write(b"\n")


def _write_results_atomic(out_dir: Path, lines: Sequence[dict[str, Any]]) -> None:
    tmp = out_dir / (RESULTS + ".tmp")
    with open(tmp, "w") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")
    os.replace(tmp, out_dir / RESULTS)


def _line(method: str, result: SearchResult, keep_tree: bool) -> dict[str, Any]:
    return {"method": method, "theorem": result.theorem,
            "result": result.to_json(with_tree=keep_tree)}


# -- workers ------------------------------------------------------------------------------------
# Built once per process: in the parent before forking (Metamath's database, grammar and the
# model-free policies are shared copy-on-write), or in the worker (the model, Coq sessions).
_STATE: dict[str, Any] = {}


def coq_source(name: str) -> tuple[str, tuple[str, ...]]:
    """A manifest's file name (``stdlib/Arith/Between.v``, ``mathcomp/...``) or a path ->
    the real path and the load-path flags it needs."""
    path = source_path(name)
    return str(path), tuple(load_paths(path))


def _coq_file(config: BenchConfig, path: str) -> Any:
    files = _STATE.setdefault("coq_files", {})
    if path not in files:
        real, flags = coq_source(path)
        files[path] = CoqFile(real, coq_args=(*flags, *config.coq_args),
                              step_timeout=config.search.step_timeout)
    return files[path]


def _close_coq() -> None:
    for env in _STATE.pop("coq_files", {}).values():
        env.close()


def _policy(config: BenchConfig, method: str) -> Any:
    return build_policy(config.backend, method, config.method_config)


def _failure(theorem: str, status: str, message: str, seconds: float = 0.0) -> SearchResult:
    return SearchResult(theorem=theorem, status=status, message=message,
                        stats=SearchStats(0, 0, 0, 0, round(seconds, 4), 0.0, 0.0))


def _attempt(config: BenchConfig, method: str, theorem: str) -> SearchResult:
    """One method on one theorem; never raises for a failed attempt."""
    started = time.perf_counter()
    try:
        if config.backend == "metamath":
            return best_first_search(metamath_env(config.db), theorem,
                                     _policy(config, method), config.search)
        path, _, lemma = theorem.rpartition(":")
        if method in ("sauto", "best", "hauto"):
            result = _hammer(config, method, path, lemma)
        else:
            env = _coq_file(config, path)
            policy = _policy(config, method)
            _set_attempt(policy, env, lemma)
            preamble = get_method("coq", method).preamble
            if preamble:
                # sauto needs CoqHammer, imported just before the statement (not at the top
                # of the file: its hints change how later `intuition` calls behave).
                result = best_first_search(WithPreamble(env, preamble), lemma, policy,
                                           config.search)
                result = replace(result, preamble=preamble)
            else:
                result = best_first_search(env, lemma, policy, config.search)
            result = replace(result, theorem=theorem)
        if result.status == PROVED:
            result = _check_coq(config, method, path, lemma, result)
        return result
    except (InitError, ProverError, BenchError) as error:
        return _failure(theorem, ERROR, str(error), time.perf_counter() - started)


def _set_attempt(policy: Any, env: CoqFile, lemma: str) -> None:
    """Tell a retrieval policy which lemma is attempted: it leaves out that lemma's own
    states and those of the lemmas after it in its file."""
    set_attempt = getattr(policy, "set_attempt", None)
    if set_attempt is None:
        return
    found = env.lemmas.get(lemma)
    set_attempt(display_name(env.path), found.line if found else None)


def _hammer(config: BenchConfig, tactic: str, path: str, lemma: str) -> SearchResult:
    started = time.perf_counter()
    real, flags = coq_source(path)
    with HammerProver(real, coq_args=(*flags, *config.coq_args), timeout=config.hammer_timeout,
                      tactic=tactic) as prover:
        outcome = prover.prove(lemma)
    seconds = time.perf_counter() - started
    stats = SearchStats(1, 1, 0, 1, round(seconds, 4), 0.0, round(seconds, 4))
    theorem = f"{path}:{lemma}"
    if isinstance(outcome, Proved):
        return SearchResult(theorem, PROVED, proof=outcome.proof, actions=(f"{tactic}.",),
                            stats=stats, checks={"backend": "ok"}, expansions_to_proof=1,
                            preamble=(HAMMER_IMPORT,))
    return SearchResult(theorem, EXHAUSTED, message=outcome.reason[:300], stats=stats)


def _check_coq(config: BenchConfig, method: str, path: str, lemma: str,
               result: SearchResult) -> SearchResult:
    env = _coq_file(config, path)
    out = Path(config.out_dir) / "coq_proofs" / method.replace("+", "_")
    # The check exports the lemma under its own name; keep the "file:lemma" theorem id.
    checked = check_coq_result(env, replace(result, theorem=lemma), out)
    return replace(checked, theorem=result.theorem)


def _work(task: tuple[BenchConfig, str, str]) -> dict[str, Any]:
    import resource

    config, method, theorem = task
    result = _attempt(config, method, theorem)
    line = _line(method, result, keep_tree=result.status == PROVED or config.keep_all_trees)
    # The attempting process's peak memory so far (Linux: KiB): a run's lines show whether a
    # worker grows until the kernel kills it.
    line["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return line


def _improve_work(task: tuple[BenchConfig, list[str]]) -> list[dict[str, Any]]:
    config, theorems = task
    lines = []
    for outcome in run_improve(config.db, theorems, options=config.improve_options,
                               seconds_per_theorem=config.improve_seconds):
        stats = SearchStats(1, 1, 0, 0, round(outcome.seconds, 4), 0.0, round(outcome.seconds, 4))
        if outcome.proof:
            # A candidate only: the check stage runs our kernel and metamath-exe on it.
            result = SearchResult(outcome.theorem, PROVED, proof=outcome.proof, stats=stats,
                                  message="found by improve " + config.improve_options,
                                  expansions_to_proof=1)
        else:
            result = SearchResult(outcome.theorem, EXHAUSTED, message=outcome.message,
                                  stats=stats)
        lines.append(_line("improve", result, keep_tree=False))
    return lines


# -- the run --------------------------------------------------------------------------------------
ENVIRONMENT = "environment.json"


def _record_environment(out_dir: Path) -> None:
    """The versions this run (or its latest resumption) ran with, for the report's header:
    provergym and its commit, Coq, metamath-exe, the libraries, set.mm's hash. Not part of
    the settings a resumed run must match."""
    from provergym.env_report import collect

    try:
        (out_dir / ENVIRONMENT).write_text(json.dumps(collect(), indent=1))
    except OSError as error:  # a report without versions beats no run
        progress.write(f"warning: {out_dir / ENVIRONMENT}: {error}")


def run_bench(config: BenchConfig) -> dict[str, Any]:
    """Run every method on every theorem (resuming), check the proofs, write the summary."""
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not config.theorems:
        raise BenchError("no theorems to run on")
    if config.backend == "metamath":
        env = metamath_env(config.db)
        unknown = [t for t in config.theorems
                   if t not in env.db.statements or env.db.statements[t].kind != "p"]
        if unknown:
            raise BenchError(f"{config.db}: not $p statements: {', '.join(unknown[:5])}")
    for method in config.methods:  # a missing model or corpus: one clear error now
        check_ready(config.backend, method, config.method_config)
    if not config.resume and (out_dir / RESULTS).exists():
        (out_dir / RESULTS).unlink()
    done = {(line["method"], line["theorem"]) for line in read_results(out_dir)}
    recorded = {**asdict(config), "train_theorems": len(config.train_theorems)}
    if done:
        _check_same_settings(out_dir, recorded)
    (out_dir / "config.json").write_text(json.dumps(recorded, indent=1, default=str))
    _record_environment(out_dir)
    _end_last_line(out_dir / RESULTS)
    with open(out_dir / RESULTS, "a") as sink:
        for method in config.methods:
            todo = [t for t in config.theorems if (method, t) not in done]
            if not todo:
                continue
            bar = progress.bar(total=len(todo), desc=f"{config.backend}/{method}", unit="thm",
                               enabled=config.progress)
            proved = 0
            for line in _run_method(config, method, todo):
                sink.write(json.dumps(line) + "\n")
                sink.flush()
                proved += line["result"]["status"] == PROVED
                bar.update(1)
                bar.set_postfix(proved=proved)
            bar.close()
    if config.backend == "metamath":
        _check_metamath(config, out_dir)
    release_models()  # the model's memory is not kept once its run is over
    summary = summarise(read_results(out_dir), config, clean_subset(config))
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=1))
    return summary


def clean_subset(config: BenchConfig) -> dict[str, Any] | None:
    """The clean subset of a Metamath run's theorems (no restatement of an earlier
    assertion, nothing discouraged: :mod:`provergym.metamath.integrity`), with its counts
    and how each kind is detected; None for Coq (no such detection yet)."""
    if config.backend != "metamath":
        return None
    from provergym.metamath.integrity import DETECTION, integrity

    facts = integrity(metamath_env(config.db).db)
    return {**facts.counts(config.theorems), "theorems": facts.clean(config.theorems),
            "detection": DETECTION,
            "excluded": {label: facts.reasons(label) for label in config.theorems
                         if facts.reasons(label)}}


# Settings that change what a method proves: results made with others are not resumed.
# (Methods, theorems, jobs and progress may change between runs.) Older runs did not record
# the later settings; they ran with the values in _BEFORE.
_SETTINGS = ("backend", "db", "model", "retrieval_weight", "context_terms", "retrieved_steps",
             "lemmas", "index_lemmas", "frequency_weight", "policy_server",
             "search", "improve_options", "improve_seconds", "hammer_timeout", "coq_args",
             "data")
_BEFORE = {"context_terms": 0, "retrieved_steps": 0, "lemmas": 0, "index_lemmas": 0,
           "frequency_weight": 0.0, "data": "", "policy_server": False}
# Settings since removed, with the value every run since has had (their figures are in
# benchmarks/RESULTS.md): a run made with another value is not resumed.
_REMOVED = {"context_terms": 0, "retrieved_steps": 0}
# Settings that only one backend reads: a change in the other backend's is no change.
_ONLY = {"metamath": ("db", "context_terms", "retrieved_steps", "lemmas",
                      "index_lemmas", "frequency_weight", "improve_options", "improve_seconds",
                      "policy_server"),
         "coq": ("hammer_timeout", "coq_args", "data")}


def _check_same_settings(out_dir: Path, recorded: dict[str, Any]) -> None:
    path = out_dir / "config.json"
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        problem = "" if isinstance(old, dict) else "not a JSON object"
    except FileNotFoundError:
        return  # results without a config: nothing to compare against
    except (OSError, ValueError) as error:  # unreadable, not text, or not JSON
        problem = str(error)
    if problem:  # nothing to compare against either; say so before it is replaced
        _warn(f"{path}: not a readable bench config ({problem}); the settings of the "
              "results beside it are not compared")
        return
    new = json.loads(json.dumps(recorded, default=str))
    new.update(_REMOVED)
    for settings in (old.get("search"), new.get("search")):
        if isinstance(settings, dict):  # what is kept of the tree changes no result
            settings.pop("keep_tree", None)
            settings.pop("max_text", None)
    other = "coq" if new.get("backend") == "metamath" else "metamath"
    changed = [f"{key}: {old.get(key, _BEFORE.get(key))!r} -> {new.get(key)!r}"
               for key in _SETTINGS if key not in _ONLY[other]
               and old.get(key, _BEFORE.get(key)) != new.get(key)]
    if changed:
        raise SettingsChanged(f"{out_dir}: its results were made with other settings "
                         f"({'; '.join(changed)}); give another --out, or --no-resume to "
                         f"start over there")


def _run_method(config: BenchConfig, method: str, todo: list[str]) -> Iterable[dict[str, Any]]:
    if method == "improve":
        chunks = [todo[i:i + 10] for i in range(0, len(todo), 10)]
        tasks_i = [(config, chunk) for chunk in chunks]
        if config.jobs <= 1 and config.executor.kind == "local":
            for task in tasks_i:
                yield from _improve_work(task)
            return
        limit = _hard_limit(config.improve_seconds * 10)
        for lines in supervised(_improve_work, tasks_i, config.jobs, limit, _lost_improve,
                                initializer=_worker_init, executor=config.executor):
            yield from lines
        return
    tasks = [(config, method, theorem) for theorem in todo]
    if config.policy_server and get_method(config.backend, method).needs_model:
        from agents.policy_server import ensure_server

        connect(config.executor.address, config.jobs or None)
        try:
            ensure_server(config.model or "", POLICY_SERVER)
        except ValueError as error:
            raise BenchError(str(error)) from None
    local = config.executor.kind == "local"
    if (local and config.backend == "metamath"
            and not get_method("metamath", method).needs_model):
        _policy(config, method)  # build before forking: the workers share it
    if config.jobs <= 1 and local:
        try:
            for task in tasks:
                yield _work(task)
        finally:
            _close_coq()
        return
    # Ray's actors are warm: each builds the policy once (the method registry's cache) and
    # keeps its Coq sessions, for all the theorems it is given.
    yield from supervised(_work, tasks, config.jobs, _hard_limit(config.search.time_limit),
                          _lost_attempt, initializer=_worker_init, executor=config.executor)


# A worker's attempt gets its own time limit and then this much more, for loading the model
# or the k-NN corpus, opening a Coq file and the final check, before it is killed: a guard
# against a hang or one overlong call, not a second budget.
HARD_LIMIT_SLACK = 300.0


def _hard_limit(seconds: float) -> float:
    """Seconds after which a worker's task is killed, for a task whose own limit is
    ``seconds``."""
    return 2 * seconds + HARD_LIMIT_SLACK


def _lost_attempt(task: tuple[BenchConfig, str, str], status: str, message: str) -> dict[str, Any]:
    _, method, theorem = task
    _warn(f"{method} on {theorem}: {message}")
    return _line(method, _failure(theorem, status, message), keep_tree=False)


def _lost_improve(task: tuple[BenchConfig, list[str]], status: str,
                  message: str) -> list[dict[str, Any]]:
    _warn(f"improve on {', '.join(task[1])}: {message}")
    return [_line("improve", _failure(theorem, status, message), keep_tree=False)
            for theorem in task[1]]


def _warn(message: str) -> None:
    progress.write(f"warning: {message}")  # above the progress bar, not through it


def _worker_init() -> None:
    import signal
    from multiprocessing.util import Finalize

    # The bench command's SIGTERM handler (clean up, then exit) needs the main thread,
    # which an idle worker has blocked on the task queue; the default action kills the
    # worker whichever thread the signal lands on, and its provers see their input close.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    Finalize(None, _close_coq, exitpriority=10)  # a worker's normal exit skips atexit


def _check_metamath(config: BenchConfig, out_dir: Path) -> None:
    """Kernel + metamath-exe on every proof that has not been checked by both yet."""
    lines = read_results(out_dir)
    env = metamath_env(config.db)
    changed = False
    for method in {line["method"] for line in lines}:
        indices = [i for i, line in enumerate(lines) if line["method"] == method
                   and line["result"]["status"] == PROVED
                   and METAMATH_EXE not in line["result"].get("checks", {})]
        if not indices:
            continue
        results = [SearchResult.from_json(lines[i]["result"]) for i in indices]
        # checked in a temporary copy of the database (no 41 MB copy per method in the run)
        checked = check_metamath_results(env.db, results)
        for i, result in zip(indices, checked):
            lines[i] = _line(method, result, keep_tree=bool(lines[i]["result"].get("tree")))
            if result.status != PROVED:
                # improve's Proof Assistant does not check $d while it searches (a known
                # trait); for our own search a rejected proof is a bug.
                prefix = "note: improve's" if method == "improve" else f"BUG: {method}'s"
                print(f"{prefix} proof of {result.theorem} is rejected: {result.message}")
        changed = True
    if changed:
        _write_results_atomic(out_dir, lines)
