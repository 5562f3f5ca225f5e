"""Independent checks of the proofs that search finds.

A proof counts only when every checker accepts it: for Metamath our kernel and
metamath-exe (on a copy of the database with the proofs written in, compressed), for Coq
``coqc`` on the exported ``.v`` file. A rejection turns the result into a failure with
status ``check_failed`` (a bug to report), never a success.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from provergym.search.result import CHECK_FAILED, PROVED, SearchResult

KERNEL = "kernel"
METAMATH_EXE = "metamath-exe"
COQC = "coqc"


def kernel_verdicts(db: Any, proofs: Mapping[str, str]) -> dict[str, str]:
    """label -> "ok" or the kernel's reason, for normal proofs (labels separated by blanks).
    A proof that cites a statement whose own proof is incomplete, or rests on one, is
    rejected too: it proves nothing (``unproved_theorems``)."""
    from provergym.metamath.kernel import Kernel, ProofError
    from provergym.metamath.prooftree import unproved_theorems

    kernel = Kernel(db)
    unproved = unproved_theorems(db)
    verdicts = {}
    for label, proof in proofs.items():
        steps = proof.split()
        resting = sorted({step for step in steps if step in unproved})
        if resting:
            verdicts[label] = (f"rejected: cites {', '.join(resting[:3])}, whose proof is "
                               f"incomplete or rests on one that is")
            continue
        try:
            kernel.verify_normal(label, steps)
            verdicts[label] = "ok"
        except (ProofError, KeyError) as error:
            verdicts[label] = f"rejected: {error}"
    return verdicts


def metamath_exe_verdicts(db: Any, proofs: Mapping[str, str], out_dir: str | Path | None = None,
                          timeout: float = 600.0) -> tuple[dict[str, str], str]:
    """Write every proof (compressed) into one copy of the database and have metamath-exe
    verify each label. Returns label -> "ok" or the reason, and the copy's main file."""
    from provergym.metamath.export import ExportError, export_and_check, metamath_reply

    if not proofs:
        return {}, ""
    if out_dir is None:  # a scratch copy, removed once judged
        with tempfile.TemporaryDirectory(prefix="provergym-check-") as scratch:
            verdicts, _ = metamath_exe_verdicts(db, proofs, scratch, timeout)
        return verdicts, ""
    out_dir = Path(out_dir)
    try:
        main, check = export_and_check(db, {k: v.split() for k, v in proofs.items()}, out_dir,
                                       timeout=timeout)
    except ExportError as error:
        return {label: f"export failed: {error}" for label in proofs}, ""
    if check.ok:
        return _rests_on_unproved(db, {label: "ok" for label in proofs}, main, timeout), main
    output = check.output
    before_first = output.split("MM> verify proof", 1)[0]
    early = [line for line in before_first.splitlines() if line.startswith("?")]
    verdicts = {}
    for label in proofs:
        reply = metamath_reply(output, f"verify proof {label}")
        if early or reply is None:
            verdicts[label] = "; ".join(early) or "metamath-exe did not check it"
            continue
        errors = [line for line in reply.splitlines() if line.startswith("?")]
        if errors or label not in reply.split():
            verdicts[label] = "; ".join(errors) or "metamath-exe did not verify it"
        else:
            verdicts[label] = "ok"
    return _rests_on_unproved(db, verdicts, main, timeout), main


def _rests_on_unproved(db: Any, verdicts: dict[str, str], main: str,
                       timeout: float) -> dict[str, str]:
    """When the database holds an incomplete proof, ask metamath-exe what each accepted
    proof rests on (``show trace_back``), and reject one that rests on a statement it says
    was not proved. (``verify proof`` alone does not look at what a proof cites.)"""
    from provergym.metamath.export import ExportError, unproved_dependencies
    from provergym.metamath.prooftree import unproved_theorems

    accepted = [label for label, verdict in verdicts.items() if verdict == "ok"]
    if not accepted or not unproved_theorems(db):
        return verdicts
    try:
        traced = unproved_dependencies(main, accepted, timeout=timeout)
    except ExportError as error:
        return {**verdicts, **{label: f"trace failed: {error}" for label in accepted}}
    out = dict(verdicts)
    for label, names in traced.items():
        if names:
            out[label] = f"rests on unproved statement(s): {' '.join(names)}"
    return out


def apply_verdicts(results: Sequence[SearchResult], checker: str,
                   verdicts: Mapping[str, str]) -> list[SearchResult]:
    """Record ``checker``'s verdict on each proved result; a rejection is a failure."""
    out = []
    for result in results:
        verdict = verdicts.get(result.theorem)
        if result.status != PROVED or verdict is None:
            out.append(result)
            continue
        out.append(result.with_check(checker, verdict, failed=verdict != "ok"))
    return out


def check_metamath_results(db: Any, results: Sequence[SearchResult],
                           out_dir: str | Path | None = None) -> list[SearchResult]:
    """Kernel, then metamath-exe, on every proved result (metamath-exe in one batch)."""
    proved = {r.theorem: r.proof or "" for r in results if r.status == PROVED}
    results = apply_verdicts(results, KERNEL, kernel_verdicts(db, proved))
    still = {r.theorem: r.proof or "" for r in results if r.status == PROVED}
    verdicts, _ = metamath_exe_verdicts(db, still, out_dir)
    return apply_verdicts(results, METAMATH_EXE, verdicts)


def coq_file_stem(lemma: str) -> str:
    """A file stem that is a Coq identifier (coqc names the module after the file)."""
    return "Found_" + re.sub(r"\W", "_", lemma)


def check_coq_result(env: Any, result: SearchResult, out_dir: str | Path,
                     timeout: float = 300.0) -> SearchResult:
    """Export a proved Coq result to ``out_dir/Found_<lemma>.v`` and check it: coqc compiles
    it, and it rests on no axiom the library's own proof does not."""
    from provergym.coq.export import export_and_check

    if result.status != PROVED or not result.proof:
        return result
    check = export_and_check(env, result.theorem, result.proof,
                             Path(out_dir) / f"{coq_file_stem(result.theorem)}.v",
                             preamble=result.preamble, timeout=timeout)
    if check.ok:
        return result.with_check(COQC, "ok")
    return replace(result.with_check(COQC, check.output.strip()[-500:] or "coqc failed",
                                     failed=True), status=CHECK_FAILED)
