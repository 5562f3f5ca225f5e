"""The proof kernel: every Debian database verifies; corrupted proofs are rejected with a
precise reason (and metamath-exe, the independent oracle, rejects them too)."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

from provergym.metamath import codec, database, verify
from provergym.metamath.codec import compressed_code, compressed_number, decode_numbers
from provergym.metamath.database import Database, MetamathError, parse_database
from provergym.metamath.kernel import IncompleteProof, Kernel, ProofError
from provergym.metamath.verify import parse_and_verify, verify_database
from tests.metamath.conftest import DATABASES, metamath_errors, replace_once, run_cli

SMALL_DATABASES = sorted(p.name for p in DATABASES.glob("*.mm") if p.name != "set.mm")

AX5E_BLOCK = "  ${\n    $d x ph $.\n    $( A rephrasing"
AX5E_PROOF = "( wex wi wn wal ax-5 eximal mpbir ) ABCADAEZJBFDJBGAABHI $."


def failures_of(path: Path) -> dict[str, str]:
    report = verify_database(parse_database(path))
    return {f.label: f.reason for f in report.failures}


# -- real databases --------------------------------------------------------------------
@pytest.mark.parametrize("name", SMALL_DATABASES)
def test_debian_database_verifies(name: str) -> None:
    db = parse_database(DATABASES / name)
    report = verify_database(db, jobs=2)
    assert report.failures == ()
    assert report.checked == len(db.theorems())


@pytest.mark.slow
def test_set_mm_verifies_with_two_jobs() -> None:
    db = parse_database(DATABASES / "set.mm")
    report = verify_database(db, jobs=2)
    assert report.checked == 37759
    assert report.failures == ()


def test_excerpt_verifies_and_metamath_agrees(excerpt) -> None:
    path = excerpt()
    assert failures_of(path) == {}
    assert metamath_errors(path) == []


# -- verify_database with worker processes ---------------------------------------------
SWAPPED_MP2B = "( ax-mp ) BCABDEGGF $."
_check_chunk = verify._worker


def _dying_worker(labels: list[str]):
    """verify's chunk worker, but the worker given mp2b is killed (as if for memory)."""
    if "mp2b" in labels:
        os.kill(os.getpid(), 9)
    return _check_chunk(labels)


def test_parallel_verification_reports_a_bad_proof(excerpt, monkeypatch) -> None:
    path = excerpt(lambda t: replace_once(t, MP2B_PROOF, SWAPPED_MP2B))
    db = parse_database(path)
    assert len(db.theorems()) >= 200  # enough for the parallel path
    expected = verify_database(db).failures
    assert [f.label for f in expected] == ["mp2b"]
    report = verify_database(db, jobs=2)
    assert report.failures == expected and report.checked == len(db.theorems())
    # A worker that dies costs only time: its theorems are checked again here.
    monkeypatch.setattr(verify, "_worker", _dying_worker)
    report = verify_database(db, jobs=2)
    assert report.failures == expected and report.checked == len(db.theorems())


# -- corrupted proofs: the kernel says why, metamath-exe rejects them too ----------------
def test_swapped_labels_in_compressed_proof(excerpt) -> None:
    path = excerpt(lambda t: replace_once(
        t, AX5E_PROOF, "( wex wi wn wal eximal ax-5 mpbir ) ABCADAEZJBFDJBGAABHI $."))
    reason = failures_of(path)["ax5e"]
    assert re.match(r"step 20: mpbir: hypothesis 2 wants typecode wff, got '\|- ", reason), reason
    assert metamath_errors(path)


def test_symbol_changed_in_statement(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, "ax5e $p |- ( E. x ph -> ph )",
                                          "ax5e $p |- ( E. x ph <-> ph )"))
    assert failures_of(path) == {"ax5e": "the proof proves '|- ( E. x ph -> ph )', not the "
                                         "statement '|- ( E. x ph <-> ph )'"}
    assert metamath_errors(path)


def test_removed_disjoint_condition(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_BLOCK, "  ${\n    $( A rephrasing"))
    reason = failures_of(path)["ax5e"]
    assert "ax-5: its $d" in reason and "which ax5e does not have" in reason, reason
    assert metamath_errors(path)


