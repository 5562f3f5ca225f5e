"""``provergym prove``, ``provergym bench``, ``provergym export`` and ``provergym report``.

Heavy imports happen inside the commands, so ``provergym --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.defaults import FREQUENCY_WEIGHT
from provergym import distributed
from provergym.bench.methods import method_names
from provergym.cliargs import renamed
from provergym.coq.cli import add_load_paths, load_path_args
from provergym.errors import UserError
from provergym.metamath.actions import INDEX_LEMMAS, LEMMA_LIMIT
from provergym.paths import SET_MM


def register(subparsers) -> None:
    prove = subparsers.add_parser(
        "prove", help="search for a proof of one theorem (best-first, GPT-f style)",
        description="Best-first search on one Metamath theorem or Coq lemma; the proof found "
                    "is checked again (kernel + metamath-exe, or coqc).")
    prove.add_argument("theorem", help="a $p label, or a Coq lemma name with --file")
    prove.add_argument("--backend", choices=("metamath", "coq"), default="metamath",
                       help="the prover")
    prove.add_argument("--db", default=SET_MM, help="Metamath database (default set.mm)")
    prove.add_argument("--file", help="Coq: the .v file that holds the lemma")
    prove.add_argument("--method", default=None,
                       help="metamath: frequency (default), uniform, model; coq: fixed "
                            "(default), " + ", ".join(m for m in method_names("coq")
                                                      if m not in ("fixed", *HAMMER_ALONE)))
    prove.add_argument("--model", help="trained run folder (for the model methods; with no "
                       "--method, the model method runs)")
    prove.add_argument("--data", default="", help="Coq knn methods: the Coq corpus whose "
                       "train split they retrieve from (default $PROVERGYM_HOME/corpora/coq)")
    prove.add_argument("--json", action="store_true",
                       help="print the result as one JSON object (the bench's result schema)")
    _search_arguments(prove)
    add_load_paths(prove)
    prove.add_argument("--out", help="folder for the checked export (default: a temp folder)")
    prove.set_defaults(func=run_prove)

    bench = subparsers.add_parser(
        "bench", help="run methods and baselines over held-out theorems",
        description="Pass rates of search with the model and of the baselines on the same "
                    "held-out theorems; resumable; writes results.jsonl, summary.json and "
                    "report.html.")
    bench.add_argument("--backend", choices=("metamath", "coq"), default="metamath",
                       help="the prover")
    bench.add_argument("--split", choices=("train", "valid", "test"), default="test",
                       help="the corpus split the theorems come from (when --theorems is not "
                            "given)")
    bench.add_argument("--theorems", help="a file of theorem names, one a line (instead of the "
                       "split manifest); for Coq, lines 'path/to/file.v:lemma'")
    bench.add_argument("--limit", type=int, default=0,
                       help="a fixed sample of this many theorems (0: all)")
    bench.add_argument("--first", type=int, default=0,
                       help="Metamath: only theorems among the database's first N $p")
    bench.add_argument("--db", default=SET_MM, help="Metamath database")
    bench.add_argument("--incomplete", metavar="FILE.mm",
                       help="Metamath: benchmark every $p of FILE.mm whose proof is ? (your "
                            "own problems); the database is FILE.mm, and its complete proofs "
                            "train the baselines. A proof may never cite an unproved $p")
    bench.add_argument("--seed", type=int, default=0, help="seed of the --limit sample")
    bench.add_argument("--method", action="append", dest="methods",
                       help="repeatable; metamath: " + " ".join(method_names("metamath"))
                            + "; coq: " + " ".join(method_names("coq")))
    bench.add_argument("--model", help="trained run folder (for the model methods)")
    bench.add_argument("--data", default="", help="Coq knn methods: the Coq corpus whose "
                       "train split they retrieve from (default $PROVERGYM_HOME/corpora/coq)")
    _search_arguments(bench)
    add_load_paths(bench)
    distributed.add_arguments(bench, local_jobs=1)
    bench.add_argument("--policy-server", action="store_true",
                       help="with --executor ray, Metamath: one batched policy server answers "
                            "every worker's model calls (a prototype; on CPU it is slower)")
    bench.add_argument("--out", default="bench-out", help="output folder")
    bench.add_argument("--no-resume", action="store_true", help="start again from scratch")
    bench.add_argument("--improve-options", default="/3 /depth 1",
                       help="options of metamath-exe's `improve` baseline")
    bench.add_argument("--improve-seconds", type=float, default=20.0,
                       help="wall-time limit of the `improve` baseline per theorem")
    bench.add_argument("--hammer-timeout", type=float, default=10.0,
                       help="Coq: seconds per lemma for the CoqHammer baselines")
    bench.add_argument("--no-progress", action="store_true", help="no progress output")
    bench.set_defaults(func=run_bench_command)

    iterate = subparsers.add_parser(
        "iterate", help="expert iteration: the model learns from its own search",
        description="Rounds of: search the statement pool with the current model (every "
                    "proof checked by the kernel and metamath-exe), collect the proof steps "
                    "and value targets of the search trees, retrain on the human corpus plus "
                    "every round's data, evaluate on a fixed valid sample. Coq (--backend "
                    "coq): the k-NN tactics' index takes in the states of every checked "
                    "proof (coqc and the Print Assumptions audit). Resumable: run the same "
                    "command again after a kill.")
    iterate.add_argument("--backend", choices=("metamath", "coq"), default="metamath",
                         help="the prover")
    iterate.add_argument("--model",
                         help="Metamath: the round-0 model, a run folder trained on human "
                              "proofs (required)")
    iterate.add_argument("--data", help="Coq: the corpus the k-NN index starts from (default "
                         "$PROVERGYM_HOME/corpora/coq)")
    iterate.add_argument("--method", default="knn+sauto",
                         help="Coq: the registry's method that searches (default knn+sauto)")
    iterate.add_argument("--libs", default="stdlib",
                         help="Coq: whose lemmas, comma-separated: stdlib, mathcomp "
                              "(default stdlib)")
    iterate.add_argument("--hammer-timeout", type=float, default=5.0,
                         help="Coq: seconds per CoqHammer tactic")
    iterate.add_argument("--out", help="the rounds' folder (default "
                         "$PROVERGYM_HOME/iterate/<model folder name>, or .../coq-<method>)")
    iterate.add_argument("--db", default=SET_MM, help="Metamath database")
    iterate.add_argument("--rounds", type=int, default=1,
                         help="rounds of search, training and evaluation after round 0")
    iterate.add_argument("--pool", type=int, default=None,
                         help="train-split statements searched each round (a fixed sample; "
                              "default 1000, Coq 200)")
    iterate.add_argument("--first", type=int, default=0,
                         help="only statements among the database's first N $p (0: all)")
    iterate.add_argument("--valid", type=int, default=None,
                         help="valid-split statements each round is evaluated on (default "
                              "200, Coq 50)")
    iterate.add_argument("--budget", type=int, default=None,
                         help="expansions per statement (default 16, Coq 8)")
    iterate.add_argument("--pool-budget", type=int, default=0,
                         help="Metamath: expansions per pool statement (0: --budget); more "
                              "than --budget finds proofs for the model to learn to find "
                              "within it (evaluation stays at --budget)")
    iterate.add_argument("--candidates", type=int, default=8, help="actions per expansion")
    iterate.add_argument("--time-limit", type=float, default=30.0,
                         help="seconds per statement")
    iterate.add_argument("--train-steps", type=int, default=500,
                         help="optimizer steps of each round's training")
    iterate.add_argument("--restart", choices=("finetune", "scratch"), default="finetune",
                         help="each round trains from round 0's weights (finetune, default) "
                              "or from new weights (scratch)")
    iterate.add_argument("--value-weight", type=float, default=0.0,
                         help="mix the model's value into the search's priority (0: off)")
    iterate.add_argument("--logprob-weight", type=float, default=1.0,
                         help="weight of the log-probability in the priority (0 with "
                              "--value-weight: the value alone)")
    distributed.add_arguments(iterate, local_jobs=1)
    iterate.add_argument("--seed", type=int, default=0, help="the pool's sample")
    iterate.add_argument("--no-progress", action="store_true", help="no progress output")
    iterate.set_defaults(func=run_iterate)

    export = subparsers.add_parser(
        "export", help="write the proofs of a benchmark run into a database copy / .v files",
        description="Metamath: the proofs found go, compressed, into a copy of the database "
                    "that metamath-exe must verify with no error. Coq: .v files checked by coqc.")
    export.add_argument("--results", required=True, help="a results.jsonl from provergym bench")
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--db", help="Metamath database (default: the run's config.json)")
    export.add_argument("--method", help="only this method's proofs (default: all, first wins)")
    export.add_argument("--copy", action="store_true",
                        help="Metamath: also write the patched database (default: the patch)")
    export.add_argument("--contributor", default="provergym",
                        help="Metamath: the name in set.mm's (Proof shortened by NAME, DATE.)")
    export.add_argument("--allow-longer", action="store_true",
                        help="Metamath: also replace a proof by one that is not shorter")
    export.add_argument("--allow-discouraged", action="store_true",
                        help="Metamath: also replace the proof of a discouraged theorem")
    export.add_argument("--allow-new-axioms", action="store_true",
                        help="Metamath: also take a proof that rests on an axiom the "
                             "original proof does not")
    export.set_defaults(func=run_export)

    report = subparsers.add_parser("report", help="(re)write report.html of a benchmark run")
    report.add_argument("--run", metavar="DIR",
                        help="the bench run's folder (its --out)")
    renamed(report, "--out", "--run", "run")
    report.set_defaults(func=run_report)


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", type=int, default=32, help="expansions per theorem (d)")
    parser.add_argument("--candidates", type=int, default=8, help="actions per expansion (e)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per theorem")
    parser.add_argument("--step-timeout", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--value-weight", type=float, default=0.0,
                        help="mix the model's value into the priority (0: log-prob only)")
    parser.add_argument("--logprob-weight", type=float, default=1.0,
                        help="weight of the cumulative log-probability in the priority "
                             "(0 with --value-weight: the value alone, as GPT-f after "
                             "expert iteration)")
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


# CoqHammer's tactics alone: bench methods, not search policies for prove
HAMMER_ALONE = ("sauto", "best", "hauto")


def _search_config(args: argparse.Namespace):
    from provergym.search.bestfirst import SearchConfig

    return SearchConfig(expansions=args.budget, candidates=args.candidates,
                        time_limit=args.time_limit, step_timeout=args.step_timeout,
                        value_weight=args.value_weight, logprob_weight=args.logprob_weight,
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
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        line = error.object.count(b"\n", 0, error.start) + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (expected theorem names, one a "
                        "line)") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def run_prove(args: argparse.Namespace) -> int:
    config = _search_config(args)
    if args.backend == "metamath":
        return _prove_metamath(args, config)
    return _prove_coq(args, config)


def _print_result(result, as_json: bool = False) -> None:
    if as_json:
        import json

        print(json.dumps(result.to_json(with_tree=False)))
        return
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


def _exit_code(result) -> int:
    """0 proved, 1 not proved; a theorem that could not even be opened (or a prover that
    crashed) is an error, exit 2, with its message as the error line."""
    from provergym.errors import UserError
    from provergym.search.bestfirst import ERROR

    if result.status == ERROR:
        raise UserError(f"{result.theorem}: {result.message}")
    return 0 if result.proved else 1


def _search_method(backend: str, name: str):
    from provergym.bench.methods import BenchError, get_method

    method = get_method(backend, name)
    if not method.searches:
        raise BenchError(f"{name} is an external prover, not a search method: run it with "
                         f"`provergym bench --backend {backend} --method {name}`")
    return method


def _prove_method(args: argparse.Namespace, backend: str, default: str):
    """The method ``prove`` runs: ``--method``, else ``model`` when ``--model`` is given,
    else ``default``. A model given to a method that does not read one is an error, not a
    silent baseline run."""
    from provergym.bench.methods import BenchError

    name = args.method or ("model" if args.model else default)
    method = _search_method(backend, name)
    if args.model and not method.needs_model:
        raise BenchError(f"--model {args.model}: --method {name} does not use a model "
                         "(leave --model out, or choose a model method)")
    return name, method


def _method_config(args: argparse.Namespace, backend: str, **extra):
    from provergym.bench.methods import MethodConfig
    from provergym.metamath.actions import CandidateConfig

    return MethodConfig(backend=backend, db=args.db, model=args.model,
                        retrieval_weight=args.retrieval_weight,
                        frequency_weight=args.frequency_weight,
                        candidates=CandidateConfig(lemma_limit=args.lemmas,
                                                   index_lemmas=args.index_lemmas),
                        data=args.data if backend == "coq" else "", **extra)


def _prove_metamath(args: argparse.Namespace, config) -> int:
    from provergym.bench.check import check_metamath_results
    from provergym.bench.methods import BenchError, build_policy, metamath_env
    from provergym.search.bestfirst import best_first_search

    name, method = _prove_method(args, "metamath", "frequency")
    env = metamath_env(args.db)
    statement = env.db.statements.get(args.theorem)
    if statement is None or statement.kind != "p":
        raise BenchError(f"{args.db}: no $p statement labelled {args.theorem!r}")
    # the proofs of everything before it are the training proofs (counts, lemma table)
    train: tuple[str, ...] = ()
    if name == "frequency" or args.lemmas or (method.needs_model and args.frequency_weight):
        train = tuple(s.label for s in env.db.theorems() if s.index < statement.index)
        if not args.json:
            print(f"statistics (label frequencies, lemma table): the proofs of the "
                  f"{len(train):,} $p before {args.theorem} in {args.db}")
    policy = build_policy("metamath", name, _method_config(
        args, "metamath", train_theorems=train, labels_before=statement.index))
    result = best_first_search(env, args.theorem, policy, config)
    result = check_metamath_results(env.db, [result], args.out)[0]
    _print_result(result, args.json)
    return _exit_code(result)


def _prove_coq(args: argparse.Namespace, config) -> int:
    import tempfile
    from dataclasses import replace

    from provergym.bench.check import check_coq_result
    from provergym.bench.methods import BenchError, WithPreamble, build_policy
    from provergym.coq.env import CoqFile
    from provergym.search.bestfirst import best_first_search

    if not args.file:
        raise BenchError("--backend coq needs --file FILE.v")
    name, method = _prove_method(args, "coq", "fixed")
    policy = build_policy("coq", name, _method_config(args, "coq"))
    with CoqFile(args.file, coq_args=load_path_args(args),
                 step_timeout=config.step_timeout) as env:
        if method.preamble:  # sauto needs CoqHammer, imported just before the lemma
            result = best_first_search(WithPreamble(env, method.preamble), args.theorem,
                                       policy, config)
            result = replace(result, preamble=method.preamble)
        else:
            result = best_first_search(env, args.theorem, policy, config)
        out = args.out or tempfile.mkdtemp(prefix="provergym-coq-")
        result = check_coq_result(env, result, out)
    _print_result(result, args.json)
    return _exit_code(result)


def run_bench_command(args: argparse.Namespace) -> int:
    import signal

    from provergym.bench.report import write_report
    from provergym.bench.runner import BenchConfig, fixed_sample, manifest_theorems, run_bench
    from provergym.bench.summary import format_summary

    # A plain kill runs the clean-up code too (prover processes are killed, no orphans).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    methods = tuple(args.methods or (
        ("frequency", "uniform", "improve") + (("model",) if args.model else ())
        if args.backend == "metamath" else
        ("fixed", "sauto") + (("model", "model+sauto") if args.model else ())))
    if args.incomplete:
        if args.backend != "metamath":
            raise UserError("--incomplete FILE.mm is for Metamath; for a Coq project pass its "
                            "Admitted lemmas with --theorems")
        args.db = args.incomplete
    train: tuple[str, ...] = ()
    if args.backend == "metamath":
        names, train = _metamath_names(args)
    elif args.theorems:
        names = _read_names(args.theorems)
    else:
        names = manifest_theorems(args.backend, args.split)
    names = fixed_sample(names, args.limit or None, seed=args.seed)
    jobs, executor = distributed.from_arguments(args, local_jobs=1)
    config = BenchConfig(
        backend=args.backend, methods=methods, theorems=tuple(names), out_dir=args.out,
        db=args.db, train_theorems=train, model=args.model, search=_search_config(args),
        retrieval_weight=args.retrieval_weight, lemmas=args.lemmas,
        index_lemmas=args.index_lemmas,
        frequency_weight=args.frequency_weight, jobs=jobs, executor=executor,
        policy_server=args.policy_server, resume=not args.no_resume,
        improve_options=args.improve_options, improve_seconds=args.improve_seconds,
        hammer_timeout=args.hammer_timeout, data=args.data, progress=not args.no_progress,
        coq_args=tuple(load_path_args(args)))
    try:
        summary = run_bench(config)
    except KeyboardInterrupt:
        raise UserError(f"interrupted; run the same command again to resume ({args.out})"
                        ) from None
    if args.backend == "metamath":
        print(f"baselines' statistics (label frequencies, lemma table): the proofs of "
              f"{len(train):,} training theorems of {args.db}"
              + (" (its complete proofs)" if args.incomplete else " (its train split)"))
    print(format_summary(summary))
    print(f"report: {write_report(args.out)}")
    return 0


def _metamath_names(args: argparse.Namespace) -> tuple[list[str], tuple[str, ...]]:
    """The theorems to run and the training theorems of the frequency baseline, both from
    the database's own split (set.mm's committed manifest, or the seeded one of any other
    database: :func:`~provergym.bench.runner.metamath_manifest`): ``--theorems`` names
    them, ``--incomplete`` takes every ``$p`` whose own proof is ``?`` (and trains on every
    complete proof), else the ``--split``; ``--first N`` keeps the first N ``$p``."""
    from provergym.bench.methods import BenchError, metamath_env
    from provergym.bench.runner import metamath_manifest
    from provergym.metamath.prooftree import incomplete_proof, unproved_theorems

    env = metamath_env(args.db)
    theorems = env.db.theorems()
    allowed = {s.label for s in (theorems[:args.first] if args.first else theorems)}
    if args.incomplete:
        unproved = unproved_theorems(env.db)
        names = [s.label for s in theorems if incomplete_proof(s)]
        if not names:
            raise BenchError(f"{args.db}: no $p whose proof is ? (nothing to benchmark)")
        train = [s.label for s in theorems if s.label not in unproved]
        return [n for n in names if n in allowed], tuple(train)
    split, where = metamath_manifest(args.db, env.db)
    if args.theorems:
        names = _read_names(args.theorems)
        missing = [n for n in names if n not in env.db.statements]
        if missing:
            raise BenchError(f"{args.db}: unknown labels {', '.join(missing[:5])}")
    else:
        names = [n for n, owner in split.items() if owner == args.split]
    held_out = set(names)
    train = [n for n, owner in split.items() if owner == "train" and n not in held_out]
    return [n for n in names if n in allowed], tuple(train)



def run_iterate(args: argparse.Namespace) -> int:
    from provergym.paths import provergym_home

    if args.backend == "coq":
        return _run_iterate_coq(args)
    if not args.model:
        raise UserError("iterate: Metamath needs --model DIR (the round-0 model, a run folder "
                        "trained on human proofs)")
    from provergym.bench.iterate import IterateConfig, iterate

    out = args.out or str(provergym_home() / "iterate" / Path(args.model).resolve().name)
    jobs, executor = distributed.from_arguments(args, local_jobs=1)
    config = IterateConfig(
        out_dir=out, model=args.model, db=args.db, rounds=args.rounds,
        pool=args.pool or 1000, first=args.first, valid=args.valid or 200,
        budget=args.budget or 16, pool_budget=args.pool_budget, candidates=args.candidates,
        time_limit=args.time_limit, train_steps=args.train_steps, restart=args.restart,
        value_weight=args.value_weight, logprob_weight=args.logprob_weight,
        jobs=jobs, executor=executor, seed=args.seed,
        # progress bars on a terminal; in a log, one line per phase and one row per round
        progress=not args.no_progress and sys.stderr.isatty())
    return _run_rounds(iterate, config)


def _run_iterate_coq(args: argparse.Namespace) -> int:
    from corpora.common import corpus_dir
    from provergym.bench.iterate_coq import CoqIterateConfig, iterate_coq
    from provergym.paths import provergym_home

    out = args.out or str(provergym_home() / "iterate" / f"coq-{args.method}")
    jobs, executor = distributed.from_arguments(args, local_jobs=1)
    config = CoqIterateConfig(
        out_dir=out, data=args.data or str(corpus_dir("coq")), method=args.method,
        rounds=args.rounds, pool=args.pool or 200, valid=args.valid or 50,
        budget=args.budget or 8, candidates=args.candidates, time_limit=args.time_limit,
        hammer_timeout=args.hammer_timeout,
        libs=tuple(lib.strip() for lib in args.libs.split(",") if lib.strip()),
        jobs=jobs, executor=executor, seed=args.seed,
        progress=not args.no_progress and sys.stderr.isatty())
    return _run_rounds(iterate_coq, config)


def _run_rounds(run, config) -> int:
    """Run ``iterate`` or ``iterate_coq``; Ctrl-C says how to resume."""
    try:
        run(config)
    except KeyboardInterrupt:
        raise UserError(f"interrupted; run the same command again to resume "
                        f"({config.out_dir})") from None
    print(f"rounds: {Path(config.out_dir) / 'table.md'}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from provergym.bench.export import ExportOptions, export_results

    options = ExportOptions(copy=args.copy, contributor=args.contributor,
                            allow_longer=args.allow_longer,
                            allow_discouraged=args.allow_discouraged,
                            allow_new_axioms=args.allow_new_axioms)
    print(export_results(args.results, args.out, db=args.db, method=args.method,
                         options=options))
    return 0


def run_report(args: argparse.Namespace) -> int:
    from provergym.bench.report import write_report

    if not args.run:
        raise UserError("report needs --run DIR, the folder of a provergym bench run")
    if not (Path(args.run) / "results.jsonl").exists():
        raise UserError(f"{args.run}: no results.jsonl (run provergym bench first)")
    print(f"report: {write_report(args.run)}")
    return 0
