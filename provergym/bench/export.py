"""``provergym export``: the proofs of a benchmark run, written for the real checkers.

Metamath: every proved theorem's proof, compressed in set.mm's format, goes into one copy
of the database, and metamath-exe must then pass ``verify proof *`` on the whole copy with
no error (so the new proofs fit among all the others). Coq: one ``.v`` file per proof,
each compiled by ``coqc``.
"""

from __future__ import annotations

import json
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


def export_results(results: str | Path, out: str | Path, db: str | None = None,
                   method: str | None = None) -> str:
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
        return _export_metamath(db or config.get("db"), proofs, owner, out)
    return _export_coq(config, proofs, out)


def _export_metamath(db_path: str | None, proofs: dict[str, str], owner: dict[str, str],
                     out: Path) -> str:
    from provergym.metamath.database import MetamathError, parse_database
    from provergym.metamath.export import (
        ExportError,
        check_with_metamath,
        compress_proof,
        write_database,
    )

    if not db_path:
        raise ExportFailed("which database? pass --db FILE")
    try:
        db = parse_database(db_path)
        compressed = {label: compress_proof(db, label, proof.split())
                      for label, proof in proofs.items()}
        main = write_database(db, compressed, out)
    except (MetamathError, ExportError, KeyError) as error:
        raise ExportFailed(f"cannot export into a copy of {db_path}: {error}") from error
    check = check_with_metamath(main, ["*"])
    (out / "exported.json").write_text(json.dumps(
        {"database": main, "theorems": owner, "metamath_ok": check.ok,
         "errors": list(check.errors)}, indent=1))
    if not check.ok:
        raise ExportRejected(f"metamath-exe rejected {main}: " + "; ".join(check.errors[:5]))
    return (f"exported {len(proofs)} proofs into {main}; metamath-exe 'verify proof *' "
            f"passed with no error")


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
