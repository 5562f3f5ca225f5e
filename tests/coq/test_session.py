"""The coqidetop session: protocol codec (fast) and the real process (slow)."""

from __future__ import annotations

import os
import signal
import time
import xml.etree.ElementTree as ET

import psutil
import pytest

from provergym.coq import protocol as P
from provergym.coq.session import CoqSession, Failed, Ran, _Deadline

GOAL_REPLY = (b'<value val="good"><option val="some"><goals><list><goal><string>6</string><list>'
              b'<richpp><_><pp>n,&nbsp;m&nbsp;:&nbsp;<constr.variable>nat</constr.variable>'
              b'</pp></_></richpp></list><richpp><_><pp>n&nbsp;=&nbsp;m</pp></_></richpp>'
              b'<option val="none"/></goal></list><list/><list/><list/></goals></option></value>')


def test_add_call_shape() -> None:
    call = P.add_call("exact (a < b).", 7)
    assert call == ('<call val="Add"><pair><pair><pair><pair><string>exact (a &lt; b).</string>'
                    '<int>-1</int></pair><pair><state_id val="7"/><bool val="true"/></pair>'
                    '</pair><int>0</int></pair><pair><int>0</int><int>0</int></pair></pair></call>')


def test_goal_reply_decodes_with_nbsp() -> None:
    value = P.decode_value(ET.fromstring(P.fix_entities(GOAL_REPLY)))
    goals = P.decode_goals(value.payload)
    assert goals is not None and len(goals.foreground) == 1
    assert goals.foreground[0].hypotheses == ("n, m : nat",)
    assert goals.foreground[0].conclusion == "n = m"
    assert not goals.all_closed


def test_fail_decodes_location() -> None:
    fail = P.decode_value(ET.fromstring(
        b'<value val="fail" loc_s="3" loc_e="5"><state_id val="4"/><richpp><_><pp>Bad'
        b'&#160;thing</pp></_></richpp></value>'))
    assert fail == P.Fail(4, "Bad thing", 3, 5)


@pytest.mark.slow
def test_goals_errors_and_recovery(coq, no_leftover_coq) -> None:
    with CoqSession() as session:
        lemma = session.run(CoqSession.ROOT, "Lemma l (n : nat) (ε := 1) : n + ε = S n.")
        assert isinstance(lemma, Ran) and lemma.goals is not None
        goal = lemma.goals.foreground[0]
        assert goal.hypotheses == ("n : nat", "ε := 1 : nat")  # UTF-8 survives
        assert goal.conclusion == "n + ε = S n"
        bad = session.run(lemma.node, "exact I.")
        assert isinstance(bad, Failed) and "has type" in bad.message and bad.loc == (6, 7)
        # The failure left the document at the parent: a good tactic runs from there.
        good = session.run(lemma.node, "unfold ε.")
        assert isinstance(good, Ran)
        assert good.goals.foreground[0].conclusion == "n + 1 = S n"
        # Branching: an older node is still usable after moving elsewhere.
        other = session.run(lemma.node, "simpl.")
        assert isinstance(other, Ran)
        again = session.run(good.node, "rewrite <- plus_n_Sm, <- plus_n_O; reflexivity.")
        assert isinstance(again, Ran) and again.goals.all_closed
        pretty = session.goals(lemma.node, printing_all=True)
        assert pretty.foreground[0].conclusion == "@eq nat (Nat.add n ε) (S n)"
        assert session.goals(lemma.node).foreground[0].conclusion == "n + ε = S n"


@pytest.mark.slow
def test_killed_mid_proof_is_restarted_and_replayed(coq, no_leftover_coq) -> None:
    with CoqSession() as session:
        lemma = session.run(CoqSession.ROOT, "Lemma l (A B : Prop) : A -> B -> A /\\ B.")
        step = session.run(lemma.node, "intros a b.")
        old_pid = session.pid
        os.kill(old_pid, signal.SIGKILL)
        after = session.run(step.node, "split.")
        assert isinstance(after, Ran) and session.restarts == 1
        assert session.pid != old_pid and not psutil.pid_exists(old_pid)
        assert [g.conclusion for g in after.goals.foreground] == ["A", "B"]


@pytest.mark.slow
def test_looping_tactic_is_stopped_by_sigint(coq, no_leftover_coq) -> None:
    with CoqSession(grace=0.5) as session:
        lemma = session.run(CoqSession.ROOT, "Lemma l : True.")
        start = time.monotonic()
        # No Coq Timeout here: the session's deadline and SIGINT must stop it.
        looped = session.run(lemma.node, "let rec f n := f n in f 0.", timeout=1.0)
        assert isinstance(looped, Failed) and looped.timed_out
        assert time.monotonic() - start < 15
        done = session.run(lemma.node, "exact I.")
        assert isinstance(done, Ran) and done.goals.all_closed


@pytest.mark.slow
def test_malformed_call_gets_no_reply_but_a_deadline(coq, no_leftover_coq) -> None:
    with CoqSession() as session:
        with pytest.raises(_Deadline):
            session._request('<call val="NoSuchCall"><unit/></call>', 1.0)
        # Still usable afterwards (a restart if needed, transparently).
        assert isinstance(session.run(CoqSession.ROOT, "Check 1."), Ran)


@pytest.mark.slow
def test_close_leaves_no_process(coq) -> None:
    session = CoqSession()
    pid = session.pid
    session.close()
    session.close()  # twice is fine
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
