"""set.mm proof steps, GPT-f style: one record per logical step of every ``$p``'s proof.

For every ``$p`` the stored proof is decoded into a tree (``proof_tree``) and walked in
pre-order, the order in which a backward prover meets the goals (``logical_steps``). Each
logical (non-syntactic) node gives one record; syntactic sub-proofs give none, because the
grammar closes them. Columns (the schema ``agents/tasks.py`` reads):

- ``theorem``: the ``$p`` label (the split key);
- ``goal``: the goal the step proves, ``|- ...``, symbols separated by single spaces;
- ``goal_tree``: the goal's syntax tree from the database's grammar, as an S-expression
  (``provergym.tensorize.metamath_tree_to_sexp``: ``(wi wph (wn wps))``, leaves are
  ``$f`` labels or constant syntax axioms); the ``|-`` is not in the tree;
- ``hypotheses``: the ``$e`` hypotheses in the theorem's scope, in order, as ``|- ...``;
- ``label``: the assertion applied, or the ``$e`` cited;
- ``substitution``: the label's full substitution, ``{"variable", "expression"}`` in the
  label's ``$f`` order;
- ``action``: ``str(Action(label, substitution))``, the text the environment accepts;
- ``step``: the same action with only the substitutions that unification cannot decide
  (variables absent from the label's conclusion, e.g. ``ax-mp {{ ph : ps }}``). The
  environment accepts it too; it is the model's target, much shorter than ``action``;
- ``steps_left``: logical steps in the sub-proof, this one included (>= 1);
- ``depth``: logical depth below the theorem's root (root = 0).

Duplicates. Compressed proofs share sub-proofs, and expanding them as a tree would give
3.8M records for set.mm, mostly repeats (one lemma alone gives 46,775 from 626 distinct
steps). A goal that was already recorded for the same theorem gives no second record (the
first one in pre-order is kept, with its ``steps_left`` and ``depth``), and a shared
sub-proof is walked once. The result equals ``logical_steps`` filtered to the first
occurrence of each goal (a test checks this).

Split: the Holophrasm/MetaGen protocol, random 10% valid and 10% test of the ``$p``
statements, by theorem, seed :data:`SPLIT_SEED` (``corpora.common.split_of``). For set.mm
the result is committed in ``corpora/splits/metamath/``; another database ``X.mm`` builds the
corpus ``metamath-X`` and uses ``corpora/splits/metamath-X/`` if committed, else the same
seeded per-name rule (write one with ``--write-manifest``).

Build: the database is parsed once, then chunks of theorems are processed by forked
workers (``--jobs``); every chunk is a shard under ``<out>/shards/`` whose id includes a
fingerprint of the database file, so an interrupted build resumes and a changed database
never reuses stale shards.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpora.common import (
    MANIFEST_ROOT,
    Card,
    CorpusError,
    ShardOutput,
    Splitter,
    assemble,
    build_shards,
    compute_split,
    corpus_dir,
    write_manifest,
)
from provergym import distributed
from provergym.cliargs import renamed
from provergym.metamath.database import MetamathError, parse_database
from provergym.metamath.env import Action
from provergym.metamath.grammar import Grammar, GrammarError
from provergym.metamath.prooftree import ProofTreeError, proof_tree
from provergym.paths import SET_MM
from provergym.tensorize import metamath_tree_to_sexp

SPLIT_SEED = 0
VALID_FRACTION = 0.1
TEST_FRACTION = 0.1
CHUNK_SIZE = 400
# Bump when the records change, so old shards are not mixed with new ones.
FORMAT_VERSION = 2  # 2: the ``step`` column


def features():
    """The explicit ``datasets.Features`` of the corpus."""
    from datasets import Features, Sequence, Value

    return Features({
        "theorem": Value("string"),
        "goal": Value("string"),
        "goal_tree": Value("string"),
        "hypotheses": Sequence(Value("string")),
        "label": Value("string"),
        "substitution": [{"variable": Value("string"), "expression": Value("string")}],
        "action": Value("string"),
        "step": Value("string"),
        "steps_left": Value("int32"),
        "depth": Value("int32"),
    })


def corpus_name(db_path: str | os.PathLike[str]) -> str:
    """``metamath`` for set.mm, ``metamath-<stem>`` for any other database."""
    stem = Path(db_path).stem
    return "metamath" if stem == "set" else f"metamath-{stem}"


def splitter_for(name: str, manifest_root: str | os.PathLike[str] = MANIFEST_ROOT) -> Splitter:
    return Splitter.for_corpus(name, SPLIT_SEED, VALID_FRACTION, TEST_FRACTION, manifest_root)


def database_split(db: Any) -> dict[str, list[str]]:
    """The seeded split of a database's ``$p`` labels, in database order."""
    return compute_split((s.label for s in db.theorems()), SPLIT_SEED, VALID_FRACTION,
                         TEST_FRACTION)