def test_disjoint_violated_by_the_same_variable(tmp_path: Path) -> None:
    # A $d x y axiom applied with x := y, y := y: both substitutions contain y.
    path = tmp_path / "dv.mm"
    path.write_text("$c |- set $. $v x y $. vx $f set x $. vy $f set y $.\n"
                    "${ $d x y $. ax $a |- x y $. $}\n"
                    "${ $d x y $. th $p |- y y $= vy vy ax $. $}\n")
    assert "violated: both substitutions contain y" in failures_of(path)["th"]
    assert metamath_errors(path)


def test_dummy_variable_needs_its_disjoint_condition(tmp_path: Path) -> None:
    # z occurs only inside the proofs (a dummy variable), yet ax's $d x z applies to it.
    path = tmp_path / "dummy.mm"
    path.write_text("$c |- set ( ) $. $v x z $. vx $f set x $. vz $f set z $.\n"
                    "${ $d x z $. ax $a |- ( x z ) $. $}\n"
                    "${ elim.1 $e |- ( x z ) $. elim $a |- x $. $}\n"
                    "${ $d x z $. th $p |- x $= vx vz vx vz ax elim $. $}\n"
                    "th2 $p |- x $= vx vz vx vz ax elim $.\n")
    failures = failures_of(path)
    assert "th" not in failures
    assert failures["th2"] == ("step 5: ax: its $d x z requires $d x z after substitution, "
                               "which th2 does not have")
    assert len(metamath_errors(path)) == 1


def test_truncated_compressed_proof(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("AABHI", "AAB")))
    assert failures_of(path)["ax5e"].startswith("the proof leaves")
    assert metamath_errors(path)


def test_truncated_compressed_number(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("AABHI", "AABHIU")))
    assert "truncated number" in failures_of(path)["ax5e"]
    assert metamath_errors(path)


def test_bad_character_in_compressed_proof(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("AABHI", "AAbHI")))
    assert failures_of(path)["ax5e"] == "compressed proof: bad character 'b'"


def test_number_beyond_the_table(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("AABHI", "AABHT")))
    reason = failures_of(path)["ax5e"]
    assert re.match(r"step 20: code T is number 20, but the proof has 9 labels and 1 saved",
                    reason), reason


def test_self_citing_proof(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("mpbir", "ax5e")))
    assert failures_of(path)["ax5e"] == "the proof cites itself"
    assert metamath_errors(path)


def test_proof_citing_a_later_theorem(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("mpbir", "nfv")))
    assert failures_of(path)["ax5e"] == "the proof cites 'nfv', which comes later"
    assert metamath_errors(path)


def test_inactive_hypothesis(tmp_path: Path) -> None:
    path = tmp_path / "inactive.mm"
    path.write_text("$c |- wff $. $v p $. wp $f wff p $.\n"
                    "${ h $e |- p $. ax $a |- p $. $}\n"
                    "th $p |- p $= wp h ax $. \n")
    assert failures_of(path)["th"] == "hypothesis 'h' is not active in this scope"


# ax5e with one step (AABH: ax-5 and its three arguments) replaced by ?: metamath-exe says
# "not proved" and reports no error.
AX5E_INCOMPLETE = AX5E_PROOF.replace("AABHI", "?I")


def test_unknown_step_is_incomplete_never_verified(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_INCOMPLETE))
    report = verify_database(parse_database(path))
    assert [(f.label, f.incomplete) for f in report.failures] == [("ax5e", True)]
    assert report.incomplete and not report.errors
    db = parse_database(path)
    with pytest.raises(IncompleteProof):
        Kernel(db).verify("ax5e")
    assert metamath_errors(path) == []


def test_unknown_step_that_leaves_the_stack_wrong_is_an_error(excerpt) -> None:
    # Only H (ax-5) replaced by ?: its three arguments stay on the stack.
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_PROOF.replace("AABHI", "AAB?I")))
    failure, = verify_database(parse_database(path)).failures
    assert (failure.label, failure.incomplete) == ("ax5e", False)
    with pytest.raises(ProofError) as caught:
        Kernel(parse_database(path)).verify("ax5e")
    assert not isinstance(caught.value, IncompleteProof)
    assert metamath_errors(path)


