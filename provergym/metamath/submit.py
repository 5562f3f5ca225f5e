"""Found proofs in the form a Metamath database's maintainers accept: a patch.

``submit(db, proofs, out)`` decides which proofs to put in, formats them exactly as
metamath-exe does (its own ``save proof /compressed`` and ``write source``, so a re-save
changes nothing), checks the result, and writes a unified diff against the source:

- a theorem whose proof is ``?`` gets the found proof;
- a theorem that already has a proof is replaced only by a strictly shorter one (the size
  of the compressed proof, both sides compressed the same way), never when its comment
  marks it discouraged, and with set.mm's ``(Proof shortened by NAME, D-Mon-YYYY.)`` tag;
- a proof that rests on an axiom the original proof does not (``show trace_back /axioms``)
  is left out.

Each of these can be relaxed by a flag. The report says, per theorem, what was done and
why, with both sizes and the axioms. ``verify proof *`` must pass on the patched database.
The patched copy itself is written only on request. Single-file databases only (set.mm,
iset.mm and the other Debian databases are single files).
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provergym.metamath.database import Database
from provergym.metamath.export import (
    ExportError,
    check_with_metamath,
    compress_proof,
    metamath_reply,
    run_metamath,
    write_database,
)
from provergym.metamath.integrity import discouraged
from provergym.metamath.prooftree import ProofTreeError, incomplete_proof, proof_tree


@dataclass(frozen=True)
class Decision:
    label: str
    replaced: bool
    reason: str
    old_size: int | None  # characters of the compressed proof (None: the proof was ?)
    new_size: int
    axioms_added: tuple[str, ...] = ()


@dataclass
class SubmitReport:
    patch: Path | None
    copy: Path | None
    decisions: list[Decision] = field(default_factory=list)
    verified: bool = False

    @property
    def replaced(self) -> list[Decision]:
        return [d for d in self.decisions if d.replaced]

    def summary(self) -> str:
        kept = [d for d in self.decisions if not d.replaced]
        lines = [f"{len(self.replaced)} of {len(self.decisions)} proofs go into the patch"
                 + (f" {self.patch}" if self.patch else "")
                 + ("; metamath-exe 'verify proof *' passed on the patched database"
                    if self.verified else "")]
        for decision in self.decisions:
            sizes = (f"{decision.old_size} -> {decision.new_size}" if decision.old_size
                     else f"? -> {decision.new_size}")
            verdict = "in" if decision.replaced else "left out"
            lines.append(f"  {decision.label}: {verdict} ({decision.reason}; size {sizes})")
        if kept:
            lines.append(f"  {len(kept)} left out; flags --allow-longer, --allow-discouraged, "
                         "--allow-new-axioms relax the rules")
        return "\n".join(lines)


def _size(text: str) -> int:
    """A compressed proof's size: its characters, whitespace and the final ``$.`` aside."""
    return len("".join(text.replace("$.", "").split()))


def _date(today: datetime.date | None = None) -> str:
    today = today or datetime.date.today()
    return f"{today.day}-{today.strftime('%b')}-{today.year}"


def shortened_tag(text: str, offset: int, tag: str) -> str:
    """``text`` with ``tag`` added at the end of the comment that ends right before the
    statement at ``offset`` (unchanged when there is no such comment)."""
    end = text.rfind("$)", 0, offset)
    if end < 0 or text[end + 2:offset].strip():
        return text
    before = text[:end].rstrip()
    indent = re.search(r"\n([ \t]*)[^\n]*$", before)
    pad = indent.group(1) if indent else "      "
    return f"{before}\n{pad}{tag} $){text[end + 2:]}"


def axioms(path: str | os.PathLike[str], labels: Sequence[str],
           timeout: float = 300.0) -> dict[str, set[str]]:
    """The ``$a`` statements each proof rests on, as metamath-exe traces them."""
    if not labels:
        return {}
    _, output = run_metamath(path, [f"show trace_back {label} /axioms" for label in labels],
                             timeout)
    found: dict[str, set[str]] = {}
    for label in labels:
        reply = metamath_reply(output, f"show trace_back {label} /axioms")
        if reply is None or f'"{label}"' not in reply:
            raise ExportError(f"metamath did not trace the axioms of {label} in {path}")
        found[label] = set(reply.split("($a statements):", 1)[-1].split())
    return found