# -- records of one theorem -------------------------------------------------------------------
class StepExtractor:
    """Turns theorems of one database into records. Caches compiled label templates, so
    keep one per process (workers inherit the parent's through fork)."""

    def __init__(self, db: Any, grammar: Any | None = None):
        self.db = db
        self.grammar = grammar or Grammar(db)
        self.syntax_typecodes = frozenset(self.grammar.syntax_typecodes)
        self._templates: dict[str, tuple[Any, ...]] = {}
        self._conclusions: dict[str, frozenset[str]] = {}

    def _conclusion_symbols(self, label: str) -> frozenset[str]:
        """The symbols of the label's conclusion: its variables among them are decided by
        unifying the conclusion with the goal."""
        found = self._conclusions.get(label)
        if found is None:
            found = self._conclusions[label] = frozenset(self.db.statements[label].body.split())
        return found

    def _template(self, label: str) -> tuple[Any, ...]:
        """The label's conclusion tree as S-expression tokens; an int stands for the
        sub-tree substituted for the label's hypothesis at that position."""
        found = self._templates.get(label)
        if found is None:
            statements = self.db.statements
            statement = statements[label]
            floats: dict[str, str] = {}
            slot_of: dict[str, int] = {}
            for position, hyp_label in enumerate(statement.hypotheses):
                hyp = statements[hyp_label]
                if hyp.kind == "f":
                    floats[hyp.body.strip()] = hyp_label
                    slot_of[hyp_label] = position
            tree = self.grammar.parse(statement.typecode, statement.body.split(), floats)
            tokens: list[Any] = []
            stack: list[Any] = [tree]
            while stack:
                item = stack.pop()
                if isinstance(item, str):
                    tokens.append(item)
                elif not item.children:
                    tokens.append(slot_of.get(item.label, item.label))
                else:
                    tokens.append("(" + item.label)
                    stack.append(")")
                    stack.extend(reversed(item.children))
            found = self._templates[label] = tuple(tokens)
        return found

    def _syntax_sexp(self, node: Any, memo: dict[int, str], floats: dict[str, str]) -> str:
        """The S-expression of a syntactic sub-proof (memoised by node: proofs share them)."""
        key = id(node)
        found = memo.get(key)
        if found is not None:
            return found
        if not node.children:
            # A $f variable or a constant syntax axiom (cc0): the tree leaf is its label.
            found = node.label
        elif node.label in self.grammar.rules:
            found = "(" + node.label + " " + " ".join(
                [self._syntax_sexp(child, memo, floats) for child in node.children]) + ")"
        else:
            # A syntax *theorem* (a $p such as weq) in a syntactic sub-proof: its tree is
            # not the grammar's, so parse the expression it derives instead.
            found = metamath_tree_to_sexp(self.grammar.parse(node.typecode, node.body.split(),
                                                             floats))
        memo[key] = found
        return found

    def records(self, theorem: Any) -> list[dict[str, Any]]:
        """The records of one ``$p``, in pre-order (none for a syntax theorem). Raises
        ``ProofTreeError`` or ``GrammarError`` for a proof that cannot be decoded/parsed."""
        db, statements, syntax = self.db, self.db.statements, self.syntax_typecodes
        root = proof_tree(db, theorem)
        if root.typecode in syntax:
            return []
        floats = self.grammar.floats_for(theorem)
        scope = theorem.scope.hypotheses if theorem.scope else ()
        hypotheses = [statements[h].expression() for h in scope if statements[h].kind == "e"]
        name = theorem.label

        sizes: dict[int, int] = {}

        def size(node: Any) -> int:  # logical steps below, as logical_steps counts them
            key = id(node)
            found = sizes.get(key)
            if found is None:
                found = sizes[key] = 1 + sum(
                    [size(c) for c in node.children if c.typecode not in syntax])
            return found

        memo: dict[int, str] = {}
        hypothesis_trees: dict[str, str] = {}
        seen_nodes: set[int] = set()
        seen_goals: set[str] = set()
        out: list[dict[str, Any]] = []
        stack: list[tuple[Any, int]] = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            if id(node) in seen_nodes:
                continue  # a shared sub-proof: every goal below it is recorded already
            seen_nodes.add(id(node))
            statement = statements[node.label]
            logical_children = []
            goal = node.expression()
            if statement.kind == "e":
                tree = hypothesis_trees.get(node.label)
                if tree is None:
                    tree = hypothesis_trees[node.label] = metamath_tree_to_sexp(
                        self.grammar.parse(statement.typecode, statement.body.split(), floats))
                substitution: list[dict[str, str]] = []
                action = step = node.label
            else:
                filled: list[str] = []
                substitution = []
                pairs = []
                for hyp_label, child in zip(statement.hypotheses, node.children):
                    hyp = statements[hyp_label]
                    if hyp.kind == "f":
                        expression = child.body.rstrip()
                        variable = hyp.body.strip()
                        substitution.append({"variable": variable, "expression": expression})
                        pairs.append((variable, expression))
                        filled.append(self._syntax_sexp(child, memo, floats))
                    else:
                        filled.append("")
                        if child.typecode not in syntax:
                            logical_children.append(child)
                tokens = [filled[t] if isinstance(t, int) else t for t in self._template(node.label)]
                tree = " ".join(tokens).replace(" )", ")")
                action = str(Action(node.label, tuple(pairs)))
                decided = self._conclusion_symbols(node.label)
                step = str(Action(node.label, tuple(p for p in pairs if p[0] not in decided)))
            if goal not in seen_goals:
                seen_goals.add(goal)
                out.append({"theorem": name, "goal": goal, "goal_tree": tree,
                            "hypotheses": hypotheses, "label": node.label,
                            "substitution": substitution, "action": action, "step": step,
                            "steps_left": size(node), "depth": depth})
            stack.extend((child, depth + 1) for child in reversed(logical_children))
        return out


