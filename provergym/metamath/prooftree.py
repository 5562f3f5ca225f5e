"""Proofs as trees: decode a ``$p``'s stored proof (normal or compressed) into nodes that
know their label, children and conclusion. Used by the environment's replay, by the
corpus builder, and by proof compression. It trusts the database (run the kernel first);
it is not a verifier, though it raises on anything that does not fit together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from provergym.metamath.codec import COMPRESSED_STEP, compressed_number
from provergym.metamath.database import Database, Statement


class ProofTreeError(Exception):
    pass


@dataclass(frozen=True, eq=False, slots=True)
class ProofNode:
    """One proof step: ``label`` applied to ``children`` (in hypothesis order), giving
    ``typecode body``. Shared sub-proofs (``Z`` in compressed proofs) are the same object."""

    label: str
    children: tuple[ProofNode, ...]
    typecode: str
    body: str  # symbols, each followed by one space

    def expression(self) -> str:
        return f"{self.typecode} {self.body}".rstrip()

    def rpn(self) -> list[str]:
        out: list[str] = []
        stack: list[tuple[ProofNode, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or not node.children:
                out.append(node.label)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children))
        return out


def proof_labels(db: Database, theorem: Statement) -> list[str | int]:
    """The proof as RPN: labels, plus for compressed proofs ``"Z"`` (save the top) and
    ints (push saved step k, 0-based)."""
    tokens = (theorem.proof or "").split()
    if not tokens:
        raise ProofTreeError(f"{theorem.label}: empty proof")
    if tokens[0] != "(":
        if "?" in tokens:
            raise ProofTreeError(f"{theorem.label}: incomplete proof")
        return list(tokens)
    close = tokens.index(")")
    table = list(theorem.hypotheses) + tokens[1:close]
    out: list[str | int] = []
    for code in COMPRESSED_STEP.findall("".join(tokens[close + 1:])):
        if code == "Z":
            out.append("Z")
            continue
        if code == "?":
            raise ProofTreeError(f"{theorem.label}: incomplete proof")
        number = compressed_number(code)
        out.append(table[number - 1] if number <= len(table) else number - len(table) - 1)
    return out


def _substitute(body: str, mapping: dict[str, str]) -> str:
    return "".join([mapping.get(sym, sym + " ") for sym in body.split()])


def proof_tree(db: Database, theorem: Statement | str) -> ProofNode:
    """Decode and evaluate ``theorem``'s proof into a tree (a DAG where steps are shared)."""
    if isinstance(theorem, str):
        theorem = db.statements[theorem]
    statements = db.statements
    stack: list[ProofNode] = []
    saved: list[ProofNode] = []
    for step in proof_labels(db, theorem):
        if step == "Z":
            saved.append(stack[-1])
            continue
        if isinstance(step, int):
            stack.append(saved[step])
            continue
        statement = statements[step]
        if statement.kind in "fe":
            stack.append(ProofNode(step, (), statement.typecode, statement.body))
            continue
        n = len(statement.hypotheses)
        if len(stack) < n:
            raise ProofTreeError(f"{theorem.label}: stack underflow at {step}")
        children = tuple(stack[len(stack) - n:]) if n else ()
        del stack[len(stack) - n:]
        mapping = {}
        for hyp_label, child in zip(statement.hypotheses, children):
            hyp = statements[hyp_label]
            if hyp.kind == "f":
                mapping[hyp.body.strip()] = child.body
        stack.append(ProofNode(step, children, statement.typecode,
                               _substitute(statement.body, mapping)))
    if len(stack) != 1:
        raise ProofTreeError(f"{theorem.label}: proof leaves {len(stack)} stack entries")
    return stack[0]


@dataclass(frozen=True)
class LogicalStep:
    """An application of a logical assertion (or a cited ``$e``) inside a proof: the goal
    it proves, the label and the full substitution of the label's variables."""

    goal: str  # "typecode symbols"
    label: str
    substitution: tuple[tuple[str, str], ...]  # (variable, expression symbols), $f order
    steps_left: int  # logical steps in this sub-proof, this one included
    depth: int  # logical depth of this step below the theorem's root (root = 0)


def logical_steps(db: Database, root: ProofNode, syntax_typecodes: set[str]) -> Iterator[LogicalStep]:
    """The logical nodes of a proof in pre-order (the order a backward prover meets them:
    each goal, then its hypotheses left to right). Syntactic sub-proofs give no steps."""
    statements = db.statements
    sizes: dict[int, int] = {}

    def size(node: ProofNode) -> int:
        key = id(node)
        if key not in sizes:
            sizes[key] = 1 + sum(size(c) for c in node.children if c.typecode not in syntax_typecodes)
        return sizes[key]

    stack: list[tuple[ProofNode, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        statement = statements[node.label]
        substitution = []
        logical_children = []
        for hyp_label, child in zip(statement.hypotheses, node.children):
            hyp = statements[hyp_label]
            if hyp.kind == "f":
                substitution.append((hyp.body.strip(), child.body.rstrip()))
            elif child.typecode not in syntax_typecodes:
                logical_children.append(child)
        yield LogicalStep(node.expression(), node.label, tuple(substitution), size(node), depth)
        stack.extend((child, depth + 1) for child in reversed(logical_children))


def incomplete_proof(statement: Statement) -> bool:
    """Whether a ``$p``'s own proof is incomplete: a ``?`` in it, or nothing at all."""
    return not (statement.proof or "").strip() or "?" in statement.proof


def unproved_theorems(db: Database) -> frozenset[str]:
    """The ``$p`` labels that a proof may never cite: those whose proof is incomplete (a
    ``?`` or nothing, the usual layout of a benchmark's problems) and, transitively, those
    whose proof cites one of them. A proof cites only earlier statements, so one pass in
    database order finds them all; a database with no incomplete proof (set.mm) costs one
    scan of the proof texts."""
    theorems = db.theorems()
    bad = {s.label for s in theorems if incomplete_proof(s)}
    if not bad:
        return frozenset()
    for statement in theorems:
        if statement.label in bad:
            continue
        try:
            cited = proof_labels(db, statement)
        except (ProofTreeError, ValueError, IndexError):
            bad.add(statement.label)  # a proof that cannot be read proves nothing either
            continue
        if any(isinstance(step, str) and step in bad for step in cited):
            bad.add(statement.label)
    return frozenset(bad)
