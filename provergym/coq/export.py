"""Export a found proof as a ``.v`` file and check it with ``coqc``, independently of the
session that found it.

The file holds the original text before the lemma (so its context is exactly the one the
environment used), the statement, ``Proof. <tactics> Qed.``, and ``End`` for every section or
module still open, so ``coqc`` compiles it as a whole. A module still open that declares a
signature (``Module Z <: ZAxiomsSig.``) loses the declaration in the copy: closed early, the
module lacks the fields that follow the lemma, and the signature has no bearing on what the
proofs inside the module may use.

Compiling is not all of the check: ``export_and_check`` also prints the lemma's assumptions
(``Print Assumptions``) and refuses a proof that rests on an axiom, an admitted lemma or an
unsafe flag that the library's own proof of the lemma does not rest on (CoqHammer's import
brings ``Program.Equality``, whose ``dependent destruction`` uses ``eq_rect_eq``, say).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provergym.coq.env import CoqFile, scope_opening


@dataclass(frozen=True)
class CoqcCheck:
    ok: bool
    output: str
    seconds: float
    # ``Print Assumptions`` of the lemma, by kind ("Axioms", ...), section variables left out;
    # None when the check did not print them.
    assumptions: dict[str, frozenset[str]] | None = None


def without_signature(sentence: str) -> str:
    """``Module F (X : T) <: S <: S'.`` -> ``Module F (X : T).``: a module opening without
    the signatures it declares (``<: S`` or ``: S`` outside the binders' parentheses)."""
    depth = 0
    for position, char in enumerate(sentence):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ":" and depth == 0:
            cut = position - 1 if sentence[position - 1] == "<" else position
            return sentence[:cut].rstrip() + "."
    return sentence


def export_text(env: CoqFile, lemma: str, proof: str, preamble: Sequence[str] = (),
                after: Sequence[str] = ()) -> str:
    """The text of the exported file. ``proof`` is ``Proof. ... Qed.`` as ``Proved`` gives it;
    ``after`` are sentences just after it, still inside the lemma's sections and modules."""
    found = env.lemmas[lemma]
    prefix = env.text[:env.sentences[found.index].start]
    scopes = env.open_scope_sentences(found)
    for _, index in reversed(scopes):  # later openings first: earlier offsets stay valid
        sentence = env.sentences[index]
        if scope_opening(sentence.text)[0] == "Module":  # not a Section, a Module Type
            prefix = (prefix[:sentence.start] + without_signature(sentence.text)
                      + prefix[sentence.end:])
    closing = "".join(f"End {name}.\n" for name, _ in reversed(scopes))
    parts = [prefix.rstrip(), "", *preamble, found.statement, proof, *after, closing]
    return "\n".join(parts)


def export_proof(env: CoqFile, lemma: str, proof: str, out: str | Path,
                 preamble: Sequence[str] = ()) -> Path:
    """Write the exported ``.v`` file to ``out`` (its stem must be a Coq identifier)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(export_text(env, lemma, proof, preamble), encoding="utf-8")
    return out


def check_with_coqc(path: str | Path, coq_args: Sequence[str] = (), *,
                    cwd: str | Path | None = None, timeout: float = 600.0) -> CoqcCheck:
    """Compile ``path`` with ``coqc``; the whole process group dies on timeout."""
    start = time.perf_counter()
    process = subprocess.Popen(["coqc", "-q", *coq_args, str(Path(path).resolve())],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               cwd=str(cwd) if cwd else None, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return CoqcCheck(False, f"coqc timed out after {timeout} s", time.perf_counter() - start)
    text = output.decode("utf-8", "replace")
    return CoqcCheck(process.returncode == 0, text, time.perf_counter() - start)


# A heading of ``Print Assumptions``'s output ("Axioms:", "Section Variables:", "Constants
# relying on type-in-type:", ...); an entry starts unindented with its name.
_HEADING = re.compile(r"[A-Z][\w/() -]*:")
_ENTRY = re.compile(r"([^\s:]+)(?:\s|$)")


def parse_assumptions(text: str) -> dict[str, frozenset[str]]:
    """``Print Assumptions`` output -> {kind: names}; section variables are not assumptions
    of the lemma (every proof in the section has them) and are left out."""
    kinds: dict[str, set[str]] = {}
    kind = None
    for line in text.splitlines():
        if not line.strip() or line[0].isspace() or line.startswith(":"):
            continue  # a type, or its continuation
        if _HEADING.fullmatch(line.strip()):
            kind = line.strip()[:-1]
            kinds.setdefault(kind, set())
        elif line.startswith("Closed under the global context"):
            kind = None
        elif kind is not None and (entry := _ENTRY.match(line)):
            kinds[kind].add(entry.group(1))
    kinds.pop("Section Variables", None)
    return {name: frozenset(names) for name, names in kinds.items() if names}


def _compile_with_assumptions(env: CoqFile, lemma: str, proof: str, preamble: Sequence[str],
                              stem: str, timeout: float) -> CoqcCheck:
    """Compile, in a scratch folder, the export of ``proof`` followed by ``Print Assumptions``
    (redirected to a file, so nothing else coqc prints can be mistaken for it)."""
    with tempfile.TemporaryDirectory(prefix="provergym-coqc-") as scratch:
        printed = Path(scratch) / "assumptions"
        redirect = f'Redirect "{printed}" Print Assumptions {lemma}.'
        path = Path(scratch) / f"{stem}.v"
        path.write_text(export_text(env, lemma, proof, preamble, after=(redirect,)),
                        encoding="utf-8")
        check = check_with_coqc(path, env.coq_args, cwd=env.cwd, timeout=timeout)
        out = printed.with_suffix(".out")
        if not check.ok:
            return check
        if not out.exists():
            return CoqcCheck(False, f"coqc accepted the file but printed no assumptions for "
                                    f"{lemma}", check.seconds)
        return CoqcCheck(True, check.output, check.seconds,
                         parse_assumptions(out.read_text(encoding="utf-8", errors="replace")))


def original_proof(env: CoqFile, lemma: str) -> str:
    """The library's own proof of ``lemma``, as the file has it."""
    found = env.lemmas[lemma]
    return "\n".join([*([found.proof_header] if found.proof_header else []), *found.body])


def export_and_check(env: CoqFile, lemma: str, proof: str, out: str | Path,
                     preamble: Sequence[str] = (), timeout: float = 600.0) -> CoqcCheck:
    """Write the export of ``proof`` to ``out`` and check it: coqc must accept it, and the
    proof may rest on no assumption beyond those of the library's own proof of the lemma
    (compiled in the same context, preamble included, only when the found proof has
    assumptions at all). A proof that cannot be compared is refused, never let through."""
    out = export_proof(env, lemma, proof, out, preamble)
    found = _compile_with_assumptions(env, lemma, proof, preamble, out.stem, timeout)
    if not found.ok or not found.assumptions:
        return found
    # The library's proof in the very same context (preamble included): Coq prints a name as
    # the shortest suffix that is unambiguous where it prints, so only names printed in one
    # context can be compared.
    own = _compile_with_assumptions(env, lemma, original_proof(env, lemma), preamble,
                                    out.stem, timeout)
    seconds = found.seconds + own.seconds
    if not own.ok:
        listed = "; ".join(f"{kind}: {', '.join(sorted(names))}"
                           for kind, names in found.assumptions.items())
        return CoqcCheck(False, f"the proof of {lemma} rests on {listed}, and the library's "
                                f"own proof, to compare with, did not compile in the same "
                                f"context: {own.output.strip()[-300:]}", seconds,
                         found.assumptions)
    extra = {kind: names - own.assumptions.get(kind, frozenset())
             for kind, names in found.assumptions.items()}
    extra = {kind: names for kind, names in extra.items() if names}
    if extra:
        listed = "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in extra.items())
        return CoqcCheck(False, f"the proof of {lemma} rests on assumptions that the "
                                f"library's own proof does not ({listed})", seconds,
                         found.assumptions)
    return CoqcCheck(True, found.output, seconds, found.assumptions)
