"""Property: no text given to ``CoqFile.step`` (or ``query``) on a real coqidetop takes
longer than its timeout, or raises anything but the documented infrastructure errors; and
the proof is never closed by a refused command.

The strategies mix tactic words, vernacular, selectors, comments, strings, bullets and
control characters. The number of examples comes from the hypothesis profile
(``HYPOTHESIS_PROFILE=fuzz`` in ``make fuzz`` runs many more)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provergym.api import Progress, Proved, ProverError, Rejected
from provergym.coq.env import Answer, CoqFile

STEP_TIMEOUT = 2.0
# Coq's own Timeout, then the session's grace and the SIGINT ladder (see session.py).
BOUND = STEP_TIMEOUT + 2.0 + 3.0 + 2.0

PIECES = [
    "intros", "auto", "reflexivity", "exact I", "split", "simpl", "induction n", "apply",
    "Check", "Admitted", "Axiom", "Qed", "Defined", "Abort", "admit", "give_up", "Print",
    "Search", "Set", "Require", "Import", "Ltac", "Definition", "1:", "all:", "[x]:", "!:",
    "par:", "-", "+", "*", "{", "}", "(*", "*)", '"', ".", ";", "|", "[", "]", "(", ")",
    "=>", "ltac:(", "fun x => x", "0", "n", "True", "\x01", "\x0c", "\x1b", "\t", "\n",
    " ", "let rec f x := f x in f I", "Timeout 1", "Fail", "idtac", "Proof", "End",
    "α", "\u2028",
]
TACTICS = ["intros", "auto", "reflexivity", "exact", "split", "simpl", "induction", "apply",
           "rewrite", "destruct", "idtac", "trivial", "lia", "omega", "f_equal", "now",
           "unfold", "case", "elim", "constructor", "exists", "assert", "pose", "cbn"]
ARGS = ["", "n", "IHn", "I", "0", "(n + 0)", "Nat.add_0_r", "<-", "*", "in *", "as [|m]",
        '"\x01"', '"a""b"', "(* c *)", "ltac:(idtac)", "(fun x => x)", "with n", "; auto",
        "|| auto", "; [ | ]", "by []"]
# Text that passes the filter and reaches Coq: an optional selector, a tactic, arguments.
tactics = st.builds(
    lambda selector, tactic, args, end: f"{selector}{tactic} {' '.join(args)}{end}",
    st.sampled_from(["", "1: ", "all: ", "2: ", "[x]: "]), st.sampled_from(TACTICS),
    st.lists(st.sampled_from(ARGS), max_size=4), st.sampled_from([".", "", " .", ".."]))
texts = st.one_of(
    tactics,
    st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.text(max_size=200),
)


@pytest.fixture(scope="module")
def coq_file(small_v):
    with CoqFile(small_v, step_timeout=STEP_TIMEOUT) as environment:
        yield environment


@pytest.mark.slow
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(text=texts, query=st.booleans())
def test_any_text_is_a_bounded_value_or_a_documented_error(coq, coq_file, text: str,
                                                         query: bool) -> None:
    state = coq_file.open("plus_zero")
    start = time.monotonic()
    try:
        result = coq_file.query(state, text) if query else coq_file.step(state, text)
    except ProverError:  # documented: a prover that crashed or did not answer
        result = None
    elapsed = time.monotonic() - start
    assert elapsed < BOUND, (text, elapsed)
    if query:
        assert result is None or isinstance(result, (Answer, Rejected))
    else:
        assert result is None or isinstance(result, (Progress, Proved, Rejected))
    if isinstance(result, Proved):  # only real tactics can close n + 0 = n
        assert "Admitted" not in result.proof and "admit" not in result.proof
    # The state is still usable afterwards.
    assert isinstance(coq_file.step(state, "induction n."), Progress)
