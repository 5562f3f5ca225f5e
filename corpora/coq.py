"""The Coq proof-state corpus (GamePad's two tasks: tactic class and position in the proof).

Every ``.v`` file of the chosen libraries is replayed by ``provergym.coq.replay`` (one
coqidetop per file, ``Set Printing All`` printed too); each tactic application gives one
record:

- ``file`` (``stdlib/Arith/PeanoNat.v``, ``mathcomp/ssreflect/seq.v``), ``lemma``,
  ``lemma_id`` (``file:lemma``, the split key), ``line`` and ``sentence`` (the sentence's
  index in the file, as ``split_sentences`` counts, so a record can be re-run);
- ``goals``: the goals before the tactic, default-printed, as ``ProofState.pretty()`` shows
  them (what an agent sees at run time); ``goals_after`` likewise after it ("" once closed);
- ``goals_sexp``: the same goals from the ``Set Printing All`` printing, parsed by the term
  grammar, as ``(Goals (Goal (Hyps (Hyp "n" TYPE) (Hyp "x" TYPE BODY) ...) CONCL) ...)``
  with each TYPE/BODY/CONCL written by ``term_to_sexp``. A state with a goal that does not
  parse keeps ``""`` and is counted (``sexp_failed``), never dropped;
- ``tactic`` and ``tactic_class`` (``corpora.tactic_classes``: GamePad's 24 + ``other``);
- ``steps_left``: tactics after this one in the same proof (bullets and braces are not
  tactics: they give no record and are not counted); ``position_bucket``: GamePad's three
  positions, 0 for < 5 steps left, 1 for 5-19, 2 for >= 20.

Only proofs that end with ``Qed``/``Defined``/``Save`` give records: a proof that ends with
``Admitted``/``Abort``, or that a file failure cut short, has no true steps-left count; its
states are counted (``states_dropped_unfinished``). A file that fails (Coq refuses a
sentence, a timeout) keeps the records of its finished proofs and is logged with its reason.

The split is by lemma (``lemma_id``), 80/10/10, by the seeded rule of ``corpora.common``;
the manifest of the default build is committed under ``corpora/splits/coq/``. One shard per
file, two processes, resumable.

    provergym corpus build coq [--libs stdlib,mathcomp] [--limit N] [--files F.v ...]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
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
    iter_shard_records,
    require_records,
    write_manifest,
)
from provergym import distributed
from provergym.cliargs import renamed

# provergym.coq's modules (and the tactic classes' regular expressions) are imported where
# Coq runs: `provergym --help` builds its parser from this module, and they take ~80 ms
# to import (lark, the term grammar).

COQLIB = Path("/usr/lib/ocaml/coq")
STDLIB = COQLIB / "theories"
MATHCOMP = COQLIB / "user-contrib" / "mathcomp"
# The stdlib part of the default build: the dirs of the replay benchmark (the logic,
# arithmetic and data-structure core). ``stdlib-all`` takes every file of theories/.
STDLIB_DIRS = ("Arith", "Bool", "Lists", "Logic", "Relations", "Sorting", "Structures",
               "ZArith", "NArith")
LIBS = ("stdlib", "stdlib-all", "mathcomp")
DEFAULT_LIBS = ("stdlib", "mathcomp")
CORPUS = "coq"
SPLIT_SEED = 0
# A small default for tests and `make test`: two short stdlib files and one mathcomp file.
SMALL_FILES = (STDLIB / "Bool" / "IfProp.v", STDLIB / "Arith" / "Factorial.v",
               MATHCOMP / "ssreflect" / "ssrfun.v")

_PROOF_END = re.compile(r"(Qed|Defined|Save|Admitted|Abort)\b")
_FINISHED = ("Qed", "Defined", "Save")


def position_bucket(steps_left: int) -> int:
    """GamePad's position task: 0 for < 5 steps left, 1 for 5-19, 2 for >= 20."""
    return 0 if steps_left < 5 else 1 if steps_left < 20 else 2