# -- the sharded build ------------------------------------------------------------------------
@dataclass
class _Context:
    extractor: StepExtractor
    theorems: list[Any] = field(default_factory=list)


_CONTEXT: dict[str, _Context] = {}


def _load_context(db_path: str, limit: int | None) -> None:
    """A Ray actor's context: the database parsed there (a forked worker inherits it)."""
    if "current" not in _CONTEXT:
        db = parse_database(db_path)
        theorems = db.theorems()
        _CONTEXT["current"] = _Context(StepExtractor(db),
                                       theorems[:limit] if limit is not None else theorems)


def _work(payload: tuple[int, int]) -> ShardOutput:
    context = _CONTEXT["current"]
    start, stop = payload
    records: list[dict[str, Any]] = []
    failures: list[tuple[str, str]] = []
    syntax_theorems = 0
    for theorem in context.theorems[start:stop]:
        try:
            found = context.extractor.records(theorem)
        except (ProofTreeError, GrammarError, KeyError, RecursionError) as error:
            line = context.extractor.db.line_of(theorem)
            failures.append((f"{theorem.file}:{line}:{theorem.label}",
                             f"{type(error).__name__}: {error}"))
            continue
        if not found:
            syntax_theorems += 1
        records.extend(found)
    counts = {"theorems": stop - start - len(failures), "syntax_theorems": syntax_theorems,
              "steps": len(records)}
    return ShardOutput(records, tuple(failures), counts)