def plan(db: Database, proofs: Mapping[str, Sequence[str]], *, allow_longer: bool = False,
         allow_discouraged: bool = False) -> list[Decision]:
    """Which found proofs to put in, by size and by the theorem's comment."""
    marked = discouraged(db)
    decisions = []
    for label, proof in proofs.items():
        statement = db.statements.get(label)
        if statement is None or statement.kind != "p":
            raise ExportError(f"{label!r} is not a $p of {db.path}")
        new_text = compress_proof(db, statement, list(proof))
        new_size = _size(new_text)
        if incomplete_proof(statement):
            decisions.append(Decision(label, True, "its proof was ?", None, new_size))
            continue
        try:
            old = proof_tree(db, statement).rpn()
        except ProofTreeError as error:
            raise ExportError(f"{label}: its proof in {db.path} cannot be read: {error}") \
                from error
        old_text = compress_proof(db, statement, old)
        old_size = _size(old_text)
        if old_text.split() == new_text.split():
            decisions.append(Decision(label, False, "the same proof as the one it has",
                                      old_size, new_size))
        elif label in marked and not allow_discouraged:
            decisions.append(Decision(label, False, "discouraged: "
                                      + " ".join(marked[label]), old_size, new_size))
        elif new_size >= old_size and not allow_longer:
            decisions.append(Decision(label, False, "not shorter than the proof it has",
                                      old_size, new_size))
        else:
            decisions.append(Decision(label, True, "shorter" if new_size < old_size
                                      else "longer, allowed", old_size, new_size))
    return decisions


def _write(db: Database, proofs: Mapping[str, Sequence[str]], chosen: list[Decision],
           folder: Path, tag: str | None) -> Path:
    """The database with the chosen proofs, formatted by metamath-exe itself."""
    compressed = {d.label: compress_proof(db, d.label, list(proofs[d.label])) for d in chosen}
    draft = Path(write_database(db, compressed, folder / "draft"))
    if tag:  # set.mm's tag, in the comment of each theorem whose proof got shorter
        text = draft.read_text(encoding="ascii")
        positions = []
        for decision in chosen:
            if decision.reason != "shorter":
                continue
            match = re.search(rf"(?<=\s){re.escape(decision.label)}\s+\$p\s", text)
            if match:
                positions.append(match.start())
        for position in sorted(positions, reverse=True):  # later ones first: offsets hold
            text = shortened_tag(text, position, tag)
        draft.write_text(text, encoding="ascii")
    final = folder / "final" / draft.name
    final.parent.mkdir(parents=True, exist_ok=True)
    commands = [f"save proof {d.label} /compressed" for d in chosen]
    code, output = run_metamath(draft, [*commands, f'write source "{final}"'], 600.0)
    if not final.is_file() or "?Error" in output:
        errors = [line for line in output.splitlines() if line.startswith("?")]
        raise ExportError(f"metamath-exe could not re-save the proofs: {errors[:3]}")
    return final


def submit(db: Database, proofs: Mapping[str, Sequence[str]], out: str | os.PathLike[str], *,
           contributor: str = "provergym", allow_longer: bool = False,
           allow_discouraged: bool = False, allow_new_axioms: bool = False,
           write_copy: bool = False, today: datetime.date | None = None) -> SubmitReport:
    """Decide, format, check and write the patch (and, on request, the patched copy)."""
    if len(db.files) != 1:
        raise ExportError(f"{db.path} includes other files: a patch covers single-file "
                          "databases only")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    decisions = plan(db, proofs, allow_longer=allow_longer,
                     allow_discouraged=allow_discouraged)
    tag = f"(Proof shortened by {contributor}, {_date(today)}.)"
    report = SubmitReport(None, None, decisions)
    with tempfile.TemporaryDirectory(prefix="provergym-submit-") as scratch:
        chosen = [d for d in decisions if d.replaced]
        if not chosen:
            return report
        final = _write(db, proofs, chosen, Path(scratch) / "1", tag)
        replaced_old = [d.label for d in chosen if d.old_size is not None]
        if replaced_old:  # the axioms the new proofs rest on, against the originals'
            new_axioms = axioms(final, replaced_old)
            old_axioms = axioms(db.path, replaced_old)
            added = {label: tuple(sorted(new_axioms[label] - old_axioms[label]))
                     for label in replaced_old}
            report.decisions = [
                d if d.label not in added or not added[d.label] else Decision(
                    d.label, d.replaced and allow_new_axioms,
                    d.reason if allow_new_axioms else "uses axioms the original does not: "
                    + " ".join(added[d.label]), d.old_size, d.new_size, added[d.label])
                for d in report.decisions]
            still = [d for d in report.decisions if d.replaced]
            if len(still) != len(chosen):
                if not still:
                    return report
                final = _write(db, proofs, still, Path(scratch) / "2", tag)
        check = check_with_metamath(final, ["*"])
        if not check.ok:
            raise ExportError(f"metamath-exe rejected the patched database: "
                              f"{'; '.join(check.errors[:3])}")
        report.verified = True
        name = Path(db.path).name
        original = Path(db.path).read_text(encoding="ascii").splitlines(keepends=True)
        patched = final.read_text(encoding="ascii").splitlines(keepends=True)
        report.patch = out / f"{name}.patch"
        report.patch.write_text("".join(difflib.unified_diff(
            original, patched, fromfile=f"a/{name}", tofile=f"b/{name}")), encoding="ascii")
        if write_copy:
            report.copy = out / name
            shutil.copyfile(final, report.copy)
    return report
