"""``provergym prove``, ``provergym bench``, ``provergym export`` and ``provergym report``.

Heavy imports happen inside the commands, so ``provergym --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provergym.search.actions import INDEX_LEMMAS, LEMMA_LIMIT
from provergym.search.policies import FREQUENCY_WEIGHT

DEFAULT_DB = "/usr/share/metamath/databases/set.mm"


def register(subparsers) -> None:
    prove = subparsers.add_parser(
        "prove", help="search for a proof of one theorem (best-first, GPT-f style)",
        description="Best-first search on one Metamath theorem or Coq lemma; the proof found "
                    "is checked again (kernel + metamath-exe, or coqc).")
    prove.add_argument("theorem", help="a $p label, or a Coq lemma name with --file")
    prove.add_argument("--backend", choices=("metamath", "coq"), default="metamath")
    prove.add_argument("--db", default=DEFAULT_DB, help="Metamath database (default set.mm)")
    prove.add_argument("--file", help="Coq: the .v file that holds the lemma")
    prove.add_argument("--method", default=None,
                       help="metamath: frequency (default), uniform, model; "
                            "coq: fixed (default), model, model+sauto, knn, knn+sauto")
    prove.add_argument("--model", help="trained run folder (for --method model)")
    prove.add_argument("--data", default="", help="Coq knn methods: the Coq corpus whose "
                       "train split they retrieve from (default $PROVERGYM_HOME/corpora/coq)")
    _search_arguments(prove)
    prove.add_argument("--out", help="folder for the checked export (default: a temp folder)")
    prove.set_defaults(func=run_prove)

    bench = subparsers.add_parser(
        "bench", help="run methods and baselines over held-out theorems",
        description="Pass rates of search with the model and of the baselines on the same "
                    "held-out theorems; resumable; writes results.jsonl, summary.json and "
                    "report.html.")
    bench.add_argument("--backend", choices=("metamath", "coq"), default="metamath")
    bench.add_argument("--split", choices=("train", "valid", "test"), default="test")
    bench.add_argument("--theorems", help="a file of theorem names, one a line (instead of the "
                       "split manifest); for Coq, lines 'path/to/file.v:lemma'")
    bench.add_argument("--limit", type=int, default=0,
                       help="a fixed sample of this many theorems (0: all)")
    bench.add_argument("--first", type=int, default=0,
                       help="Metamath: only theorems among the database's first N $p")
    bench.add_argument("--db", default=DEFAULT_DB)
    bench.add_argument("--method", action="append", dest="methods",
                       help="repeatable; metamath: model frequency uniform improve; "
                            "coq: model model+sauto fixed knn knn+sauto sauto best hauto")
    bench.add_argument("--model", help="trained run folder (for the model methods)")
    bench.add_argument("--data", default="", help="Coq knn methods: the Coq corpus whose "
                       "train split they retrieve from (default $PROVERGYM_HOME/corpora/coq)")
    _search_arguments(bench)
    bench.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    bench.add_argument("--out", default="bench-out", help="output folder")
    bench.add_argument("--no-resume", action="store_true", help="start again from scratch")
    bench.add_argument("--improve-options", default="/3 /depth 1")
    bench.add_argument("--improve-seconds", type=float, default=20.0)
    bench.add_argument("--hammer-timeout", type=float, default=10.0)
    bench.add_argument("--no-progress", action="store_true")
    bench.set_defaults(func=run_bench_command)

    export = subparsers.add_parser(
        "export", help="write the proofs of a benchmark run into a database copy / .v files",
        description="Metamath: the proofs found go, compressed, into a copy of the database "
                    "that metamath-exe must verify with no error. Coq: .v files checked by coqc.")
    export.add_argument("--results", required=True, help="a results.jsonl from provergym bench")
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--db", help="Metamath database (default: the run's config.json)")
    export.add_argument("--method", help="only this method's proofs (default: all, first wins)")
    export.set_defaults(func=run_export)

    report = subparsers.add_parser("report", help="(re)write report.html of a benchmark run")
    report.add_argument("--out", required=True, help="the run's folder")
    report.set_defaults(func=run_report)


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", type=int, default=32, help="expansions per theorem (d)")
    parser.add_argument("--candidates", type=int, default=8, help="actions per expansion (e)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per theorem")
    parser.add_argument("--step-timeout", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--value-weight", type=float, default=0.0,
                        help="mix the model's value into the priority (0: log-prob only)")
    parser.add_argument("--retrieval-weight", type=float, default=None,
                        help="Metamath model: weight of the retrieved-label distribution in "
                             "the kNN-LM mixture (default 0.5 for a model trained with "
                             "hints, else 0); Coq model: weight of the tactics of the nearest "
                             "training states (from the model's corpus, or --data; default "
                             "0.5, 0: the model alone)")
    parser.add_argument("--frequency-weight", type=_weight, default=FREQUENCY_WEIGHT,
                        metavar="U",
                        help="Metamath model: mix the frequency policy's label distribution "
                             "(from the training proofs) into the model's with weight U "
                             f"(0 to 1; default {FREQUENCY_WEIGHT}; 0: off)")
    parser.add_argument("--context-terms", type=_off_or_more, default=0, metavar="N",
                        help="Metamath: fill a variable that no hypothesis fixes with up to N "
                             "sub-expressions of the goal and hypotheses (default 0: "
                             "off)")
    parser.add_argument("--retrieved-steps", type=_off_or_more, default=0, metavar="K",
                        help="Metamath model: also propose the whole steps (substitutions "
                             "included) of the K training goals nearest to the goal (needs a "
                             "model trained with hints; default 0: off)")
    parser.add_argument("--lemmas", type=_off_or_more, default=LEMMA_LIMIT, metavar="K",
                        help="Metamath: fix a variable that no hypothesis fixes by unifying the "
                             "hypothesis that mentions it with the conclusions of the K lemmas "
                             "that most often proved that hypothesis in training proofs "
                             f"(default {LEMMA_LIMIT}; 0: off)")
    parser.add_argument("--index-lemmas", type=_off_or_more, default=INDEX_LEMMAS, metavar="K",
                        help="Metamath: also fix such a variable with up to K earlier "
                             "assertions, found through the conclusion index, whose conclusion "
                             "unifies with that hypothesis (one with no hypotheses of its own "
                             "first, then those sharing the most rare constants with it; "
                             f"default {INDEX_LEMMAS}; 0: off)")
    parser.add_argument("--no-shortcuts", action="store_true",
                        help="Metamath: spend an expansion on every goal, even one that a "
                             "hypothesis or a single step closes (pure GPT-f search)")


def _fail(message: str) -> int:
    print(f"provergym: error: {message}", file=sys.stderr)
    return 2


def _search_config(args: argparse.Namespace):
    from provergym.search.bestfirst import SearchConfig

    return SearchConfig(expansions=args.budget, candidates=args.candidates,
                        time_limit=args.time_limit, step_timeout=args.step_timeout,
                        value_weight=args.value_weight,
                        close_by_hypothesis=not args.no_shortcuts,
                        close_in_one_step=not args.no_shortcuts)


def _weight(text: str) -> float:
    """argparse type: a mixture weight between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def _off_or_more(text: str) -> int:
    """argparse type: a count, 0 meaning off."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (off) or more, not {value}")
    return value


def _read_names(path: str) -> list[str]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def run_prove(args: argparse.Namespace) -> int:
    from provergym.api import InitError, ProverError
    from provergym.bench.runner import BenchError
    from provergym.metamath.database import MetamathError

    try:
        config = _search_config(args)
        if args.backend == "metamath":
            return _prove_metamath(args, config)
        return _prove_coq(args, config)
    except (BenchError, InitError, ProverError, MetamathError, ValueError, OSError) as error:
        return _fail(str(error))


def _print_result(result) -> None:
    stats = result.stats
    print(f"{result.theorem}: {result.status} after {stats.expansions} expansions, "
          f"{stats.prover_calls} prover calls, {stats.seconds:.2f} s"
          + (f" ({result.message})" if result.message else ""))
    if result.actions:
        print("actions:\n  " + "\n  ".join(result.actions))
    if result.proof:
        print(f"proof: {result.proof}")
    for name, verdict in result.checks.items():
        print(f"check {name}: {verdict}")


def _prove_metamath(args: argparse.Namespace, config) -> int:
    from provergym.bench.runner import BenchConfig, _metamath_env, _policy
    from provergym.search.bestfirst import best_first_search
    from provergym.search.check import check_metamath_results

    method = args.method or "frequency"
    if method not in ("frequency", "uniform", "model"):
        return _fail(f"unknown metamath search method {method!r}")
    bench = BenchConfig(backend="metamath", methods=(method,), theorems=(args.theorem,),
                        out_dir=args.out or "", db=args.db, model=args.model, search=config,
                        retrieval_weight=args.retrieval_weight,
                        context_terms=args.context_terms, retrieved_steps=args.retrieved_steps,
                        lemmas=args.lemmas, index_lemmas=args.index_lemmas,
                        frequency_weight=args.frequency_weight)
    env = _metamath_env(bench)
    statement = env.db.statements.get(args.theorem)
    if statement is None or statement.kind != "p":
        return _fail(f"{args.db}: no $p statement labelled {args.theorem!r}")
    # the proofs of everything before it are the training proofs (counts, lemma table)
    if method == "frequency" or args.lemmas or (method == "model" and args.frequency_weight):
        earlier = tuple(s.label for s in env.db.theorems() if s.index < statement.index)
        bench = BenchConfig(**{**bench.__dict__, "train_theorems": earlier})
    result = best_first_search(env, args.theorem, _policy(bench, method), config)
    result = check_metamath_results(env.db, [result], args.out)[0]
    _print_result(result)
    return 0 if result.proved else 1


def _prove_coq(args: argparse.Namespace, config) -> int:
    from provergym.coq.env import CoqFile
    from provergym.search import policies
    from provergym.search.bestfirst import best_first_search
    from provergym.search.check import check_coq_result

    if not args.file:
        return _fail("--backend coq needs --file FILE.v")
    method = args.method or "fixed"
    if method == "fixed":
        policy = policies.FixedTactics()
    elif method in ("model", "model+sauto", "knn", "knn+sauto"):
        from provergym.bench.runner import (
            BenchConfig,
            BenchError,
            coq_model_policy,
            nearest_tactics,
        )

        if method.startswith("model") and not args.model:
            return _fail("--method model needs --model DIR")
        bench = BenchConfig(backend="coq", methods=(), theorems=(), out_dir="",
                            model=args.model, retrieval_weight=args.retrieval_weight,
                            data=args.data)
        try:
            policy = coq_model_policy(bench) if method.startswith("model") else \
                nearest_tactics(bench)
        except BenchError as error:
            return _fail(str(error))
        if method.endswith("+sauto"):
            policy = policies.WithFallback(policy)
    else:
        return _fail(f"unknown coq search method {method!r}")
    import tempfile
    from dataclasses import replace

    from provergym.bench.runner import WITH_SAUTO, _WithPreamble
    from provergym.coq.hammer import HAMMER_IMPORT

    with CoqFile(args.file, step_timeout=config.step_timeout) as env:
        if method in WITH_SAUTO:  # sauto needs CoqHammer, imported just before the lemma
            result = best_first_search(_WithPreamble(env, (HAMMER_IMPORT,)), args.theorem,
                                       policy, config)
            result = replace(result, preamble=(HAMMER_IMPORT,))
        else:
            result = best_first_search(env, args.theorem, policy, config)
        out = args.out or tempfile.mkdtemp(prefix="provergym-coq-")
        result = check_coq_result(env, result, out)
    _print_result(result)
    return 0 if result.proved else 1


def run_bench_command(args: argparse.Namespace) -> int:
    import signal

    from provergym.api import InitError, ProverError
    from provergym.bench.report import write_report
    from provergym.bench.runner import (
        COQ_METHODS,
        BenchConfig,
        BenchError,
        fixed_sample,
        manifest_theorems,
        run_bench,
    )
    from provergym.bench.summary import format_summary

    # A plain kill runs the clean-up code too (prover processes are killed, no orphans).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        methods = tuple(args.methods or (
            ("frequency", "uniform", "improve") + (("model",) if args.model else ())
            if args.backend == "metamath" else
            ("fixed", "sauto") + (("model", "model+sauto") if args.model else ())))
        if args.backend == "coq" and any(m not in COQ_METHODS for m in methods):
            raise BenchError(f"coq methods are {', '.join(COQ_METHODS)}")
        if args.theorems:
            names = _read_names(args.theorems)
        else:
            names = manifest_theorems(args.backend, args.split)
        train: tuple[str, ...] = ()
        if args.backend == "metamath":
            names, train = _metamath_names(args, names)
        names = fixed_sample(names, args.limit or None)
        config = BenchConfig(
            backend=args.backend, methods=methods, theorems=tuple(names), out_dir=args.out,
            db=args.db, train_theorems=train, model=args.model, search=_search_config(args),
            retrieval_weight=args.retrieval_weight, context_terms=args.context_terms,
            retrieved_steps=args.retrieved_steps, lemmas=args.lemmas,
            index_lemmas=args.index_lemmas,
            frequency_weight=args.frequency_weight, jobs=max(1, args.jobs), resume=not args.no_resume,
            improve_options=args.improve_options, improve_seconds=args.improve_seconds,
            hammer_timeout=args.hammer_timeout, data=args.data, progress=not args.no_progress)
        summary = run_bench(config)
    except (BenchError, InitError, ProverError, ValueError, OSError) as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail(f"interrupted; run the same command again to resume ({args.out})")
    print(format_summary(summary))
    print(f"report: {write_report(args.out)}")
    return 0


def _metamath_names(args: argparse.Namespace, names: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """The theorems to run (restricted to the first N $p with --first), and the training
    theorems for the frequency baseline: the train manifest when there is one, else every
    $p not under test."""
    from provergym.bench.runner import BenchConfig, BenchError, _metamath_env

    env = _metamath_env(BenchConfig(backend="metamath", methods=(), theorems=(),
                                    out_dir="", db=args.db))
    theorems = env.db.theorems()
    allowed = {s.label for s in (theorems[:args.first] if args.first else theorems)}
    missing = [n for n in names if n not in env.db.statements]
    if missing:
        raise BenchError(f"{args.db}: unknown labels {', '.join(missing[:5])} (is this the "
                         "database the manifest was made from?)")
    chosen = [n for n in names if n in allowed]
    try:
        from provergym.bench.runner import manifest_theorems

        train = manifest_theorems("metamath", "train")
    except BenchError:
        held_out = set(names)
        train = [s.label for s in theorems if s.label not in held_out]
    return chosen, tuple(train)


def run_export(args: argparse.Namespace) -> int:
    from provergym.bench.export import ExportFailed, export_results

    try:
        message = export_results(args.results, args.out, db=args.db, method=args.method)
    except (ExportFailed, ValueError, OSError) as error:
        return _fail(str(error))
    print(message)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from provergym.bench.report import write_report

    if not (Path(args.out) / "results.jsonl").exists():
        return _fail(f"{args.out}: no results.jsonl (run provergym bench first)")
    print(f"report: {write_report(args.out)}")
    return 0
