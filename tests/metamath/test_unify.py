"""Unification of syntax trees with metavariables (the lemma look-ahead's core), on small
hand-built trees: no database needed."""

from __future__ import annotations

from provergym.metamath.actions import resolve, unify
from provergym.metamath.grammar import Node


def imp(a: Node, b: Node) -> Node:
    return Node("wi", (a, b))


PH, PS, CH = Node("wph"), Node("wps"), Node("wch")  # the goal's variables: constants here


def meta(name: str) -> Node:
    return Node("?" + name)


def test_metavariables_on_both_sides_are_solved():
    # ( ph -> ?x ) against ( ( ?a ) -> ( ps -> ?a ) ): ?a = ph, ?x = ( ps -> ph )
    unifier: dict = {}
    assert unify(imp(PH, meta("x")), imp(meta("a"), imp(PS, meta("a"))), unifier)
    assert resolve(meta("x"), unifier) == imp(PS, PH)
    assert resolve(meta("a"), unifier) == PH


def test_constants_and_shapes_must_agree():
    assert not unify(imp(PH, meta("x")), imp(PS, meta("y")), {})  # ph is not ps
    assert not unify(imp(PH, PS), Node("wa", (PH, PS)), {})  # -> is not /\
    assert unify(imp(PH, PS), imp(PH, PS), {})


def test_a_variable_bound_twice_must_agree():
    # ( ?a -> ?a ) against ( ph -> ps ) fails; against ( ph -> ph ) succeeds
    assert not unify(imp(meta("a"), meta("a")), imp(PH, PS), {})
    unifier: dict = {}
    assert unify(imp(meta("a"), meta("a")), imp(PH, PH), unifier)
    assert resolve(meta("a"), unifier) == PH


def test_occurs_check_refuses_infinite_terms():
    # ?a = ( ?a -> ph ) has no finite solution
    assert not unify(meta("a"), imp(meta("a"), PH), {})
    assert not unify(imp(meta("a"), meta("b")), imp(meta("b"), imp(meta("a"), CH)), {})


def test_chains_of_metavariables_resolve_fully():
    unifier: dict = {}
    assert unify(imp(meta("a"), meta("b")), imp(meta("b"), imp(PH, CH)), unifier)
    assert resolve(imp(meta("a"), meta("b")), unifier) == imp(imp(PH, CH), imp(PH, CH))
    # a metavariable that nothing binds stays as it is
    assert resolve(meta("z"), unifier) == meta("z")
