"""Export a found proof as a ``.v`` file and check it with ``coqc``, independently of the
session that found it.

The file holds the original text before the lemma (so its context is exactly the one the
environment used), the statement, ``Proof. <tactics> Qed.``, and ``End`` for every section or
module still open, so ``coqc`` compiles it as a whole. A module still open that declares a
signature (``Module Z <: ZAxiomsSig.``) loses the declaration in the copy: closed early, the
module lacks the fields that follow the lemma, and the signature has no bearing on what the
proofs inside the module may use.
"""

from __future__ import annotations

import os
import signal
import subprocess
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


def export_text(env: CoqFile, lemma: str, proof: str, preamble: Sequence[str] = ()) -> str:
    """The text of the exported file. ``proof`` is ``Proof. ... Qed.`` as ``Proved`` gives it."""
    found = env.lemmas[lemma]
    prefix = env.text[:env.sentences[found.index].start]
    scopes = env.open_scope_sentences(found)
    for _, index in reversed(scopes):  # later openings first: earlier offsets stay valid
        sentence = env.sentences[index]
        if scope_opening(sentence.text)[0] == "Module":  # not a Section, a Module Type
            prefix = (prefix[:sentence.start] + without_signature(sentence.text)
                      + prefix[sentence.end:])
    closing = "".join(f"End {name}.\n" for name, _ in reversed(scopes))
    parts = [prefix.rstrip(), "", *preamble, found.statement, proof, closing]
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
