"""Assertions compiled once into frames: what applying one pops, checks and pushes.

An expression is a typecode plus a body in which every symbol is followed by one space
(``"( ph -> ps ) "``). A :class:`Frame` turns its assertion's conclusion and ``$e``
hypotheses into ``str.format`` templates indexed by hypothesis position, so applying it is
one ``format`` call on the popped bodies; :func:`substitute` is the reference substitution,
symbol by symbol, that the kernel's explaining loop uses instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from provergym.metamath.database import Database, Statement


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _template(body: str, placeholder: dict[str, str]) -> str:
    """``"( ph -> ps ) "`` with ph, ps the hypotheses 0 and 1 becomes ``"( {0}-> {1}) "``:
    a substitution already ends in a space (or is empty), so none follows a placeholder."""
    if "{" in body or "}" in body:
        body = _escape(body)  # placeholder's keys are escaped variable names too
    symbols = body.split()
    if not symbols:
        return ""
    # Placeholders end in NUL (never in a .mm file) so the space after them can be dropped.
    return (" ".join(map(placeholder.get, symbols, symbols)) + " ").replace("\0 ", "")


def substitute(body: str, substitution: dict[str, str]) -> str:
    """The reference substitution, symbol by symbol (the explaining loop uses it, so the
    two loops check each other's substitutions)."""
    return "".join([substitution.get(symbol, symbol + " ") for symbol in body.split()])


class Frame:
    """An assertion compiled for application: what its hypotheses expect and what it gives.

    ``essentials`` holds ``(position, body, label)`` of each ``$e``, ``disjoint`` the
    positions of each ``$d`` pair's ``$f``. ``compiled`` is what the fast loop unpacks,
    and its class says how: a tuple is an entry to push (an assertion without hypotheses
    always pushes the same one); a list is a frame to apply, ``[n, typecode_1, ...,
    typecode_n, fill, typecode, frame]`` for 1 to 3 ``$f`` hypotheses and no ``$d``
    (syntax axioms: most steps), or ``[0, n, typecodes, ((position, fill), ...) for the
    $e, disjoint, fill, typecode, frame]`` for the general case; fills are bound
    ``str.format`` methods of templates numbering the hypotheses by position.
    """

    __slots__ = ("label", "index", "typecode", "body", "typecodes", "variables", "floats",
                 "essentials", "disjoint", "compiled")

    def __init__(self, db: Database, statement: Statement):
        statements = db.statements
        self.label = statement.label
        self.index = statement.index
        self.typecode = typecode = sys.intern(statement.typecode)
        self.body = statement.body
        hyps = [statements[h] for h in statement.hypotheses]
        self.typecodes = typecodes = tuple([sys.intern(h.typecode) for h in hyps])
        placeholder: dict[str, str] = {}
        floats: list[int] = []
        variables: list[str] = []
        essentials: list[tuple[int, str, str]] = []
        for pos, hyp in enumerate(hyps):
            if hyp.kind == "f":
                var = hyp.body[:-1]
                floats.append(pos)
                variables.append(var)
                placeholder[_escape(var) if "{" in var or "}" in var else var] = f"{{{pos}}}\0"
            else:
                essentials.append((pos, hyp.body, hyp.label))
        self.floats = tuple(floats)
        self.variables = tuple(variables)
        self.essentials = tuple(essentials)
        if statement.disjoint:
            position = dict(zip(variables, floats))
            self.disjoint = tuple([(position[x], position[y])
                                   for x, y in sorted(statement.disjoint)])
        else:
            self.disjoint = ()
        self.compiled: list | tuple
        # Fills are bound str.format methods of templates, so the fast loop calls them
        # without an attribute lookup. (Functions compiled per shape, one f-string each,
        # were measured: their loop gain was eaten by the cost of building them.)
        if not hyps:
            self.compiled = (typecode, statement.body)
        elif len(hyps) <= 3 and not essentials and not self.disjoint:
            self.compiled = [len(hyps), *typecodes, _template(statement.body, placeholder).format,
                             typecode, self]
        else:
            self.compiled = [0, len(hyps), typecodes,
                             tuple([(pos, _template(body, placeholder).format)
                                    for pos, body, _ in essentials]),
                             self.disjoint, _template(statement.body, placeholder).format,
                             typecode, self]

    @property
    def n_hyps(self) -> int:
        return len(self.typecodes)

    @property
    def n_vars(self) -> int:
        return len(self.floats)

    def substitution(self, bodies: Sequence[str]) -> dict[str, str]:
        """Each variable of the frame -> its body among the popped ``bodies``."""
        return {var: bodies[pos] for var, pos in zip(self.variables, self.floats)}

    def __repr__(self) -> str:
        return f"Frame({self.label})"
