"""Export: what the environment calls proved, coqc accepts; what it refuses, coqc refuses."""

from __future__ import annotations

import psutil
import pytest

from provergym.api import Proved
from provergym.coq.env import CoqFile
from provergym.coq.export import check_with_coqc, export_proof
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