def test_unknown_step_in_normal_proof(tmp_path: Path) -> None:
    path = tmp_path / "normal.mm"
    text = (DATABASES / "demo0.mm").read_text()
    # The whole a1 sub-proof is unknown: incomplete, and metamath-exe agrees.
    path.write_text(replace_once(text, "tt tze tpl tt tt a1 mp mp", "? mp mp"))
    with pytest.raises(IncompleteProof):
        Kernel(parse_database(path)).verify("th1")
    assert metamath_errors(path) == []
    # Only the inner mp unknown: its four arguments stay on the stack, an error.
    path.write_text(replace_once(text, "tt tze tpl tt tt a1 mp mp", "tt tze tpl tt tt a1 ? mp"))
    with pytest.raises(ProofError) as caught:
        Kernel(parse_database(path)).verify("th1")
    assert not isinstance(caught.value, IncompleteProof)
    assert metamath_errors(path)


# A tiny database of proofs with ? steps; each theorem's name says what metamath-exe 0.195
# finds ("inc": not proved, no error; "err": an ?Error).
UNKNOWN_STEPS_MM = """$c ( ) -> wff |- $.
$v p q $.
wp $f wff p $.
wq $f wff q $.
wi $a wff ( p -> q ) $.
${ min $e |- p $. maj $e |- ( p -> q ) $. mp $a |- q $. $}
ax1 $a |- ( p -> ( q -> p ) ) $.
ok $p |- ( p -> ( q -> p ) ) $= wp wq ax1 $.
inc.all $p |- ( p -> ( q -> p ) ) $= ? $.
inc.arg $p |- ( p -> ( q -> p ) ) $= wp ? ax1 $.
inc.compressed $p |- ( p -> ( q -> p ) ) $= ( ax1 ) A?C $.
err.stack5 $p |- ( p -> ( q -> p ) ) $= wp wp wp wp wp ? $.
err.stack2 $p |- ( p -> ( q -> p ) ) $= wp wq ax1 ? $.
err.compressed $p |- ( p -> ( q -> p ) ) $= ( ax1 ) AB?C $.
err.short $p |- ( p -> ( q -> p ) ) $= wq wp ax1 ? mp $.
err.label $p |- ( p -> ( q -> p ) ) $= wp wq nonexistent ? $.
${
  h1 $e |- p $.
  inc.known $p |- q $= wp wq h1 ? mp $.
  inc.floats $p |- q $= wp ? h1 ? mp $.
  inc.result $p |- q $= wp wp h1 ? mp $.
  err.maj $p |- q $= wp wq ? h1 mp $.
  err.min $p |- q $= wq wq h1 ? mp $.
  err.unify $p |- p $= ? wp ? wp wp wi wp ax1 mp $.
  err.unify2 $p |- p $= wp ? ? wp wp wi wp ax1 mp $.
$}
"""


def test_unknown_steps_are_incomplete_only_in_proofs_that_are_otherwise_right(
        tmp_path: Path) -> None:
    path = tmp_path / "unknown.mm"
    path.write_text(UNKNOWN_STEPS_MM)
    failures = {f.label: f for f in verify_database(parse_database(path)).failures}
    theorems = [s.label for s in parse_database(path).theorems()]
    assert sorted(failures) == sorted(label for label in theorems if label != "ok")
    wrong = {label: f.reason for label, f in failures.items() if f.incomplete != (label[:3] == "inc")}
    assert wrong == {}
    assert "leaves 6 entries on the stack" in failures["err.stack5"].reason
    assert "hypothesis maj wants '|- ( p -> q )', got '|- p'" in failures["err.maj"].reason
    assert "for no value of the variables" in failures["err.unify"].reason
    # metamath-exe: an ?Error for each err.* and for nothing else.
    exe = {re.search(r'label "([^"]+)"', line).group(1) for line in metamath_errors(path)}
    assert exe == {label for label in theorems if label.startswith("err.")}


def test_cli_allow_incomplete_still_fails_a_wrong_proof_with_unknown_steps(
        tmp_path: Path) -> None:
    path = tmp_path / "unknown.mm"
    head, _, _ = UNKNOWN_STEPS_MM.partition("inc.all")
    path.write_text(head + "inc.all $p |- ( p -> ( q -> p ) ) $= ? $.\n"
                    "err.stack5 $p |- ( p -> ( q -> p ) ) $= wp wp wp wp wp ? $.\n")
    run = run_cli("mm", "verify", str(path), "--allow-incomplete")
    assert run.code == 1, run.text
    assert f"{path}:10: err.stack5: error: the proof leaves 6 entries on the stack" in run.out
    assert f"{path}:9: inc.all: incomplete: the proof has unknown steps (?)" in run.out
    assert "verified 1 proofs, 1 errors, 1 incomplete" in run.out
    # Without the wrong proof, --allow-incomplete passes.
    path.write_text(head + "inc.all $p |- ( p -> ( q -> p ) ) $= ? $.\n")
    run = run_cli("mm", "verify", str(path), "--allow-incomplete")
    assert run.code == 0, run.text


