"""``provergym export``: the proofs of a benchmark run, written for the real checkers.

Metamath: a patch a database's maintainers would accept (:mod:`provergym.metamath.submit`):
a proof goes in where the theorem's proof is ``?``, or where it is strictly shorter, the
theorem is not discouraged and it rests on no axiom the original does not; formatted by
metamath-exe itself, and ``verify proof *`` must pass on the patched database. The patched
copy is written only with ``copy``. Coq: one ``.v`` file per proof, each compiled by
``coqc``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from provergym.bench.runner import read_results_file
from provergym.errors import CheckFailed, UserError

# theorem -> sentences its proof needs before the statement (CoqHammer's import)
_PREAMBLES: dict[str, tuple[str, ...]] = {}



class ExportFailed(UserError):
    """The export could not be written (exit 2)."""


class ExportRejected(ExportFailed, CheckFailed):
    """The export was written and a checker rejected it (exit 1)."""


def _proved(results_path: Path, method: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """theorem -> proof (first method wins) and theorem -> method."""
    proofs: dict[str, str] = {}
    owner: dict[str, str] = {}
    _PREAMBLES.clear()
    for line in read_results_file(results_path):
        result = line["result"]
        if result["status"] != "proved" or (method and line["method"] != method):
            continue
        if line["theorem"] not in proofs and result.get("proof"):
            proofs[line["theorem"]] = result["proof"]
            owner[line["theorem"]] = line["method"]
            _PREAMBLES[line["theorem"]] = tuple(result.get("preamble", ()))
    return proofs, owner


def _read_config(path: Path) -> dict:
    """The run's settings, from the ``config.json`` beside its results ({} without one)."""
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        problem = "" if isinstance(config, dict) else "not a JSON object"
    except OSError as error:
        problem = error.strerror
    except ValueError as error:  # not text, or not JSON
        problem = str(error)
    if problem:
        raise ExportFailed(f"{path}: not a readable bench config ({problem}); fix or delete "
                           "it (without it, the export takes a Metamath run and needs --db)")
    return config


@dataclass(frozen=True)
class ExportOptions:
    """How lenient a Metamath export is (the defaults are a maintainer's rules)."""

    copy: bool = False  # also write the patched database
    contributor: str = "provergym"  # the name in "(Proof shortened by NAME, DATE.)"
    allow_longer: bool = False
    allow_discouraged: bool = False
    allow_new_axioms: bool = False


def export_results(results: str | Path, out: str | Path, db: str | None = None,
                   method: str | None = None, options: ExportOptions | None = None) -> str:
    """Write and check the export; returns a one-paragraph account, raises on rejection."""
    results = Path(results)
    if not results.is_file():
        raise ExportFailed(f"{results}: no such results file")
    config = _read_config(results.parent / "config.json")
    backend = config.get("backend", "metamath")
    proofs, owner = _proved(results, method)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not proofs:
        return f"{results}: no proved theorem to export"
    if backend == "metamath":
        return _export_metamath(db or config.get("db"), proofs, owner, out,
                                options or ExportOptions())
    return _export_coq(config, proofs, out)


def _export_metamath(db_path: str | None, proofs: dict[str, str], owner: dict[str, str],
                     out: Path, options: ExportOptions) -> str:
    from provergym.metamath.database import MetamathError, parse_database
    from provergym.metamath.export import ExportError
    from provergym.metamath.submit import submit

    if not db_path:
        raise ExportFailed("which database? pass --db FILE")
    try:
        db = parse_database(db_path)
    except MetamathError as error:
        raise ExportFailed(f"cannot read {db_path}: {error}") from error
    try:
        report = submit(db, {label: proof.split() for label, proof in proofs.items()}, out,
                        contributor=options.contributor, allow_longer=options.allow_longer,
                        allow_discouraged=options.allow_discouraged,
                        allow_new_axioms=options.allow_new_axioms, write_copy=options.copy)
    except ExportError as error:
        if "rejected" in str(error):
            raise ExportRejected(str(error)) from error
        raise ExportFailed(f"cannot export into {db_path}: {error}") from error
    except KeyError as error:
        raise ExportFailed(f"cannot export into {db_path}: unknown label {error}") from error
    (out / "exported.json").write_text(json.dumps(
        {"database": db_path, "patch": str(report.patch) if report.patch else None,
         "copy": str(report.copy) if report.copy else None, "verified": report.verified,
         "options": asdict(options),
         "theorems": {d.label: {"method": owner.get(d.label), "in_patch": d.replaced,
                                "reason": d.reason, "old_size": d.old_size,
                                "new_size": d.new_size, "axioms_added": list(d.axioms_added)}
                      for d in report.decisions}}, indent=1))
    return report.summary()


def _export_coq(config: dict, proofs: dict[str, str], out: Path) -> str:
    from provergym.api import InitError
    from provergym.bench.check import coq_file_stem
    from provergym.coq.env import CoqFile
    from provergym.coq.export import export_and_check

    by_file: dict[str, list[str]] = {}
    for theorem in proofs:
        path, _, lemma = theorem.rpartition(":")
        by_file.setdefault(path, []).append(lemma)
    failures = []
    written = 0
    for path, lemmas in by_file.items():
        try:
            from provergym.bench.runner import coq_source

            real, flags = coq_source(path)
            env = CoqFile(real, coq_args=(*flags, *config.get("coq_args", ())))
        except InitError as error:
            failures.append(str(error))
            continue
        try:
            for lemma in lemmas:
                theorem = f"{path}:{lemma}"
                target = out / f"{coq_file_stem(lemma)}.v"
                check = export_and_check(env, lemma, proofs[theorem], target,
                                         preamble=_PREAMBLES.get(theorem, ()))
                written += 1
                if not check.ok:
                    failures.append(f"{target}: {check.output.strip()[-300:]}")
        finally:
            env.close()
    if failures:
        raise ExportRejected("refused: " + "; ".join(failures[:5]))
    return f"exported {written} Coq proofs into {out}; coqc accepted every file, none resting on a new axiom"
