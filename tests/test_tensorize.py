"""provergym.tensorize: goal text and Metamath S-expressions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from provergym.metamath.grammar import Grammar, Node
from provergym.paths import METAMATH_DATABASES, SET_MM
from provergym.tensorize import metamath_goal_text, metamath_tree_to_sexp, normalize

TREE = Node("wi", (Node("wph"), Node("wn", (Node("wps"),))))


def test_normalize_collapses_every_run_of_whitespace():
    assert normalize("  n : nat\n====\n\t n = n ") == "n : nat ==== n = n"
    assert normalize("") == ""


def test_metamath_text_puts_the_goal_first():
    goal, hyps = "|-  ( ph ->\n ps )", ["|- ph", "|- ( ph -> ps )"]
    assert metamath_goal_text(goal, hyps) == "|- ( ph -> ps ) $e |- ph $e |- ( ph -> ps )"
    assert metamath_goal_text(goal) == "|- ( ph -> ps )"


def test_metamath_sexp_by_hand():
    assert metamath_tree_to_sexp(TREE) == "(wi wph (wn wps))"
    assert metamath_tree_to_sexp(Node("wph")) == "wph"


def _preorder(tree: Node) -> list[str]:
    labels, stack = [], [tree]
    while stack:
        node = stack.pop()
        labels.append(node.label)
        stack.extend(reversed(node.children))
    return labels


@pytest.mark.slow
def test_metamath_sexp_on_hol_and_set_mm_statements():
    from provergym.metamath.database import parse_database

    for path, step in ((METAMATH_DATABASES / "hol.mm", 1), (Path(SET_MM), 97)):
        db = parse_database(path)
        grammar = Grammar(db)
        statements = [s for s in db.statements.values() if s.kind in "ape"][::step]
        assert len(statements) > 100
        for statement in statements:
            floats = grammar.floats_for(statement) if statement.kind == "p" else None
            try:
                tree = grammar.parse(statement.typecode, statement.body.split(), floats)
            except Exception:  # noqa: BLE001 - $e/$a outside a $p scope may use other floats
                continue
            tokens = re.findall(r"\(|\)|[^\s()]+", metamath_tree_to_sexp(tree))
            # the labels in pre-order, one "(" ... ")" around each node that has children
            assert [t for t in tokens if t not in "()"] == _preorder(tree)
            assert tokens.count("(") == tokens.count(")") == sum(
                1 for _ in _internal_nodes(tree))


def _internal_nodes(tree: Node):
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.children:
            yield node
            stack.extend(node.children)


def test_no_numpy_or_torch_at_import():
    code = "import sys, provergym.tensorize; sys.exit('torch' in sys.modules or 'numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0