def test_wrong_essential_hypothesis_in_normal_proof(tmp_path: Path) -> None:
    path = tmp_path / "normal.mm"
    text = (DATABASES / "demo0.mm").read_text()
    # The last mp's minor premise is replaced by the axiom a2 on another term.
    path.write_text(replace_once(text, "tt weq tt a2 tt tze", "tt weq tt tze tpl a2 tt tze"))
    reason = failures_of(path)["th1"]
    assert re.match(r"step \d+: ", reason), reason
    assert metamath_errors(path)


def test_typecode_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "normal.mm"
    text = (DATABASES / "demo0.mm").read_text()
    path.write_text(replace_once(text, "tt tze tpl tt weq tt tt weq tt a2",
                                 "tt tze tpl tt weq tt tt weq wp a2"))
    assert "a2: hypothesis 1 wants typecode term, got 'wff P'" in failures_of(path)["th1"]


# -- the API the environment uses -------------------------------------------------------
def test_verify_normal_and_decode_round_trip() -> None:
    db = parse_database(DATABASES / "demo0.mm")
    kernel = Kernel(db)
    labels = db["th1"].proof.split()
    kernel.verify_normal("th1", labels)
    steps = kernel.decode(db["th1"])
    assert steps[:3] == [("term", "t "), kernel.frame("tze"), kernel.frame("tpl")]
    kernel.check_steps(db["th1"], steps)
    with pytest.raises(ProofError, match="leaves 4 entries"):
        kernel.verify_normal("th1", labels[:-1])
    with pytest.raises(ProofError, match="cites itself"):
        kernel.verify_normal("th1", [*labels[:-1], "th1"])
    with pytest.raises(ProofError, match="empty proof"):
        kernel.verify_normal("th1", [])


def test_decode_compressed_proof_with_saved_steps(excerpt) -> None:
    db = parse_database(excerpt())
    kernel = Kernel(db)
    steps = kernel.decode(db["ax5e"])
    assert ("Z",) in steps and any(isinstance(s, int) for s in steps)
    kernel.check_steps(db["ax5e"], steps)
    broken = [s for s in steps if s != ("Z",)]  # saved steps now refer to nothing
    with pytest.raises(ProofError):
        kernel.check_steps(db["ax5e"], broken)


def _accepts(check, theorem, table, letters) -> bool:
    try:
        check(theorem, table, letters)
    except Exception:  # noqa: BLE001 - any exception is a rejection
        return False
    return True


def _fast(kernel: Kernel):
    """The fast loop on letters: decoded as the verifier decodes them."""
    return lambda theorem, table, letters: kernel._fast(theorem, table,
                                                        decode_numbers([letters])[0])


def _fast_and_explaining_loops_agree(db: Database, seed: str) -> None:
    """The fast loop only accepts or rejects; the explaining loop says why. On corrupted
    proofs (codes swapped, dropped, repeated or changed, Z moved) they must agree."""
    kernel = Kernel(db)
    rng = random.Random(seed)
    letters_used = "ABCDEFGHIJKLMNOPQRSTUVWXYZ?"
    checked = 0
    for theorem in db.theorems():
        table, letters, numbers = kernel._program(theorem)
        if letters is None:  # a normal proof: its numbers as letters
            letters = "".join(compressed_code(n) for n in numbers)
        assert _accepts(_fast(kernel), theorem, table, letters)
        for _ in range(6):
            chars = list(letters)
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            edit = rng.randrange(4)
            if edit == 0:
                chars[i], chars[j] = chars[j], chars[i]
            elif edit == 1:
                del chars[i]
            elif edit == 2:
                chars.insert(i, chars[j])
            else:
                chars[i] = rng.choice(letters_used)
            mutated = "".join(chars)
            assert _accepts(_fast(kernel), theorem, table, mutated) == \
                _accepts(kernel._explain, theorem, table, mutated), (theorem.label, mutated)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("name", ["hol.mm", "miu.mm", "ql.mm", "demo0.mm", "big-unifier.mm"])
