"""A proof may never rest on a statement whose own proof is incomplete (issue: a search
that cites `?` statements was believed by every check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provergym.api import Proved, Rejected
from provergym.bench.check import kernel_verdicts
from provergym.metamath.database import parse_database
from provergym.metamath.env import MetamathEnv
from provergym.metamath.prooftree import unproved_theorems

ROOT = Path(__file__).resolve().parents[2]
DATABASE = """$c ( ) -> wff |- $.
$v p q $.
wp $f wff p $.
wq $f wff q $.
wi $a wff ( p -> q ) $.
ax-1 $a |- ( p -> ( q -> p ) ) $.
bogus $p |- p $= ? $.
leans $p |- q $= wq bogus $.
honest $p |- ( p -> ( q -> p ) ) $= wp wq ax-1 $.
cheat $p |- q $= ? $.
"""


@pytest.fixture()
def database(tmp_path):
    path = tmp_path / "problems.mm"
    path.write_text(DATABASE)
    return path


def test_incomplete_proofs_and_what_rests_on_them_are_unproved(database):
    db = parse_database(database)
    assert unproved_theorems(db) == {"bogus", "leans", "cheat"}
    assert unproved_theorems(parse_database("/usr/share/metamath/databases/demo0.mm")) == set()


def test_the_environment_refuses_to_cite_them(database):
    env = MetamathEnv(database)
    state = env.open("cheat")
    for label in ("bogus", "leans"):
        result = env.step(state, label)
        assert isinstance(result, Rejected) and "incomplete proof" in result.reason, result
    assert isinstance(env.prove("cheat", ["bogus"]), Rejected)
    # a statement with a complete proof is still cited
    assert isinstance(env.prove("honest", ["ax-1"]), Proved)


def test_the_kernel_check_rejects_a_proof_that_cites_them(database):
    db = parse_database(database)
    verdicts = kernel_verdicts(db, {"cheat": "wq bogus", "honest": "wp wq ax-1"})
    assert verdicts["cheat"].startswith("rejected: cites bogus")
    assert verdicts["honest"] == "ok"


def test_prove_finds_no_proof_through_them(database, tmp_path):
    done = subprocess.run([sys.executable, "-m", "provergym.cli", "prove", "cheat", "--db",
                           str(database), "--method", "uniform", "--budget", "8",
                           "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "proof:" not in done.stdout and "bogus" not in done.stdout


def test_metamath_exe_confirms_independently_what_a_proof_rests_on(database, tmp_path):
    """`verify proof` alone accepts `cheat $= wq bogus` (it checks one proof, not what it
    cites); the bench's metamath-exe check also asks `show trace_back`, and refuses it."""
    from provergym.bench.check import metamath_exe_verdicts
    from provergym.metamath.export import check_with_metamath, export_and_check

    db = parse_database(database)
    main, check = export_and_check(db, {"cheat": ["wq", "bogus"]}, tmp_path / "plain")
    assert check.ok  # what metamath-exe's verify alone says
    verdicts, _ = metamath_exe_verdicts(db, {"cheat": "wq bogus", "honest": "wp wq ax-1"},
                                        tmp_path / "checked")
    assert verdicts["cheat"] == "rests on unproved statement(s): bogus"
    assert verdicts["honest"] == "ok"
    assert check_with_metamath(main, ["honest"]).ok
