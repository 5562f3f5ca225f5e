"""States as model input text, and Metamath syntax trees as S-expressions.

Text. Metamath goals are their symbols joined by single spaces, the goal first and then
each ``$e`` hypothesis after the marker ``$e`` (a math symbol can never contain ``$``):
``|- ( ph -> ps ) $e |- ph``. The prompts (``agents.tasks``) wrap it as
``GOAL <text> PROOFSTEP`` / ``GOAL <text> VALUE`` (GPT-f). Coq goals and every action are
normalised the same way (:func:`normalize`: runs of whitespace become one space); this is
the one normaliser, shared by the corpora, the prompts and the evaluation.

Trees. A Metamath syntax tree (``provergym.metamath.grammar.Node``) has a compact
S-expression form, ``(wi wph (wn wps))``: a leaf is a bare label (a ``$f`` label or a
constant syntax axiom), a node with children is ``(label child ...)``, children in the
rule's ``$f`` order. The set.mm corpus's ``goal_tree`` column holds it. Coq terms use
``provergym.coq.terms.term_to_sexp``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provergym.metamath.grammar import Node

MM_HYPOTHESIS_MARK = "$e"


# -- text -----------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Runs of whitespace (newlines included) become one space."""
    return " ".join(text.split())


def metamath_goal_text(goal: str, hypotheses: Sequence[str] = ()) -> str:
    """``|- goal $e |- hyp1 $e |- hyp2``: the goal first, so truncation drops hypotheses."""
    parts = [normalize(goal)]
    for hypothesis in hypotheses:
        parts += [MM_HYPOTHESIS_MARK, normalize(hypothesis)]
    return " ".join(parts)


# -- Metamath S-expressions -------------------------------------------------------------------
def metamath_tree_to_sexp(tree: Node) -> str:
    """``(wi wph (wn wps))``: a leaf is its bare label, a node ``(label child ...)``."""
    parts: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif not item.children:
            parts.append(item.label)
        else:
            parts.append("(" + item.label)
            stack.append(")")
            stack.extend(reversed(item.children))
    # A ")" closes without a space before it; everything else is space-separated.
    return " ".join(parts).replace(" )", ")")