def test_fast_loop_agrees_with_the_explaining_loop(name: str) -> None:
    _fast_and_explaining_loops_agree(parse_database(DATABASES / name), name)


def test_fast_loop_agrees_with_the_explaining_loop_on_set_mm_excerpt(excerpt) -> None:
    _fast_and_explaining_loops_agree(parse_database(excerpt()), "excerpt")  # $d included


def test_compressed_codes_round_trip() -> None:
    assert [compressed_code(n) for n in (1, 20, 21, 40, 120, 121)] == [
        "A", "T", "UA", "UT", "YT", "UUA"]
    for number in range(1, 5000):
        assert compressed_number(compressed_code(number)) == number


# -- the command line -------------------------------------------------------------------
def test_cli_verifies_demo0() -> None:
    run = run_cli("mm", "verify", str(DATABASES / "demo0.mm"))
    assert run.code == 0, run.text
    assert re.match(r"verified 1 proofs, 0 errors in [\d.]+ s", run.out), run.out


def test_cli_lists_failures_and_exits_1(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_BLOCK, "  ${\n    $( A rephrasing"))
    run = run_cli("mm", "verify", str(path), "--jobs", "2")
    assert run.code == 1, run.text
    assert f"{path}:25926: ax5e: error: step 15: ax-5: its $d" in run.out
    assert "verified 1719 proofs, 1 errors" in run.out
    assert "Traceback" not in run.text


def test_cli_incomplete_proofs(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, AX5E_PROOF, AX5E_INCOMPLETE))
    run = run_cli("mm", "verify", str(path))
    assert run.code == 1, run.text
    assert "ax5e: incomplete: the proof has unknown steps (?)" in run.out
    assert "verified 1719 proofs, 0 errors, 1 incomplete" in run.out
    assert run_cli("mm", "verify", str(path), "--allow-incomplete").code == 0


@pytest.mark.parametrize("edit, message", [
    (lambda t: t + "\n$( never closed\n", "unterminated comment"),
    (lambda t: t + "\nfoo $p |- ph $= wph\n", "unterminated $p statement"),
    (lambda t: t + "\nax5e $a |- ph $.\n", "label 'ax5e' is reused"),
])
def test_cli_malformed_file_exits_2(excerpt, edit, message: str) -> None:
    path = excerpt(edit)
    run = run_cli("mm", "verify", str(path))
    assert run.code == 2, run.text
    assert f"{path}:25962: " in run.err and message in run.err, run.err
    assert "Traceback" not in run.text


def test_cli_unreadable_file_exits_2(tmp_path: Path) -> None:
    run = run_cli("mm", "verify", str(tmp_path / "missing.mm"))
    assert run.code == 2
    assert f"{tmp_path / 'missing.mm'}: cannot read" in run.err
    binary = tmp_path / "binary.mm"
    binary.write_bytes(b"$c a $.\n\xff\xfe\n")
    run = run_cli("mm", "verify", str(binary))
    assert run.code == 2 and "non-ASCII" in run.err and "Traceback" not in run.text


# -- checking while parsing (parse_and_verify with 2 jobs) -------------------------------
MP2_PROOF = "( wi ax-mp ) BCEABCGDFHH $."
MP2B_PROOF = "( ax-mp ) BCABDEGFG $."


def _forking_early(monkeypatch, at_least: int) -> list[int]:
    """Checkpoints every 4 KB and forks for ``at_least`` theorems; returns the worker pids."""
    monkeypatch.setattr(database, "CHECKPOINT_CHARS", 4096)
    monkeypatch.setattr(verify, "MIN_EARLY_THEOREMS", at_least)
    pids: list[int] = []
    fork = verify._Relay._fork

    def recording_fork(self, db, labels, kernel=None):
        fork(self, db, labels, kernel)
        pids.append(self.pid)
    monkeypatch.setattr(verify._Relay, "_fork", recording_fork)
    return pids


