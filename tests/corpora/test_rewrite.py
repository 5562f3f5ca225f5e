"""corpora.rewrite: GamePad's algebraic rewrite problems, their proofs, and Coq's verdict."""

from __future__ import annotations

import argparse
import random

import pytest

from corpora import rewrite as rw
from corpora.common import MANIFEST_ROOT, load_corpus, read_manifest


def test_terms_print_like_coq():
    term = (("e", "m"), ("b", ("e", "m")))
    assert rw.term_text(term) == "(e <+> m) <+> (b <+> (e <+> m))"
    assert rw.term_text(("e", "b")) == "e <+> b"
    assert rw.term_text("b") == "b"
    assert [p for p, _ in rw.nodes(term)] == [(), (0,), (0, 0), (0, 1), (1,), (1, 0),
                                              (1, 1), (1, 1, 0), (1, 1, 1)]


def test_rules_and_solvability():
    assert rw.apply_rule(("e", "b"), "id_l") == "b"
    assert rw.apply_rule(("e", "b"), "id_r") is None
    assert rw.apply_rule(("e", "m"), "id_r") == "e"
    assert rw.apply_rule(("e", "m"), "id_l") == "m"
    assert rw.solvable((("e", "m"), "b"))
    assert not rw.solvable(("m", "b"))  # neither axiom applies anywhere
    # (e <+> m) <+> b: id_l at the inner node gives m <+> b, a dead end; the solver avoids it.
    steps = rw.solve((("e", "m"), "b"))
    assert [(s.position, s.rule) for s in steps] == [(1, "id_r"), (0, "id_l")]
    with pytest.raises(ValueError):
        rw.solve(("m", "b"))


def test_occurrences_pick_one_copy():
    term = (("e", "m"), (("e", "m"), "b"))
    second = rw.step_at(term, 5, "id_r")  # position 5 is the second copy of e <+> m
    assert second.tactic == "rewrite (id_r e) at 2."
    assert second.after == (("e", "m"), ("e", "b"))
    first = rw.step_at(term, 1, "id_r")
    assert first.tactic == "rewrite (id_r e) at 1."
    wrapped = ("e", (("e", "m"), "b"))
    assert rw.step_at(wrapped, 0, "id_l").tactic == "rewrite (id_l ((e <+> m) <+> b)) at 1."
    with pytest.raises(ValueError):
        rw.step_at(term, 2, "id_l")  # a leaf


@pytest.mark.parametrize("n", [2, 5, 10, 16])
def test_generated_problems_reduce_in_n_minus_one_steps(n):
    rng = random.Random(n)
    for _ in range(30):
        term = rw.random_problem_term(n, rng)
        assert rw.leaf_count(term) == n
        assert sum(leaf == "b" for _, leaf in rw.nodes(term)) == 1
        steps = rw.solve(term)
        assert len(steps) == n - 1
        current = term
        for step in steps:
            assert step.before == current
            current = rw.step_at(current, step.position, step.rule).after
            assert current == step.after
        assert current == "b"


def test_generation_is_seeded_distinct_and_split_400_50_50():
    problems = rw.generate()
    assert {s: len(p) for s, p in problems.items()} == {"train": 400, "valid": 50, "test": 50}
    names = [p.name for ps in problems.values() for p in ps]
    assert len(set(names)) == 500
    assert [p.name for p in rw.generate()["test"]] == [p.name for p in problems["test"]]
    other = rw.generate(seed=1)
    assert {p.name for p in other["test"]} != {p.name for p in problems["test"]}
    harder = rw.generate(14, {"train": 5, "valid": 1, "test": 1}, seed=2)
    assert all(rw.leaf_count(p.term) == 14 for ps in harder.values() for p in ps)


def test_committed_manifest_matches_the_generator():
    manifest = read_manifest(MANIFEST_ROOT / "rewrite")
    assert manifest is not None, "corpora/splits/rewrite/ must be committed"
    generated = {p.name: s for s, ps in rw.generate().items() for p in ps}
    assert manifest == generated


@pytest.mark.slow
def test_sample_of_problems_proved_by_coq(tmp_path, no_leftover_coq):
    problems = rw.generate()["test"][:6]
    path = tmp_path / "sample.v"
    path.write_text(rw.coq_source(problems))
    checked = rw.check_in_coq(path, problems)
    assert [c.error for c in checked] == [None] * len(problems)
    records = [r for c in checked for r in c.records]
    assert len(records) == 9 * len(problems)
    first = records[0]
    assert first["state"].startswith("b : G\n") and first["state"].endswith(" = b")
    assert [r["steps_left"] for r in records[:9]] == list(range(9, 0, -1))


@pytest.mark.slow
def test_one_position_only_in_coq(tmp_path, no_leftover_coq):
    """``rewrite (id_r e) at 2`` touches the second copy only, as the generator predicts;
    a rule that does not apply is rejected."""
    from provergym.api import Progress, Rejected
    from provergym.coq.env import CoqFile

    term = (("e", "m"), (("e", "m"), "b"))
    problem = rw.Problem("dup", term)
    path = tmp_path / "dup.v"
    path.write_text(rw.coq_source([problem]))
    with CoqFile(path) as env:
        state = rw.open_problem(env, "dup")
        for position in (1, 5):
            step = rw.step_at(term, position, "id_r")
            result = env.step(state, step.tactic)
            assert isinstance(result, Progress)
            assert result.state.goals[0].conclusion == rw.term_text(step.after) + " = b"
        assert isinstance(env.step(state, "rewrite (id_l b) at 1."), Rejected)


@pytest.mark.slow
def test_build_small_corpus(tmp_path, monkeypatch, no_leftover_coq):
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path))
    parser = argparse.ArgumentParser()
    rw.add_arguments(parser)
    args = parser.parse_args(["--n", "4", "--train", "4", "--valid", "2", "--test", "2",
                              "--seed", "5", "--chunk", "4"])
    path = rw.build(args)
    corpus = load_corpus(path)
    assert {s: len(corpus[s]) for s in corpus} == {"train": 12, "valid": 6, "test": 6}
    assert set(corpus["train"]["problem"]).isdisjoint(corpus["test"]["problem"])
    row = corpus["valid"][0]
    assert row["rule"] in ("id_l", "id_r") and row["action"].startswith("rewrite (")
    # resumable: a second run reuses both shards and gives the same corpus
    assert rw.build(args) == path
    from corpora.common import read_build_info

    info = read_build_info(path)
    assert info["shards_skipped"] == 2 and info["shards_built"] == 0
    assert load_corpus(path)["valid"]["action"] == corpus["valid"]["action"]


def test_bad_arguments_are_clear_errors(tmp_path):
    from corpora.common import CorpusError

    parser = argparse.ArgumentParser()
    rw.add_arguments(parser)
    for argv, message in ((["--n", "1"], "at least 2"), (["--train", "-1"], ">= 0")):
        with pytest.raises(CorpusError, match=message):
            rw.build(parser.parse_args([*argv, "--out", str(tmp_path / "x")]))
