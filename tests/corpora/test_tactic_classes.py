"""corpora.tactic_classes: GamePad's 24 classes on real Coq 8.16 and ssreflect tactic text."""

from __future__ import annotations

import pytest

from corpora.tactic_classes import (
    ALL_CLASSES,
    CLASSES,
    OTHER,
    NotATactic,
    is_structural,
    tactic_class,
    tactic_head,
)

# (tactic text as it appears in the stdlib / mathcomp, expected class)
CASES = [
    # ssreflect, as in mathcomp
    ("move=> x /andP[].", "intro"),
    ("move=> m n le_mn.", "intro"),
    ("move=> {IHn}.", "clear"),
    ("move: x.", "move"),
    ("move/eqP=> H.", "move"),
    ("move: H => /eqP H.", "move"),
    ("move.", "move"),
    ("rewrite !addnA.", "rewrite"),
    ("rewrite -[x]/(y) {1}/foo addnC.", "rewrite"),
    ("by case: x.", "case"),
    ("case/orP: H => [H|H].", "case"),
    ("case: (ltngtP m n) => [lt|gt|->].", "case"),
    ("case=> [|n].", "case"),
    ("elim: n => [|n IHn].", "elim"),
    ("elim/ltn_ind: n => n IHn.", "elim"),
    ("have ->: x = y by [].", "have"),
    ("have [x Hx] := foo.", "have"),
    ("gen have H : x / P x.", "have"),
    ("apply/eqP.", "apply"),
    ("apply: (iffP idP) => [H|H].", "apply"),
    ("exact: leqnn.", "exact"),
    ("by [].", "done"),
    ("done.", "done"),
    ("by move=> x; rewrite foo.", "intro"),
    ("by rewrite addnC; apply: leq_trans.", "rewrite"),
    ("congr (_ + _).", "congr"),
    ("suff H: P x by apply: H.", "suff"),
    ("wlog: m n / m <= n.", "wlog"),
    ("without loss le_mn: m n / m <= n.", "wlog"),
    ("set x := f y.", "set"),
    ("pose g := fun x => x.", "pose"),
    ("do 2!rewrite addnA.", "do"),
    ("do ![apply foo | apply bar].", "do"),
    ("under eq_bigr => i _ do rewrite mulnC.", "rewrite"),
    # the standard library
    ("intros x y H.", "intro"),
    ("intro.", "intro"),
    ("intros until n.", "intro"),
    ("induction n as [|n IHn]; simpl; auto.", "elim"),
    ("destruct (le_lt_dec n m) as [H|H].", "case"),
    ("inversion_clear H.", "case"),
    ("simple inversion H.", "case"),
    ("injection H as H1.", "case"),
    ("functional induction (f x).", "elim"),
    ("dependent destruction H.", "case"),
    ("apply le_trans with m; auto.", "apply"),
    ("simple apply foo.", "apply"),
    ("eapply Nat.lt_le_trans; eauto.", "apply"),
    ("exfalso.", "apply"),
    ("exact (conj H1 H2).", "exact"),
    ("refine (fun x => _).", "exact"),
    ("exists 0.", "constructor"),
    ("eexists.", "constructor"),
    ("constructor 2.", "constructor"),
    ("left; reflexivity.", "left"),
    ("right.", "right"),
    ("split; [apply foo | apply bar].", "split"),
    ("symmetry; apply Nat.add_comm.", "symmetry"),
    ("transitivity m.", "transitivity"),
    ("auto with arith.", "auto"),
    ("intuition.", "auto"),
    ("lia.", "auto"),
    ("ring.", "auto"),
    ("reflexivity.", "done"),
    ("assumption.", "done"),
    ("discriminate H.", "done"),
    ("contradiction.", "done"),
    ("easy.", "done"),
    ("now rewrite Nat.add_0_r.", "rewrite"),
    ("try (rewrite H; reflexivity).", "rewrite"),
    ("simpl in H.", "simpl"),
    ("unfold lt in *.", "simpl"),
    ("cbn.", "simpl"),
    ("change (S n) with (n + 1).", "simpl"),
    ("f_equal.", "congr"),
    ("assert (H : n <= m) by lia.", "have"),
    ("pose proof (foo x) as H.", "have"),
    ("specialize (H x).", "have"),
    ("generalize dependent n.", "move"),
    ("revert n.", "move"),
    ("remember (f x) as y eqn:Hy.", "set"),
    ("enough (H : P).", "suff"),
    ("subst.", "rewrite"),
    ("replace x with y by auto.", "rewrite"),
    ("erewrite <- foo.", "rewrite"),
    ("clear H H'.", "clear"),
    ("repeat split.", "do"),
    ("all: auto.", "auto"),
    ("2: apply foo.", "apply"),
    ("[x]: exact H.", "exact"),
    ("first [ apply foo | auto ].", "apply"),
    ("solve [ auto | lia ].", "auto"),
    ("(intros; auto).", "intro"),
    ("(* a comment *) simpl.", "simpl"),
    ("nat_norm.", OTHER),
    ("idtac.", OTHER),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_real_tactics(text, expected):
    assert tactic_class(text) == expected, tactic_head(text)


def test_bullets_and_braces_are_not_tactics():
    for text in ["-", "--", "+", "***", "{", "}", "2:{", "[x]: {", "  "]:
        assert is_structural(text)
        with pytest.raises(NotATactic):
            tactic_class(text)
    assert not is_structural("simpl.")


def test_class_list_is_gamepads_24_plus_catch_all():
    assert len(CLASSES) == 24 and len(set(CLASSES)) == 24
    assert ALL_CLASSES == (*CLASSES, OTHER)
    # every class is reachable from some tactic text above
    assert {expected for _, expected in CASES} == set(ALL_CLASSES)


def test_head_keeps_the_first_tactic():
    assert tactic_head("by move=> x; rewrite foo.") == "move=> x"
    assert tactic_head("all: try (simpl; auto).") == "simpl"