def _fingerprint(path: Path) -> str:
    # Cheap and stable: the file's identity, not its 41 MB of content.
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{FORMAT_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def build_corpus(db_path: str | os.PathLike[str] = SET_MM, out: str | os.PathLike[str] | None = None,
                 *, name: str | None = None, limit: int | None = None, jobs: int = 2,
                 chunk_size: int = CHUNK_SIZE, progress: bool = True,
                 manifest_root: str | os.PathLike[str] = MANIFEST_ROOT,
                 stop_after: int | None = None,
                 executor: distributed.Executor = distributed.LOCAL) -> Path:
    """Build (or resume) the proof-step corpus of ``db_path``; return its folder.

    ``limit`` keeps the first N ``$p`` in database order; ``stop_after`` builds at most
    that many shards and returns without assembling (tests of resuming)."""
    started = time.perf_counter()
    db_path = Path(db_path)
    if not db_path.is_file():
        raise CorpusError(f"no database file {db_path}")
    name = name or corpus_name(db_path)
    out = Path(out) if out is not None else corpus_dir(name)
    gc.disable()  # millions of long-lived objects: the collector only costs time here
    try:
        try:
            db = parse_database(db_path)
        except MetamathError as error:
            raise CorpusError(str(error)) from None
        theorems = db.theorems()
        if limit is not None:
            theorems = theorems[:limit]
        _CONTEXT["current"] = _Context(StepExtractor(db), theorems)
        prefix = _fingerprint(db_path)
        shards = [(f"{prefix}-{start:06d}-{min(start + chunk_size, len(theorems)):06d}",
                   (start, min(start + chunk_size, len(theorems))))
                  for start in range(0, len(theorems), chunk_size)]
        if progress:
            print(f"{db_path}: {len(theorems):,} $p in {len(shards)} chunks -> {out}",
                  file=sys.stderr)
        statuses = build_shards(out, shards, _work, features(), jobs=jobs, progress=progress,
                                desc=f"{name} chunks", stop_after=stop_after,
                                executor=executor,
                                initializer=functools.partial(_load_context, str(db_path),
                                                              limit))
        if stop_after is not None:
            return out
        splitter = splitter_for(name, manifest_root)
        unlisted = splitter.unlisted(t.label for t in theorems)
        report = assemble(out, statuses, features(), splitter, key="theorem", started=started,
                          jobs=jobs, progress=progress, card=card_for(db_path), extra_info={
                              "database": str(db_path.resolve()), "limit": limit,
                              "theorems_not_in_manifest": len(unlisted),
                              "valid_fraction": VALID_FRACTION, "test_fraction": TEST_FRACTION})
    finally:
        _CONTEXT.clear()
        gc.enable()
    if progress:
        print(report.summary(), file=sys.stderr)
        if splitter.manifest is not None and unlisted:
            print(f"  {len(unlisted):,} theorems are in no manifest of {splitter.manifest_dir}; "
                  f"they follow the seeded rule (seed {SPLIT_SEED})", file=sys.stderr)
    return out


# -- the command ------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=SET_MM, help=f"the .mm database (default {SET_MM})")
    parser.add_argument("--first", type=int, metavar="N",
                        help="only the first N $p, in database order")
    renamed(parser, "--limit", "--first", "first", type=int)
    parser.add_argument("--out", help="output folder (default $PROVERGYM_HOME/corpora/NAME)")
    parser.add_argument("--name", help="corpus name (default: metamath for set.mm, "
                                       "metamath-STEM otherwise); also picks the manifest")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (default: up to 2)")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE,
                        help=f"theorems per shard (default {CHUNK_SIZE})")
    parser.add_argument("--write-manifest", action="store_true",
                        help="write corpora/splits/NAME/{train,valid,test}.txt for the "
                             "database's $p with the fixed seed, then stop")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")
    renamed(parser, "--quiet", "--no-progress", "no_progress", flag=True)
    distributed.add_executor_arguments(parser)


def card_for(db_path: Path) -> Card:
    """The dataset card of a corpus built from ``db_path`` (set.mm's licence is known)."""
    name = Path(db_path).name
    is_set_mm = name == "set.mm"
    return Card(
        pretty_name=f"{name} proof steps (provergym)",
        description=(f"One record per logical step of every $p proof of {name}, in the order "
                     "a backward prover meets the goals (GPT-f style): the goal, its syntax "
                     "tree, the hypotheses in scope, the label applied with its substitution, "
                     "the short step the model learns, and the steps left below it."),
        license="cc0-1.0" if is_set_mm else "other",
        license_note=("set.mm (the Metamath Proof Explorer) is released into the public "
                      "domain (CC0 1.0); so are these records." if is_set_mm else
                      f"The licence of {name}: see the database's own header."),
        homepage="https://us.metamath.org/" if is_set_mm else "",
        citation=("@article{polu2020generative, title={Generative Language Modeling for "
                  "Automated Theorem Proving}, author={Polu, Stanislas and Sutskever, Ilya}, "
                  "journal={arXiv:2009.03393}, year={2020}}"),
        tags=("metamath", "theorem"))


def build(args: argparse.Namespace) -> Path:
    if args.first is not None and args.first < 1:
        raise CorpusError("--limit must be at least 1")
    if args.jobs < 1 or args.chunk_size < 1:
        raise CorpusError("--jobs and --chunk-size must be at least 1")
    if args.write_manifest:
        try:
            db = parse_database(args.db)
        except (MetamathError, OSError) as error:
            raise CorpusError(str(error)) from None
        directory = write_manifest(MANIFEST_ROOT / (args.name or corpus_name(args.db)),
                                   database_split(db))
        return directory
    return build_corpus(args.db, args.out, name=args.name, limit=args.first, jobs=args.jobs,
                        chunk_size=args.chunk_size, progress=not args.no_progress,
                        executor=distributed.executor_of(args))