@pytest.mark.parametrize("at_least", [1, 20, 400])
def test_parse_and_verify_matches_verify_database(excerpt, monkeypatch, at_least: int) -> None:
    # mp2 (early) cites a later theorem, which the worker's half-parsed database lacks:
    # the message must still be the whole database's. mp2b's steps are swapped.
    path = excerpt(lambda t: replace_once(replace_once(
        t, MP2_PROOF, MP2_PROOF.replace("ax-mp", "ax5e")), MP2B_PROOF, "( ax-mp ) BCABDEGGF $."))
    expected = verify_database(parse_database(path)).failures
    assert [f.label for f in expected] == ["mp2", "mp2b"]
    assert expected[0].reason == "the proof cites 'ax5e', which comes later"
    pids = _forking_early(monkeypatch, at_least)
    db, report, _ = parse_and_verify(path, jobs=2)
    assert pids, "no worker was forked"
    if at_least == 1:
        assert len(pids) > 1, "the relay never handed on"
    assert report.failures == expected
    assert report.checked == len(db.theorems())


def test_parse_and_verify_forks_the_last_worker_after_the_parse(excerpt, monkeypatch) -> None:
    """No checkpoint during the parse: the theorems are split after it between this
    process and one worker that inherits its kernel."""
    path = excerpt(lambda t: replace_once(t, MP2B_PROOF, "( ax-mp ) BCABDEGGF $."))
    expected = verify_database(parse_database(path)).failures
    pids = _forking_early(monkeypatch, 1)
    monkeypatch.setattr(database, "CHECKPOINT_CHARS", 1 << 40)
    db, report, _ = parse_and_verify(path, jobs=2)
    assert len(pids) == 1
    assert [f.label for f in report.failures] == ["mp2b"] and report.failures == expected


def test_parse_and_verify_reports_every_failure_of_every_worker(excerpt, monkeypatch) -> None:
    """Corrupt one proof in every stretch of the file: whichever process checks it (an
    early worker, the last one, or the parent), each failure is reported once, in order,
    with the whole database's message."""
    def corrupt(text: str) -> str:
        parts = text.split("$.")
        for i in range(50, len(parts), max(1, len(parts) // 12)):
            if "$=" in parts[i] and ")" in parts[i].split("$=")[1]:
                head, proof = parts[i].split("$=")
                parts[i] = head + "$=" + proof.rstrip() + "A "  # one step too many
        return "$.".join(parts)
    path = excerpt(corrupt)
    expected = verify_database(parse_database(path)).failures
    assert len(expected) >= 5
    pids = _forking_early(monkeypatch, 1)
    db, report, _ = parse_and_verify(path, jobs=2)
    assert len(pids) > 1
    assert report.failures == expected


def test_parse_and_verify_without_a_fork(excerpt) -> None:
    db, report, _ = parse_and_verify(excerpt(), jobs=2)  # 4 KB of checkpoints not reached
    assert report.failures == () and report.checked == len(db.theorems())


def test_parse_error_after_the_fork_stops_the_worker(excerpt, monkeypatch) -> None:
    path = excerpt(lambda t: t + "\n$c unterminated\n")
    pids = _forking_early(monkeypatch, 1)
    with pytest.raises(MetamathError, match="unterminated"):
        parse_and_verify(path, jobs=2)
    assert pids
    for pid in pids:  # killed and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _reference_numbers(letters: str) -> list[int]:
    """Decoding by the definition, code by code: BAD for what is not a number or Z."""
    numbers = []
    for code in re.findall(r"[U-Y]*.", letters, re.S):
        if code == "Z":
            numbers.append(0)
        elif re.fullmatch(r"[U-Y]*[A-T]", code) and len(code) <= codec.MAX_LEADING + 1:
            numbers.append(compressed_number(code))
        else:
            numbers.append(codec.BAD)  # a number cut short at the end included
    return numbers


def test_decode_numbers_matches_the_definition_alone_and_in_batches() -> None:
    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ?!a é"
    proofs = ["A", "T", "UA", "YT", "UUA", "Z", "?", "UZ", "U?", "AU", "VU", "UYYYA",
              "U" * 10 + "A", "U" * 11 + "A", "YYYYYYYYYYT", "AAZ", "é", "Tu"]
    proofs += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
               for _ in range(400)]
    proofs += [compressed_code(n) for n in (1, 20, 21, 120, 121, 620, 621, 10**6)]
    expected = [_reference_numbers(p) for p in proofs]
    assert decode_numbers(proofs) == expected  # one batch: no code runs across proofs
    assert [decode_numbers([p])[0] for p in proofs] == expected
    assert decode_numbers([compressed_code(10**6)]) == [[10**6]]
