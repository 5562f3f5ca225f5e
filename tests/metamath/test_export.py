"""Compressed export in set.mm's format, checked by our kernel and by metamath-exe."""

import random

import pytest

from provergym.api import Proved
from provergym.metamath.codec import COMPRESSED_STEP, compressed_code, compressed_number
from provergym.metamath.database import parse_database
from provergym.metamath.export import (
    check_with_metamath,
    compress_proof,
    export_and_check,
    write_database,
)
from provergym.metamath.verify import verify_database
from tests.metamath.mmdb import database, environment, own_steps


def test_compressed_numbers_round_trip():
    for n in [1, 2, 19, 20, 21, 99, 100, 119, 120, 121, 620, 621, 5000, 123456]:
        code = compressed_code(n)
        assert COMPRESSED_STEP.fullmatch(code)
        assert compressed_number(code) == n
    # The spec's own examples: A..T are 1..20, then UA = 21, UT = 40, VA = 41, YT = 120.
    assert [compressed_code(n) for n in (1, 20, 21, 40, 41, 120, 121)] == \
        ["A", "T", "UA", "UT", "VA", "YT", "UUA"]


def _replayed_proofs(name, labels):
    env = environment(name)
    proofs = {}
    for label in labels:
        result = env.prove(label, own_steps(env, label))
        assert isinstance(result, Proved), (label, result)
        proofs[label] = result.proof.split()
    return env.db, proofs


def test_compressed_lines_fit_in_79_columns():
    db, proofs = _replayed_proofs("set", ["syl", "pm2.43i", "con4d", "mpbir2an"])
    for label, proof in proofs.items():
        text = compress_proof(db, label, proof)
        assert text.endswith("$.")
        assert all(len(line) <= 79 for line in text.splitlines()), text


@pytest.mark.slow
def test_exported_hol_proofs_pass_both_checkers(tmp_path):
    db, proofs = _replayed_proofs("hol", [t.label for t in database("hol").theorems()])
    main, check = export_and_check(db, proofs, tmp_path)
    assert check.ok, check.errors
    copy = parse_database(main)
    assert verify_database(copy, list(proofs)).failures == ()


@pytest.mark.slow
def test_replay_500_random_set_mm_theorems_and_export(tmp_path):
    """The issue's replay test: re-prove a random sample through the environment from
    the logical steps of their own proofs; the exported proofs pass our kernel and
    metamath-exe."""
    db = database("set")
    rng = random.Random(20261121)
    labels = [t.label for t in rng.sample(db.theorems(), 500)]
    db, proofs = _replayed_proofs("set", labels)
    main, check = export_and_check(db, proofs, tmp_path)
    assert check.ok, check.errors[:5]
    copy = parse_database(main)
    assert verify_database(copy, labels, jobs=2).failures == ()
    # The copy really holds our proofs, not the originals.
    changed = sum(copy[label].proof != db[label].proof for label in labels)
    assert changed > len(labels) // 2


@pytest.mark.slow
def test_metamath_exe_rejects_a_wrong_proof(tmp_path):
    """The check can fail: swap in the proof of another theorem."""
    db, proofs = _replayed_proofs("hol", ["ax4g", "idi"])
    wrong = {"ax4g": compress_proof(db, "idi", proofs["idi"])}
    main = write_database(db, wrong, tmp_path)
    check = check_with_metamath(main, ["ax4g"])
    assert not check.ok and check.errors


@pytest.mark.slow
def test_metamath_exe_rejects_a_proof_breaking_a_dv_condition(tmp_path):
    # Remove the $d of a set.mm theorem whose proof needs it: metamath-exe must complain,
    # and so must our kernel (the independent check and ours agree).
    db = database("set")
    label = "19.21v"
    text = open(db[label].file).read()
    start = text.rfind("$d", 0, db[label].offset)
    end = text.find("$.", start) + 2
    path = tmp_path / "set.mm"
    path.write_text(text[:start] + " " * (end - start) + text[end:])
    broken = parse_database(path)
    assert broken[label].scope.disjoint < db[label].scope.disjoint  # a $d really went
    report = verify_database(broken, [label])
    check = check_with_metamath(path, [label])
    assert report.errors and "$d" in report.errors[0].reason
    assert not check.ok
