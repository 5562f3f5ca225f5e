"""provergym.tensorize: text, vocabularies, tree tensors and S-expressions, round trips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provergym import tensorize
from provergym.coq.terms import (
    App,
    Ref,
    parse_hypothesis,
    parse_term,
    sexp_to_term,
    term_to_sexp,
)
from provergym.metamath.grammar import Grammar, Node
from provergym.tensorize import (
    TreeTensors,
    Vocabulary,
    collate,
    coq_tree_from_tensors,
    coq_tree_tensors,
    metamath_goal_text,
    metamath_sexp_to_tree,
    metamath_tree_from_tensors,
    metamath_tree_tensors,
    metamath_tree_to_sexp,
)

HOL = Path("/usr/share/metamath/databases/hol.mm")
SET = Path("/usr/share/metamath/databases/set.mm")
COQ_GOALS = Path(__file__).parent / "coq" / "fixtures" / "terms_goals.txt"

TREE = Node("wi", (Node("wph"), Node("wn", (Node("wps"),))))


def _check_invariants(tensors: TreeTensors) -> None:
    n = len(tensors)
    assert tensors.node_types.shape == tensors.parent.shape == tensors.depth.shape == (n,)
    assert tensors.node_types.dtype == np.int64
    assert tensors.parent[0] == -1 and tensors.depth[0] == 0
    for i in range(1, n):
        assert 0 <= tensors.parent[i] < i
        assert tensors.depth[i] == tensors.depth[tensors.parent[i]] + 1


def test_metamath_tensors_by_hand():
    vocab = Vocabulary()
    tensors = metamath_tree_tensors(TREE, vocab, grow=True)
    assert [vocab.decode(i) for i in tensors.node_types] == ["wi", "wph", "wn", "wps"]
    assert tensors.parent.tolist() == [-1, 0, 0, 2]
    assert tensors.depth.tolist() == [0, 1, 1, 2]
    assert metamath_tree_from_tensors(tensors, vocab) == TREE
    assert vocab.decode(0) == "<pad>" and vocab.encode("never-seen") == 1


def test_metamath_sexp_by_hand_and_errors():
    assert metamath_tree_to_sexp(TREE) == "(wi wph (wn wps))"
    assert metamath_sexp_to_tree("(wi wph (wn wps))") == TREE
    assert metamath_sexp_to_tree("  wph ") == Node("wph")
    for bad in ("", "(wi wph", "wi wph)", "(wi)", "wph wps", "(() x)"):
        with pytest.raises(ValueError):
            metamath_sexp_to_tree(bad)


def test_unknown_label_cannot_be_rebuilt():
    vocab = Vocabulary(["wi", "wph"])
    tensors = metamath_tree_tensors(TREE, vocab)
    assert 1 in tensors.node_types.tolist()  # wn and wps are <unk>
    with pytest.raises(ValueError, match="unk"):
        metamath_tree_from_tensors(tensors, vocab)


@pytest.mark.slow
def test_metamath_round_trips_on_hol_and_set_mm_statements():
    from provergym.metamath.database import parse_database

    for path, step in ((HOL, 1), (SET, 97)):
        db = parse_database(path)
        grammar = Grammar(db)
        vocab = Vocabulary()
        statements = [s for s in db.statements.values() if s.kind in "ape"][::step]
        assert len(statements) > 100
        for statement in statements:
            floats = grammar.floats_for(statement) if statement.kind == "p" else None
            try:
                tree = grammar.parse(statement.typecode, statement.body.split(), floats)
            except Exception:  # noqa: BLE001 - $e/$a outside a $p scope may use other floats
                continue
            tensors = metamath_tree_tensors(tree, vocab, grow=True)
            _check_invariants(tensors)
            assert len(tensors) == tree.size()
            assert metamath_tree_from_tensors(tensors, vocab) == tree
            sexp = metamath_tree_to_sexp(tree)
            assert metamath_sexp_to_tree(sexp) == tree
            assert grammar.text(metamath_sexp_to_tree(sexp)) == " ".join(statement.body.split())


def _coq_terms() -> list:
    texts = []
    for chunk in COQ_GOALS.read_text(encoding="utf-8").split("\n\f\n"):
        if chunk.strip():
            header, text = chunk.split("\n", 1)
            texts.append((header.split("\t")[0], text))
    terms = []
    for kind, text in texts:
        terms.append(parse_term(text) if kind == "goal" else parse_hypothesis(text))
    return terms


def test_coq_round_trips_on_the_goal_fixture():
    terms = _coq_terms()
    assert len(terms) > 100
    vocab = Vocabulary()
    for term in terms:
        tensors = coq_tree_tensors(term, vocab, grow=True)
        _check_invariants(tensors)
        assert coq_tree_from_tensors(tensors, vocab) == term
        assert sexp_to_term(term_to_sexp(term)) == term
    # Constructor names and ordinary names share one vocabulary.
    assert "App" in vocab and "<list>" in vocab and "nat" in vocab


def test_coq_names_that_look_like_reserved_labels_round_trip():
    vocab = Vocabulary()
    term = App(Ref("App", False, None), (Ref("<list>", True, None), Ref('"q"', False, "u")))
    tensors = coq_tree_tensors(term, vocab, grow=True)
    assert coq_tree_from_tensors(tensors, vocab) == term
    labels = [vocab.decode(i) for i in tensors.node_types]
    assert labels[:2] == ["App", "Ref"] and '"App"' in labels


def test_collate_pads_and_masks():
    vocab = Vocabulary()
    small = metamath_tree_tensors(Node("wph"), vocab, grow=True)
    big = metamath_tree_tensors(TREE, vocab, grow=True)
    batch = collate([small, big])
    assert batch["node_types"].shape == (2, 4) and batch["mask"].dtype == bool
    assert batch["mask"].tolist() == [[True, False, False, False], [True] * 4]
    assert batch["parent"][0].tolist() == [-1, -1, -1, -1]
    assert batch["node_types"][0, 1:].tolist() == [0, 0, 0]
    truncated = collate([big], max_nodes=2)
    assert truncated["node_types"].shape == (1, 2)


def test_vocabulary_build_save_load(tmp_path):
    vocab = Vocabulary.build(["b", "a", "b", "c", "b", "a"], min_count=2)
    assert vocab.tokens == ["<pad>", "<unk>", "b", "a"]
    vocab.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").tokens == vocab.tokens
    assert len(Vocabulary.build("abcdef", max_size=4)) == 4


def test_metamath_text_matches_the_agents_prompt_format():
    from agents.tasks import metamath_goal_text as agents_text

    goal, hyps = "|-  ( ph ->\n ps )", ["|- ph", "|- ( ph -> ps )"]
    assert metamath_goal_text(goal, hyps) == agents_text(goal, hyps)
    assert metamath_goal_text(goal, hyps) == "|- ( ph -> ps ) $e |- ph $e |- ( ph -> ps )"
    assert tensorize.coq_goal_text("n : nat\n====\n  n = n") == "n : nat ==== n = n"


def test_to_torch_and_no_torch_at_import():
    vocab = Vocabulary()
    tensors = metamath_tree_tensors(TREE, vocab, grow=True).to_torch()
    assert tensors["parent"].tolist() == [-1, 0, 0, 2]
    code = "import sys, provergym.tensorize; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0
