"""Export: what the environment calls proved, coqc accepts; what it refuses, coqc refuses."""

from __future__ import annotations

import psutil
import pytest

from provergym.api import Proved
from provergym.coq.env import CoqFile, scope_opening
from provergym.coq.export import check_with_coqc, export_and_check, export_proof, parse_assumptions
from provergym.coq.hammer import HAMMER_IMPORT, HammerProver


@pytest.mark.slow
def test_proved_is_accepted_by_coqc(coq, small_v, tmp_path, no_leftover_coq) -> None:
    with CoqFile(small_v) as env:
        # A lemma inside a section (the export must close it) and one with UTF-8 names.
        for lemma, tactics in [("id_eq", ["split.", "reflexivity.", "exact I."]),
                               ("unicode_α", ["apply Nat.add_comm."])]:
            state = env.open(lemma)
            result = None
            for tactic in tactics:
                result = env.step(state, tactic)
                state = getattr(result, "state", state)
            assert isinstance(result, Proved), result
            out = export_proof(env, lemma, result.proof, tmp_path / f"Export_{len(lemma)}.v")
            check = check_with_coqc(out, env.coq_args, cwd=env.cwd)
            assert check.ok, check.output
        # The checker can fail: a wrong proof is refused by coqc.
        bad = export_proof(env, "id_eq", "Proof. exact I. Qed.", tmp_path / "Bad.v")
        refused = check_with_coqc(bad, env.coq_args, cwd=env.cwd)
        assert not refused.ok and "Error" in refused.output


@pytest.mark.slow
def test_hammer_baseline_exports_and_leaves_no_workers(coq, small_v, tmp_path,
                                                      no_leftover_coq) -> None:
    with HammerProver(small_v, tactic="sauto", timeout=10) as prover:
        result = prover.prove("and_swap")
        assert isinstance(result, Proved), result
        coqidetop = psutil.Process(prover.env.session.pid)
        assert coqidetop.children(recursive=True) == []
        out = export_proof(prover.env, "and_swap", result.proof, tmp_path / "Hammered.v",
                           preamble=(HAMMER_IMPORT,))
        check = check_with_coqc(out, prover.env.coq_args, cwd=prover.env.cwd)
        assert check.ok, check.output


MODULES_V = """\
Module Type Sig.
  Parameter x : nat.
  Parameter y : nat.
End Sig.

Module M
  <: Sig.
  Definition x := 0.
  Lemma x_zero : x = 0.
  Proof. reflexivity. Qed.
  Definition y := 1.
End M.

Module F (X : Sig) : Sig.
  Definition x := X.x.
  Lemma x_same : x = X.x.
  Proof. reflexivity. Qed.
  Definition y := X.y.
End F.
"""


@pytest.mark.slow
def test_a_lemma_inside_a_module_with_a_signature_exports(coq, tmp_path,
                                                          no_leftover_coq) -> None:
    # Closed right after the lemma, the module lacks the fields that follow it (y): the
    # export drops the signature it declares, and coqc accepts the file.
    source = tmp_path / "Modules.v"
    source.write_text(MODULES_V)
    with CoqFile(source) as env:
        for lemma, dropped, kept in (("x_zero", "<: Sig", "Module Type Sig."),
                                     ("x_same", ") : Sig", "<: Sig")):
            result = env.step(env.open(lemma), "reflexivity.")
            assert isinstance(result, Proved), result
            out = export_proof(env, lemma, result.proof, tmp_path / f"Export_{lemma}.v")
            text = out.read_text()
            # only a module still open loses its signature; M is complete before F opens
            assert dropped not in text and kept in text
            check = check_with_coqc(out, env.coq_args, cwd=env.cwd)
            assert check.ok, check.output
        bad = export_proof(env, "x_zero", "Proof. exact I. Qed.", tmp_path / "Bad.v")
        assert not check_with_coqc(bad, env.coq_args, cwd=env.cwd).ok


@pytest.mark.parametrize(("sentence", "opening"), [
    ("Section S.", ("Section", "S")),
    ("Local Module M (X : T) <: S.", ("Module", "M")),
    ("Module  Type\n  MT.", ("Module Type", "MT")),
    ("Module Export E.", ("Module", "E")),
    ("Module N := Nat.", None),  # an alias opens nothing
    ("Lemma l : True.", None),
])
def test_scope_opening_names_kind_and_name(sentence, opening) -> None:
    assert scope_opening(sentence) == opening


AXIOMS_V = """\
Require Import Program.Equality Classical.
Require Vector.

Lemma bogus : 1 = 2.
Admitted.

Lemma one_two : 1 = 2 \\/ True.
Proof. right. exact I. Qed.

Lemma vec_nil (v : Vector.t nat 0) : v = Vector.nil nat.
Proof. apply (Vector.case0 (fun v => v = Vector.nil nat)). reflexivity. Qed.

Section S.
Variable P : Prop.
Lemma em_here : P \\/ ~ P.
Proof. apply classic. Qed.
End S.
"""


@pytest.mark.slow
def test_a_proof_resting_on_an_axiom_the_library_proof_avoids_is_refused(
        coq, tmp_path, no_leftover_coq) -> None:
    source = tmp_path / "Axioms.v"
    source.write_text(AXIOMS_V)
    with CoqFile(source) as env:
        def found(lemma: str, *tactics: str) -> str:
            state, result = env.open(lemma), None
            for tactic in tactics:
                result = env.step(state, tactic)
                state = getattr(result, "state", state)
            assert isinstance(result, Proved), result
            return result.proof

        # coqc accepts both files; only the assumptions tell them apart.
        cheat = export_and_check(env, "one_two", found("one_two", "left.", "exact bogus."),
                                 tmp_path / "Cheat.v")
        assert not cheat.ok and "bogus" in cheat.output, cheat.output
        assert check_with_coqc(tmp_path / "Cheat.v", env.coq_args, cwd=env.cwd).ok
        honest = export_and_check(env, "one_two", found("one_two", "right.", "exact I."),
                                  tmp_path / "Honest.v")
        assert honest.ok and honest.assumptions == {}, honest.output
        destructed = export_and_check(
            env, "vec_nil", found("vec_nil", "dependent destruction v.", "reflexivity."),
            tmp_path / "Destructed.v")
        assert not destructed.ok and "eq_rect_eq" in destructed.output, destructed.output
        # An axiom the library's own proof rests on too is allowed.
        classical = export_and_check(env, "em_here", found("em_here", "exact (classic P)."),
                                     tmp_path / "Classical.v")
        assert classical.ok, classical.output
        assert classical.assumptions == {"Axioms": frozenset({"classic"})}


def test_print_assumptions_output_is_parsed_by_kind() -> None:
    text = ("Section Variables:\nx\n: X\nX\n: Type\nAxioms:\nmyax : forall n : nat, n = n\n"
            "adm : 1 = 1\nEqdep.Eq_rect_eq.eq_rect_eq\n  : forall (U : Type) (p : U),\n"
            "    x = eq_rect p Q x p h\nConstants relying on type-in-type:\nweird : Type\n")
    assert parse_assumptions(text) == {
        "Axioms": frozenset({"myax", "adm", "Eqdep.Eq_rect_eq.eq_rect_eq"}),
        "Constants relying on type-in-type": frozenset({"weird"})}
    assert parse_assumptions("Closed under the global context\n") == {}
    assert parse_assumptions("Section Variables:\nP\n: Prop\n") == {}