def library_files(libs: Sequence[str]) -> list[Path]:
    """The ``.v`` files of the named libraries, sorted (a fixed order for shards)."""
    files: list[Path] = []
    for lib in libs:
        if lib == "stdlib":
            files += [f for d in STDLIB_DIRS for f in (STDLIB / d).rglob("*.v")]
        elif lib == "stdlib-all":
            files += list(STDLIB.rglob("*.v"))
        elif lib == "mathcomp":
            files += list(MATHCOMP.rglob("*.v"))
        else:
            raise ValueError(f"unknown library {lib!r}; choose from {', '.join(LIBS)}")
    return sorted(set(files))


def display_name(path: Path) -> str:
    """``stdlib/Arith/PeanoNat.v``, ``mathcomp/ssreflect/seq.v``, or the path itself."""
    path = Path(path).resolve()
    if STDLIB in path.parents:
        return "stdlib/" + str(path.relative_to(STDLIB))
    if MATHCOMP in path.parents:
        return "mathcomp/" + str(path.relative_to(MATHCOMP))
    return str(path)


def source_path(name: str) -> Path:
    """The inverse of :func:`display_name`."""
    if name.startswith("stdlib/"):
        return STDLIB / name[len("stdlib/"):]
    if name.startswith("mathcomp/"):
        return MATHCOMP / name[len("mathcomp/"):]
    return Path(name)


def load_paths(path: Path) -> list[str]:
    """mathcomp files ``Require`` their siblings by short name, so bind their package as it
    was bound when mathcomp was built (``-R .../ssreflect mathcomp.ssreflect``)."""
    path = Path(path).resolve()
    if MATHCOMP in path.parents:
        package = path.relative_to(MATHCOMP).parts[0]
        return ["-R", str(MATHCOMP / package), f"mathcomp.{package}"]
    return []


# -- records ------------------------------------------------------------------------------------
def goals_text(goals: Sequence[Any]) -> str:
    """Goals as ``ProofState.pretty()`` prints them ("" for none)."""
    return "\n\n".join(str(goal) for goal in goals)


def goals_sexp(goals: Sequence[Any]) -> str | None:
    """The ``Set Printing All`` goals as one S-expression, or None if one does not parse."""
    import sexpdata

    from provergym.coq.terms import term_to_sexp

    parts = []
    for goal in goals:
        data = goal.data
        if data is None or data.printing_all is None or data.ast is None:
            return None
        hypotheses, conclusion = data.ast
        hyp_parts = []
        for name, type_ast, body_ast in hypotheses:
            body = f" {term_to_sexp(body_ast)}" if body_ast is not None else ""
            hyp_parts.append(f"(Hyp {sexpdata.dumps(name)} {term_to_sexp(type_ast)}{body})")
        parts.append(f"(Goal (Hyps{''.join(' ' + h for h in hyp_parts)}) "
                     f"{term_to_sexp(conclusion)})")
    return f"(Goals{''.join(' ' + p for p in parts)})"


def _sentence_indices(sentences: Sequence[Any], text: str, records: Sequence[Any]) -> list[int]:
    """Each record's sentence index: records come in file order, so one forward merge on
    (line, text) finds them."""
    from provergym.coq.sentences import line_col

    indices: list[int] = []
    pointer = 0
    for record in records:
        while pointer < len(sentences):
            sentence = sentences[pointer]
            if (sentence.text == record.tactic
                    and line_col(text, sentence.start)[0] == record.line):
                break
            pointer += 1
        if pointer == len(sentences):
            raise ValueError(f"{record.file}:{record.line}: cannot find {record.tactic!r}")
        indices.append(pointer)
        pointer += 1
    return indices


