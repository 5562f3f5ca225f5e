"""The state-handle API of both provers: open a theorem, step it, see a refusal.

Metamath (our kernel, over hol.mm): ``syl2anc`` is proved backwards in four steps, and the
actions the environment refuses come back as ``Rejected(reason)`` values, never as
exceptions. States are immutable handles: the opening state is stepped again at the end.
Coq (``coqidetop``, over ``tests/coq/fixtures/small.v``): ``and_swap`` is proved in two
tactics, a read-only ``Check`` is answered at a proof state, and the same ``Check`` given as
a tactic is refused.

Takes about 2 seconds. Writes nothing.

    python examples/01_environment.py
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from provergym.api import Progress, ProofState, Proved, Rejected, StepResult
from provergym.coq.env import Answer, CoqFile
from provergym.coq.session import COQIDETOP
from provergym.metamath.env import MetamathEnv

HOL_MM = "/usr/share/metamath/databases/hol.mm"
SMALL_V = Path(__file__).resolve().parents[1] / "tests" / "coq" / "fixtures" / "small.v"


def show(action: str, result: StepResult, hypotheses: bool = True) -> ProofState | None:
    """Print what one step did; return the new state when the proof goes on. Without
    ``hypotheses``, only each open goal's conclusion is printed."""
    print(f"\n>>> {action}")
    if isinstance(result, Progress):
        state = result.state
        print(f"Progress: {len(state.goals)} goal(s) open")
        print(indent(state.pretty() if hypotheses else
                     "\n".join(goal.conclusion for goal in state.goals)))
        return state
    if isinstance(result, Proved):
        print(f"Proved: {result.proof}")
    elif isinstance(result, Rejected):
        print("Rejected: " + indent(result.reason).lstrip())
    return None


def indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def metamath(database: str) -> None:
    print(f"== Metamath: {database}")
    env = MetamathEnv(database)
    opening = env.open("syl2anc")
    print("syl2anc, as opened (its $e hypotheses, then the goal):")
    print(indent(opening.pretty()))
    # syl: R |= T from R |= S and S |= T. Unification fixes R and T from the goal;
    # the middle formula S is not in syl's conclusion, so the action names it.
    state = show("syl {{ S : ( S , T ) }}", env.step(opening, "syl {{ S : ( S , T ) }}"),
                 hypotheses=False)
    # R |= ( S , T ) from R |= S and R |= T
    state = show("jca", env.step(state, "jca"), hypotheses=False)
    for hypothesis in ("syl2anc.1", "syl2anc.2", "syl2anc.3"):  # cite the theorem's $e
        result = env.step(state, hypothesis)
        state = show(hypothesis, result, hypotheses=False)
    assert isinstance(result, Proved), result  # assembled and checked by our kernel
    print("\nRefused actions are values; the state they were given is unchanged:")
    for action in ("ax-jca",  # its conclusion ( S , T ) does not unify with R |= A
                   "eqid",  # comes after syl2anc in the database
                   "syl2anc",  # the theorem itself
                   "hello world"):  # not an action at all
        show(action, env.step(opening, action))
    env.close()


def coq(path: Path) -> None:
    print(f"\n== Coq: {path}")
    if shutil.which(COQIDETOP) is None:
        print(f"skipped: {COQIDETOP} is not on PATH (Debian package coq)")
        return
    with CoqFile(path) as env:  # one coqidetop process, ended on exit
        opening = env.open("and_swap")
        print("and_swap, as opened:")
        print(indent(opening.pretty()))
        state = show("intros [p q].", env.step(opening, "intros [p q]."))
        answer = env.query(state, "Check p.")  # read-only: the proof is not changed
        assert isinstance(answer, Answer), answer
        print(f"\n>>> query: Check p.\nAnswer: {answer.text!r}")
        show("Check p.  (as a tactic)", env.step(state, "Check p."))
        show("exact p.", env.step(state, "exact p."))  # p : P, but the goal is Q /\ P
        show("split; assumption.", env.step(state, "split; assumption."))  # Proved after Qed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=HOL_MM, help=f"Metamath database (default {HOL_MM})")
    parser.add_argument("--coq-file", default=str(SMALL_V), help="Coq file with and_swap")
    args = parser.parse_args()
    metamath(args.db)
    coq(Path(args.coq_file))


if __name__ == "__main__":
    main()
