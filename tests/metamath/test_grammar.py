import sys

import pytest

from provergym.metamath.grammar import MAX_DEPTH, Grammar, GrammarError, Node
from tests.metamath.mmdb import database


def test_demo0_tree_and_syntax_proof():
    db = database("demo0")
    grammar = Grammar(db)
    tree = grammar.parse("wff", "( t = r -> ( t + 0 ) = t )".split())
    assert tree.label == "wim"
    assert grammar.text(tree) == "( t = r -> ( t + 0 ) = t )"
    # The syntax proof is the post-order of the tree, and the kernel accepts it as a
    # proof of the wff (checked through the frames: wim needs two wffs).
    assert list(tree.rpn()) == ["tt", "tr", "weq", "tt", "tze", "tpl", "tt", "weq", "wim"]


def test_provable_typecode_parses_as_wff():
    grammar = Grammar(database("demo0"))
    assert grammar.parse("|-", "t = t".split()) == grammar.parse("wff", "t = t".split())


@pytest.mark.parametrize("text", ["( t = r", "t = = r", "( t + 0 ) ) = t", ""])
def test_malformed_expressions_are_errors(text):
    grammar = Grammar(database("demo0"))
    with pytest.raises(GrammarError):
        grammar.parse("wff", text.split())


def test_children_follow_hypothesis_order_not_print_order():
    # wal is "A. x ph" but its $f order in set.mm is (wph, vx): the tree must follow it,
    # or the syntax proof would be wrong.
    db = database("set")
    grammar = Grammar(db)
    tree = grammar.parse("wff", "A. x ph".split(), grammar.floats_for(db["alim"]))
    assert tree == Node("wal", (Node("wph"), Node("vx")))
    assert tree.rpn() == ("wph", "vx", "wal")


def test_left_recursive_grammar_ql():
    # ql.mm has "term a '" (left recursion through term).
    db = database("ql")
    grammar = Grammar(db)
    tree = grammar.parse("wff", "a ' ' = a".split())
    assert grammar.text(tree) == "a ' ' = a"


def test_ambiguous_grammar_is_reported():
    db = database("miu")  # "wff x y" with an empty wff: hopelessly ambiguous
    grammar = Grammar(db)
    with pytest.raises(GrammarError):
        grammar.parse("wff", "M U I I U".split())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hol", "ql", "nf", "iset"])
def test_every_conclusion_parses_and_prints_back(name):
    db = database(name)
    grammar = Grammar(db)
    for theorem in db.theorems():
        tree = grammar.parse(theorem.typecode, theorem.body.split(), grammar.floats_for(theorem))
        assert grammar.text(tree).split() == theorem.body.split(), theorem.label


def _nested(levels: int) -> list[str]:
    return ("( t = t -> " * levels + "t = t" + " )" * levels).split()


def test_nesting_deeper_than_max_depth_is_a_grammar_error():
    grammar = Grammar(database("demo0"))
    tree = grammar.parse("wff", _nested(MAX_DEPTH - 5))
    assert grammar.text(tree) == " ".join(_nested(MAX_DEPTH - 5))
    for levels in (MAX_DEPTH + 1, 10 * MAX_DEPTH):
        with pytest.raises(GrammarError, match=f"nested more than {MAX_DEPTH} levels deep"):
            grammar.parse("wff", _nested(levels))


def test_running_out_of_stack_while_parsing_is_a_grammar_error():
    # Called with little of Python's stack left, even a shallow parse runs out of it: that is
    # a GrammarError too, never a RecursionError.
    grammar = Grammar(database("demo0"))

    def depth() -> int:
        frame, count = sys._getframe(), 0
        while frame is not None:
            frame, count = frame.f_back, count + 1
        return count

    def parse_from(levels_left: int) -> Node:
        if levels_left:
            return parse_from(levels_left - 1)
        return grammar.parse("wff", _nested(50))

    with pytest.raises(GrammarError, match="nested too deeply to parse"):
        parse_from(sys.getrecursionlimit() - depth() - 40)
