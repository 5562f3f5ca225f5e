"""Benchmark integrity: which ``$p`` statements a benchmark should not count as a prover's
success, and why. The *clean subset* of a theorem list drops two kinds:

- **restatements**: the theorem states exactly what an earlier assertion (``$a`` or ``$p``)
  states: the same conclusion and the same essential hypotheses, in the same order, symbol
  for symbol. A single citation of the earlier one proves it (``trubifalOLD`` is
  ``( trubifal )``), so it measures lookup, not proving. Detected by a table of every
  assertion's (conclusion, hypotheses) in database order.
- **discouraged**: the theorem's own comment (the ``$( ... $)`` right before its label) says
  ``(Proof modification is discouraged.)`` or ``(New usage is discouraged.)``, set.mm's
  markers for theorems kept only for reference (``...OLD``, ``...ALT``, axiom studies).
  Detected in the comment text with its whitespace normalised (the markers wrap lines).

Both are facts about the database, so the clean subset of a sample is the same on every
machine and for every method.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from provergym.metamath.database import Database

PROOF_DISCOURAGED = "(Proof modification is discouraged.)"
USAGE_DISCOURAGED = "(New usage is discouraged.)"
MARKERS = (PROOF_DISCOURAGED, USAGE_DISCOURAGED)

DETECTION = ("restatement: the same conclusion and essential hypotheses (in order, symbol "
             "for symbol) as an earlier $a/$p; discouraged: the statement's own comment "
             f"holds {PROOF_DISCOURAGED} or {USAGE_DISCOURAGED}")


@dataclass(frozen=True)
class Integrity:
    """Per ``$p`` label: the earlier assertion it restates, and the markers its comment
    holds. Labels absent from both are clean."""

    restates: dict[str, str] = field(default_factory=dict)
    discouraged: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def reasons(self, label: str) -> list[str]:
        """Why ``label`` is outside the clean subset (empty: it is clean)."""
        out = []
        if label in self.restates:
            out.append(f"restates {self.restates[label]}")
        for marker in self.discouraged.get(label, ()):
            out.append("proof modification discouraged" if marker == PROOF_DISCOURAGED
                       else "new usage discouraged")
        return out

    def clean(self, labels: Iterable[str]) -> list[str]:
        return [label for label in labels if not self.reasons(label)]

    def counts(self, labels: Iterable[str]) -> dict[str, int]:
        """How many of ``labels`` are excluded, by kind (a theorem can be both)."""
        labels = list(labels)
        return {
            "theorems": len(labels),
            "clean": len(self.clean(labels)),
            "restatements": sum(1 for label in labels if label in self.restates),
            "discouraged": sum(1 for label in labels if label in self.discouraged),
        }


def _key(db: Database, label: str) -> tuple[str, tuple[str, ...]]:
    statement = db.statements[label]
    essentials = tuple(db.statements[h].expression() for h in statement.hypotheses
                       if db.statements[h].kind == "e")
    return statement.expression(), essentials


def restatements(db: Database) -> dict[str, str]:
    """Each ``$p`` whose conclusion and essential hypotheses equal an earlier assertion's,
    with the first such assertion."""
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    found: dict[str, str] = {}
    for statement in sorted(db.statements.values(), key=lambda s: s.index):
        if statement.kind not in "ap":
            continue
        key = _key(db, statement.label)
        earlier = first.get(key)
        if earlier is None:
            first[key] = statement.label
        elif statement.kind == "p":
            found[statement.label] = earlier
    return found


def discouraged(db: Database) -> dict[str, tuple[str, ...]]:
    """Each ``$p`` whose own comment (the one that ends right before its label) holds a
    discouragement marker, with the markers."""
    texts: dict[str, str] = {}
    found: dict[str, tuple[str, ...]] = {}
    for statement in db.statements.values():
        if statement.kind != "p":
            continue
        text = texts.get(statement.file)
        if text is None:
            try:
                text = texts[statement.file] = Path(statement.file).read_text(
                    encoding="ascii", errors="replace")
            except OSError:
                texts[statement.file] = ""
                continue
        end = text.rfind("$)", 0, statement.offset)
        if end < 0 or text[end + 2:statement.offset].strip():
            continue  # no comment right before the label
        start = text.rfind("$(", 0, end)
        comment = " ".join(text[start + 2:end].split())
        markers = tuple(marker for marker in MARKERS if marker in comment)
        if markers:
            found[statement.label] = markers
    return found


def integrity(db: Database) -> Integrity:
    return Integrity(restatements(db), discouraged(db))
