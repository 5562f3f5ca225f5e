"""``provergym demo`` (what ``make demo`` runs): the whole pipeline, small, on CPU.

1. (``make`` installs first.)
2. Build the proof-step corpus of the first ``--first`` ``$p`` of set.mm: the
   propositional calculus and the start of predicate calculus, where proofs are short
   and the symbols few, so that a tiny model learns something in minutes. Its split is
   set.mm's own (Holophrasm/MetaGen protocol), so no test theorem is trained on.
3. Train the ``tiny`` model on it, retrieval-augmented: each prompt carries the labels
   that the nearest training steps used (``agents.retrieval``).
4. Search (best-first, GPT-f style) on a fixed sample of that part's test theorems.
5. Run the baselines on the same theorems (metamath-exe ``improve``; the frequency and
   uniform policies, which use no model) and print the pass rates side by side.
6. Export every proof found into a copy of set.mm and have metamath-exe verify it.
7. Write the HTML report and print its path.

A small Coq part runs too, on 20 held-out stdlib lemmas: a fixed tactic list, CoqHammer's
``sauto``, the tactics of the nearest training states (k-NN over a corpus replayed from the
lemmas' own files, without them) and k-NN with ``sauto`` as fallback; every proof compiled
by ``coqc``.

Each stage is reused when it is already done (corpus, model, benchmark lines), so running
it again is cheap, and an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from provergym.cliargs import renamed
from provergym.paths import SET_MM


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo", help="the end-to-end demo: corpus, tiny model, search, baselines, export, report",
        description=__doc__.split("\n\n")[0])
    demo.add_argument("--first", type=int, default=3000, metavar="N",
                      help="use the first N $p of set.mm")
    renamed(demo, "--theorems", "--first", "first", type=int)
    demo.add_argument("--train-steps", type=int, default=3000, help="tiny model's steps")
    demo.add_argument("--sample", type=int, default=50, help="test theorems to search on")
    demo.add_argument("--budget", type=int, default=16, help="expansions per theorem (d)")
    demo.add_argument("--candidates", type=int, default=8, help="actions per expansion (e)")
    demo.add_argument("--time-limit", type=float, default=30.0, help="seconds per theorem")
    demo.add_argument("--jobs", type=int, default=2, help="parallel search processes")
    demo.add_argument("--home", help="where corpus, model and results go "
                                     "(default $PROVERGYM_HOME or ~/.cache/provergym)")
    demo.add_argument("--coq", type=int, default=20,
                      help="also search (fixed tactics, sauto, k-NN tactics, k-NN + sauto) "
                           "on this many held-out stdlib lemmas, checked by coqc (0: skip)")
    demo.add_argument("--no-model", action="store_true",
                      help="skip training and the model (baselines only)")
    demo.set_defaults(func=run_demo)


def _stage(number: int, text: str) -> float:
    print(f"\n[{number}/7] {text}", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f"      done in {time.perf_counter() - started:.1f} s", flush=True)


def run_demo(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("provergym: interrupted; run `make demo` again to continue", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    import os

    from provergym.paths import provergym_home

    if args.home:
        os.environ["PROVERGYM_HOME"] = args.home
    home = Path(args.home) if args.home else provergym_home()
    name = f"metamath-first{args.first}"
    corpus_path = home / "corpora" / name
    run_dir = home / "runs" / f"{name}-tiny-hints"
    # The settings are in the name: resuming never mixes results of different settings.
    # v3: the model's target is the corpus's short ``step``, it reads retrieved labels, and
    # the policies share the applicable-action generator; v4: the lemma look-ahead fixes
    # open substitution variables; v5: the model mixes in the frequency policy's label
    # distribution; v6: the index look-ahead finds lemmas too rare for the table. Earlier
    # results are not resumed.
    out_dir = home / "demo" / (f"{name}-v6-s{args.train_steps}-d{args.budget}-e{args.candidates}"
                               f"-n{args.sample}" + ("-nomodel" if args.no_model else ""))
    total = time.perf_counter()
    print(f"provergym demo: set.mm's first {args.first} theorems; everything goes to {home}")
    print("[1/7] install: done by `make` (pip install -e . and the Debian provers)")

    started = _stage(2, f"corpus of proof steps -> {corpus_path}")
    if _stale_corpus(corpus_path):
        import shutil

        print("      the corpus was built by an older version: rebuilding it and the model")
        shutil.rmtree(corpus_path)
        shutil.rmtree(run_dir, ignore_errors=True)
    if (corpus_path / "dataset_dict.json").exists():
        print("      reusing the corpus already built")
    else:
        from corpora.metamath import build_corpus

        # name="metamath": the committed set.mm split manifest decides train/valid/test.
        build_corpus(SET_MM, corpus_path, name="metamath", limit=args.first,
                     jobs=max(1, args.jobs))
    _done(started)

    from datasets import load_from_disk

    corpus = load_from_disk(str(corpus_path))
    train_theorems = tuple(corpus["train"].unique("theorem"))
    test_theorems = corpus["test"].unique("theorem")
    print(f"      {len(corpus['train']):,} training steps from {len(train_theorems):,} theorems;"
          f" {len(test_theorems):,} test theorems")

    methods: tuple[str, ...] = ("frequency", "uniform", "improve")
    if not args.no_model:
        started = _stage(3, f"train the tiny model ({args.train_steps} steps) -> {run_dir}")
        _train(corpus_path, run_dir, args.train_steps)
        _done(started)
        methods = ("model", *methods)
    else:
        print("\n[3/7] training skipped (--no-model)")

    from provergym.bench.runner import BenchConfig, fixed_sample, run_bench
    from provergym.bench.summary import format_summary
    from provergym.search.bestfirst import SearchConfig

    sample = fixed_sample(test_theorems, args.sample)
    started = _stage(4, f"best-first search and the baselines on {len(sample)} held-out "
                        f"theorems (budget {args.budget} x {args.candidates}) -> {out_dir}")
    config = BenchConfig(
        backend="metamath", methods=methods, theorems=tuple(sample), out_dir=str(out_dir),
        db=SET_MM, train_theorems=train_theorems, model=None if args.no_model else str(run_dir),
        search=SearchConfig(expansions=args.budget, candidates=args.candidates,
                            time_limit=args.time_limit),
        jobs=max(1, args.jobs), resume=True, improve_seconds=10.0)
    summary = run_bench(config)
    _done(started)

    _stage(5, "pass rates (every proof checked by our kernel and by metamath-exe)")
    print(format_summary(summary))
    coq_dir = _coq_part(args, home) if args.coq else None

    started = _stage(6, "export: a patch for set.mm's maintainers (a proof goes in only where "
                        "it is shorter, not discouraged and adds no axiom)")
    from provergym.bench.export import export_results

    account = export_results(out_dir / "results.jsonl", out_dir / "export", db=SET_MM)
    first, *rest = account.splitlines()
    print("      " + first)
    reasons: dict[str, int] = {}
    for line in rest:
        if ": left out (" in line:
            reason = line.split(": left out (", 1)[1].split(";", 1)[0].split(":", 1)[0]
            reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda pair: -pair[1]):
        print(f"        {count} left out: {reason}")
    print(f"      (the per-theorem account: {out_dir / 'export' / 'exported.json'}; every "
          "found proof was already verified by metamath-exe in step 5)")
    if coq_dir is not None:
        print("      Coq: " + export_results(coq_dir / "results.jsonl", coq_dir / "export-all"))
    _done(started)

    started = _stage(7, "HTML report")
    from provergym.bench.report import write_report

    path = write_report(out_dir, title=f"provergym demo: set.mm's first {args.first} theorems")
    if coq_dir is not None:
        print(f"      Coq report: {write_report(coq_dir, title='provergym demo: Coq stdlib')}")
    _done(started)
    print(f"\nreport: {path}")
    print(f"demo finished in {time.perf_counter() - total:.0f} s")
    return 0


def _stale_corpus(path: Path) -> bool:
    """Whether ``path`` holds a corpus without the columns this version trains on."""
    import json

    info = path / "train" / "dataset_info.json"
    if not info.is_file():
        return False
    from corpora.metamath import features

    columns = json.loads(info.read_text()).get("features", {})
    return any(name not in columns for name in features())


def _coq_part(args: argparse.Namespace, home: Path) -> Path | None:
    """On a fixed sample of held-out stdlib lemmas: a fixed tactic list, CoqHammer's
    ``sauto``, and the tactics of the nearest training states (``knn``, and ``knn+sauto``
    with ``sauto`` as the fallback). Their k-NN corpus is replayed from the sample's own
    ``.v`` files; its split follows the committed manifest, so no sampled lemma is in it."""
    from provergym.bench.runner import (
        BenchConfig,
        BenchError,
        SettingsChanged,
        fixed_sample,
        manifest_theorems,
    )
    from provergym.bench.runner import run_bench as run
    from provergym.bench.summary import format_summary
    from provergym.search.bestfirst import SearchConfig

    try:
        lemmas = [n for n in manifest_theorems("coq", "test") if n.startswith("stdlib/")]
    except BenchError as error:
        print(f"      Coq part skipped: {error}")
        return None
    sample = fixed_sample(lemmas, args.coq)
    corpus = _coq_corpus(sorted({name.split(":", 1)[0] for name in sample}), home, args.jobs)
    out_dir = home / "demo" / f"coq-stdlib-n{args.coq}-knn"
    print(f"\n      Coq: fixed tactics, sauto, k-NN tactics and k-NN + sauto on {len(sample)} "
          f"held-out stdlib lemmas (proofs checked by coqc) -> {out_dir}", flush=True)
    config = BenchConfig(backend="coq", methods=("fixed", "sauto", "knn", "knn+sauto"),
                         theorems=tuple(sample), out_dir=str(out_dir), data=str(corpus),
                         search=SearchConfig(expansions=8), hammer_timeout=5.0,
                         jobs=max(1, args.jobs), resume=True)
    try:
        summary = run(config)
    except SettingsChanged:
        # the demo's own folder, from an older demo (another home, another corpus path)
        print(f"      {out_dir}: made by an older demo with other settings; starting it over")
        summary = run(replace(config, resume=False))
    print(format_summary(summary))
    return out_dir


def _coq_corpus(files: list[str], home: Path, jobs: int) -> Path:
    """The Coq corpus of these stdlib files (``stdlib/Lists/List.v`` ...), built once."""
    import hashlib

    from corpora import coq

    digest = hashlib.sha256("\0".join(files).encode()).hexdigest()[:10]
    out = home / "corpora" / f"coq-demo-{digest}"
    if (out / "dataset_dict.json").exists():
        print(f"\n      Coq: reusing the k-NN corpus of the sample's {len(files)} files: {out}")
        return out
    print(f"\n      Coq: replaying the sample's {len(files)} stdlib files for the k-NN "
          f"corpus -> {out}", flush=True)
    parser = argparse.ArgumentParser()
    coq.add_arguments(parser)
    paths = [str(coq.source_path(name)) for name in files]
    return coq.build(parser.parse_args(["--files", *paths, "--out", str(out),
                                        "--jobs", str(max(1, jobs))]))


def _train(corpus_path: Path, run_dir: Path, steps: int) -> None:
    """Train tiny, resuming a partial run and reusing a finished one."""
    import json

    from agents.train import latest_checkpoint, resolve_config, train

    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is not None:
        done = json.loads((checkpoint / "meta.json").read_text())["step"]
        if done >= steps:
            print(f"      reusing the model trained to step {done}")
            return
    # hints: the 8 labels of the nearest training steps go into the prompt, and the search
    # mixes their distribution with the model's (kNN-LM); value_share: most of the CPU
    # minutes go to proof steps (the demo's search does not use the value).
    overrides = {"data_dir": str(corpus_path), "out_dir": str(run_dir), "steps": steps,
                 "save_every": max(100, steps // 4), "eval_every": max(100, steps // 4),
                 "hints": 8, "value_share": 0.2}
    result = train(resolve_config("metamath", "tiny", overrides), resume=checkpoint is not None)
    print(f"      {result.parameters:,} parameters, final loss {result.last_loss:.3f}, "
          f"{result.tokens_per_second:,.0f} tokens/s")