def file_records(path: Path, *, sentence_timeout: float = 300.0,
                 coq_args: Sequence[str] = ()
                 ) -> tuple[list[dict[str, Any]], str | None, dict[str, int]]:
    """Replay one file: its records, its failure (None if it replayed to the end) and
    counts."""
    from corpora.tactic_classes import is_structural, tactic_class
    from provergym.coq.replay import replay_file
    from provergym.coq.sentences import split_sentences

    result = replay_file(path, [*load_paths(path), *coq_args], printing_all=True,
                         progress=False,
                         sentence_timeout=sentence_timeout)
    text = Path(path).read_text(encoding="utf-8")
    sentences = split_sentences(text)
    indices = _sentence_indices(sentences, text, result.records)
    name = display_name(path)
    counts = {"files": 1, "files_failed": int(result.error is not None), "lemmas": 0,
              "states": 0, "states_dropped_unfinished": 0, "sexp_failed": 0,
              "bullets_and_braces": 0, "seconds_replay": round(result.seconds)}
    # Group the records into proofs: replay counts steps down to 0 at each proof's end.
    groups: list[list[int]] = []
    for position, record in enumerate(result.records):
        previous = result.records[position - 1] if position else None
        if (previous is None or previous.lemma != record.lemma or previous.steps_left == 0):
            groups.append([])
        groups[-1].append(position)
    records: list[dict[str, Any]] = []
    for group in groups:
        last = indices[group[-1]]
        ending = next((s.text for s in sentences[last + 1:] if _PROOF_END.match(s.text)), None)
        finished = ending is not None and ending.startswith(_FINISHED)
        if finished and result.error is not None:
            # The ending must have run: it lies before the sentence that failed.
            error_line = _error_line(result.error)
            end_sentence = next(s for s in sentences[last + 1:] if _PROOF_END.match(s.text))
            from provergym.coq.sentences import line_col

            finished = error_line is None or line_col(text, end_sentence.start)[0] < error_line
        tactics = [p for p in group if not is_structural(result.records[p].tactic)]
        counts["bullets_and_braces"] += len(group) - len(tactics)
        if not finished:
            counts["states_dropped_unfinished"] += len(tactics)
            continue
        counts["lemmas"] += 1
        for rank, position in enumerate(tactics):
            record = result.records[position]
            steps_left = len(tactics) - 1 - rank
            sexp = goals_sexp(record.goals_before)
            if sexp is None:
                counts["sexp_failed"] += 1
            records.append({
                "file": name, "lemma": record.lemma, "lemma_id": f"{name}:{record.lemma}",
                "line": record.line, "sentence": indices[position],
                "goals": goals_text(record.goals_before), "goals_sexp": sexp or "",
                "goals_after": goals_text(record.goals_after),
                "tactic": record.tactic, "tactic_class": tactic_class(record.tactic),
                "steps_left": steps_left, "position_bucket": position_bucket(steps_left),
            })
    counts["states"] = len(records)
    return records, result.error, counts


def _error_line(error: str) -> int | None:
    match = re.search(r":(\d+):\d+: ", error)
    return int(match.group(1)) if match else None


# -- the corpus -------------------------------------------------------------------------------
POSITION_BUCKETS = ("0-4", "5-19", "20+")  # tactics left after this one (GamePad)


def features():
    """The corpus's schema. ``tactic_class`` and ``position_bucket`` are ``ClassLabel``s
    (stored as ints, named by the feature: ``features["tactic_class"].int2str(3)``);
    records are written with names or ints alike (``ClassLabel.encode_example``)."""
    from datasets import ClassLabel, Features, Value

    from corpora.tactic_classes import ALL_CLASSES

    return Features({
        "file": Value("string"), "lemma": Value("string"), "lemma_id": Value("string"),
        "line": Value("int32"), "sentence": Value("int32"), "goals": Value("string"),
        "goals_sexp": Value("string"), "goals_after": Value("string"),
        "tactic": Value("string"), "tactic_class": ClassLabel(names=list(ALL_CLASSES)),
        "steps_left": Value("int32"),
        "position_bucket": ClassLabel(names=list(POSITION_BUCKETS)),
    })


def _work(payload: str | tuple[str, tuple[str, ...]]):
    path, extra = (payload, ()) if isinstance(payload, str) else payload
    records, error, counts = file_records(Path(path), coq_args=extra)
    failures = ((display_name(Path(path)), error),) if error else ()
    return ShardOutput(records, failures, counts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--libs", default=",".join(DEFAULT_LIBS),
                        help=f"comma-separated, from {', '.join(LIBS)} (default: %(default)s)")
    parser.add_argument("--files", nargs="+", type=Path, default=None,
                        help="replay these .v files instead of libraries")
    parser.add_argument("--small", action="store_true",
                        help="a three-file build for tests: " +
                        ", ".join(display_name(f) for f in SMALL_FILES))
    parser.add_argument("--max-files", type=int, default=None, metavar="N",
                        help="only the first N files")
    renamed(parser, "--limit", "--max-files", "max_files", type=int)
    parser.add_argument("--jobs", type=int, default=2, help="parallel replay workers")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="split seed")
    parser.add_argument("--out", type=Path, default=None,
                        help="corpus folder (default: $PROVERGYM_HOME/corpora/coq[-small])")
    parser.add_argument("--write-manifest", action="store_true",
                        help="write corpora/splits/coq/ from this build's lemmas")
    from provergym.coq.cli import add_load_paths

    add_load_paths(parser)
    distributed.add_executor_arguments(parser)


CARD = Card(
    pretty_name="Coq proof states (provergym)",
    description=("One record per tactic of every proof in the replayed .v files (by default "
                 "the Coq standard library and Mathematical Components, as Debian installs "
                 "them): the goals before and after (hypotheses and conclusion, also under Set "
                 "Printing All), the tactic, GamePad's tactic class and position bucket, and "
                 "the tactics left in the proof."),
    license="other",
    license_note=("Derived from the replayed files: the Coq standard library is LGPL-2.1, "
                  "Mathematical Components is CeCILL-B; a corpus of your own files carries "
                  "their licence."),
    homepage="https://coq.inria.fr/",
    citation=("@inproceedings{huang2019gamepad, title={GamePad: A Learning Environment for "
              "Theorem Proving}, author={Huang, Daniel and Dhariwal, Prafulla and Song, Dawn "
              "and Sutskever, Ilya}, booktitle={ICLR}, year={2019}}"),
    tags=("coq", "lemma"))


def project_name(files: Sequence[Path]) -> str:
    """The name a corpus of one's own files goes by: the folder of their _CoqProject (or
    dune project), else the deepest folder they share; so two projects never overwrite
    each other's corpus."""
    import os

    from provergym.coq.build import project_root

    roots = {project_root(f) for f in files}
    if len(roots) == 1 and None not in roots:
        folder = next(iter(roots))[0]
    else:
        folder = Path(os.path.commonpath([str(Path(f).resolve().parent) for f in files]))
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-") or "files"
    return name


def build(args: argparse.Namespace) -> Path:
    started = time.perf_counter()
    if args.files:
        files = [Path(f) for f in args.files]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise CorpusError(f"no such .v file: {', '.join(missing)}")
        default_name = f"{CORPUS}-{project_name(files)}"
    elif args.small:
        files, default_name = list(SMALL_FILES), f"{CORPUS}-small"
    else:
        libs = [lib.strip() for lib in args.libs.split(",") if lib.strip()]
        try:
            files = library_files(libs)
        except ValueError as error:
            raise CorpusError(str(error)) from None
        default_name = CORPUS if sorted(libs) == sorted(DEFAULT_LIBS) else \
            f"{CORPUS}-{'-'.join(libs)}"
    if args.max_files is not None:
        files = files[:max(0, args.max_files)]
        default_name += f"-limit{args.max_files}"
    if not files:
        raise CorpusError("no .v files to replay")
    directory = Path(args.out) if args.out else corpus_dir(default_name)
    from provergym.coq.cli import load_path_args

    extra = tuple(load_path_args(args))  # -Q/-R/-I given on the command line
    shards = [(display_name(f), (str(f.resolve()), extra) if extra else str(f.resolve()))
              for f in files]
    statuses = build_shards(directory, shards, _work, features(), jobs=args.jobs,
                            desc="coq files", progress=not args.no_progress,
                            executor=distributed.executor_of(args))
    require_records(statuses, ".v files")
    splitter = Splitter.for_corpus(CORPUS, args.seed, valid=0.1, test=0.1)
    if args.write_manifest:
        keys = [r["lemma_id"] for r in iter_shard_records(directory, [s.shard_id for s in
                                                                      statuses if s.records])]
        write_manifest(MANIFEST_ROOT / CORPUS, compute_split(keys, args.seed, 0.1, 0.1))
        splitter = Splitter.for_corpus(CORPUS, args.seed, valid=0.1, test=0.1)
    report = assemble(directory, statuses, features(), splitter, key="lemma_id", card=CARD,
                      started=started, jobs=args.jobs,
                      extra_info={"files": [name for name, _ in shards],
                                  "position_buckets": "0: <5, 1: 5-19, 2: >=20 steps left"})
    print(report.summary())
    return directory
