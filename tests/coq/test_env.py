"""The environment: tactic filter (fast), and open/step/branch/recover on real coqidetop."""

from __future__ import annotations

import os
import signal
import warnings
from pathlib import Path

import pytest

from provergym.api import Backend, InitError, Progress, Proved, Rejected
from provergym.coq.env import CoqFile, parse_hypotheses
from provergym.coq.tactics import check_tactic, with_timeout


@pytest.mark.parametrize("text", [
    "Require Import Classical.", "Axiom cheat : False.", "Definition x := 3.", "Admitted.",
    "Abort.", "Qed.", "Set Printing All.", "Load \"evil.v\".", "Redirect \"f\" idtac.",
    "Drop.", "Extraction nat.", "Declare ML Module \"x\".", "Local Set Foo.",
    "#[local] Hint Resolve I : core.", "Ltac t := idtac.", "admit.", "give_up.",
    "exact ltac:(admit).", "idtac. Qed.", "auto. Axiom f : False.", "(* c *) Admitted.",
    "split; [admit | idtac].", "Timeout 1 admit.", "Time auto.", "", "   ",
    # Read-only vernacular, and commands behind a goal selector (reliability item 5).
    "Inspect 1.", "Comments foo.", "1: Check I.", "1: Compute 2 + 2.", "1: Search False.",
    "1: About x.", "all: Print nat.", "2-3, 5: Show.", "[x]: Check I.", "!: Locate nat.",
    "par: Check I.", "1:Check I.", "1 (* c *) : Check I.", "1: (* a (* b *) c *) Check I.",
    "1: #[local] Check I.", "(* a (* b *) Check I. *) Check I.",
])
def test_filter_refuses(text: str) -> None:
    check = check_tactic(text)
    assert not check.ok and check.reason


@pytest.mark.parametrize("text,sent", [
    ("auto", "auto."), ("intros [p q].", "intros [p q]."), ("-", "-"), ("++", "++"),
    ("{", "{"), ("2:{", "2:{"), ("all: simpl.", "all: simpl."),
    ("rewrite /(_ \\o _) //=.", "rewrite /(_ \\o _) //=."), ("by case: n => [|n].", None),
    ("exact (fun x : nat => x).", None), ("now apply admissible_x.", None),
    ("1: exact I.", None), ("par: auto.", None), ("[x]: exact I.", None), ("2: {", None),
    ("(* a (* b *) c *) auto.", "auto."), ('idtac "(*".', None), ("1 : auto.", None),
])
def test_filter_accepts(text: str, sent: str | None) -> None:
    check = check_tactic(text)
    assert check.ok, check.reason
    assert check.sentence == (sent or text)


def test_timeout_prefix_skips_bullets() -> None:
    assert with_timeout("auto.", 5) == "Timeout 5 auto."
    assert with_timeout("-", 5) == "-" and with_timeout("2:{", 5) == "2:{"


def test_hypotheses_split() -> None:
    assert [(h.name, h.type) for h in parse_hypotheses("n, m : nat")] == [("n", "nat"),
                                                                          ("m", "nat")]
    [let] = parse_hypotheses("f := fun x : nat => x : nat -> nat")
    assert (let.name, let.body, let.type) == ("f", "fun x : nat => x", "nat -> nat")
    [h] = parse_hypotheses("H : forall x : nat, x = x")
    assert (h.name, h.type, h.body) == ("H", "forall x : nat, x = x", None)


@pytest.fixture()
def env(coq, small_v, no_leftover_coq):
    with CoqFile(small_v, step_timeout=2.0, printing_all=True) as environment:
        yield environment


@pytest.mark.slow
def test_open_step_branch_and_prove(env) -> None:
    assert isinstance(env, Backend)
    assert list(env.lemmas) == ["double_zero", "id_eq", "and_swap", "unicode_α", "plus_zero"]
    start = env.open("and_swap")
    assert start.goals[0].conclusion == "P /\\ Q -> Q /\\ P"
    assert [h.name for h in start.goals[0].hypotheses] == ["A", "P", "Q"]  # section variable
    intro = env.step(start, "intros [p q]")
    assert isinstance(intro, Progress)
    split = env.step(intro.state, "split.")
    assert [g.conclusion for g in split.state.goals] == ["Q", "P"]
    # Branch from the older state: it is still valid after moving on.
    proved = env.step(intro.state, "tauto.")
    assert isinstance(proved, Proved) and proved.proof == "Proof. intros [p q]. tauto. Qed."
    bullet = env.step(split.state, "-")
    first = env.step(bullet.state, "exact q.")
    assert isinstance(first, Progress) and first.state.goals[0].data.unfocused
    second = env.step(env.step(first.state, "-").state, "exact p.")
    assert isinstance(second, Proved)
    assert second.proof == "Proof. intros [p q]. split. - exact q. - exact p. Qed."


@pytest.mark.slow
def test_printing_all_and_ast(env) -> None:
    state = env.open("plus_zero")
    data = state.goals[0].data
    assert data.printing_all.conclusion == "@eq nat (Init.Nat.add n O) n"  # Arith shadows Nat
    assert data.ast is not None, data.ast_error


@pytest.mark.slow
def test_injection_never_reaches_coq(env) -> None:
    state = env.open("double_zero")
    added = env.session.sentences_added
    for text in ["Admitted.", "idtac. Admitted.", "exact ltac:(admit).", "give_up.",
                 "Axiom cheat : double 0 = 0.", "reflexivity. Qed."]:
        assert isinstance(env.step(state, text), Rejected)
    assert env.session.sentences_added == added
    # A real error comes back as Coq's message, and the state stays usable.
    wrong = env.step(state, "exact I.")
    assert isinstance(wrong, Rejected) and "has type" in wrong.reason
    assert isinstance(env.step(state, "reflexivity."), Proved)


@pytest.mark.slow
def test_control_characters_in_coq_output_are_a_normal_step(env) -> None:
    """Reliability item 4: Coq prints a string's control characters raw, which is not XML;
    the step is a Progress and the prover is not restarted."""
    state = env.open("double_zero")
    pid = env.session.pid
    for text in ['idtac "\x01".', 'idtac "a\x0cb\x1bc".', 'idtac "\x0b\x7f".']:
        result = env.step(state, text)
        assert isinstance(result, Progress), result
    assert env.session.pid == pid and env.session.restarts == 0
    assert isinstance(env.step(state, "exact\x01 I."), Rejected)  # Coq's lexer refuses it
    assert isinstance(env.step(state, "reflexivity."), Proved)


@pytest.mark.slow
def test_a_state_that_cannot_be_restored_is_a_rejection(env) -> None:
    """Going back to a state re-runs its tactics; one that ran just under its timeout may
    overrun the second time (seen in the soak test on a busy machine). That step is then
    Rejected, not a ProverError. Simulated here by a node whose sentence now fails."""
    from provergym.coq.session import _Node

    state = env.open("plus_zero")
    induction = env.step(state, "induction n.")
    env.step(state, "simpl.")  # the document's tip moves away from `induction`
    node = induction.state.key[1]
    kept = env.session._nodes[node]
    env.session._nodes[node] = _Node(kept.parent, "Timeout 1 fail.")
    env.session.restart()  # forget the chain, so the path is replayed
    result = env.step(induction.state, "-")
    assert isinstance(result, Rejected) and "cannot return to this state" in result.reason
    env.session._nodes[node] = kept
    assert isinstance(env.step(state, "induction n."), Progress)  # the session still works


def test_text_coq_cannot_read_is_refused() -> None:
    for text in ["\ud800", "exact I \udfff.", b"auto."]:
        check = check_tactic(text)
        assert not check.ok and check.reason.startswith("refused"), text


@pytest.mark.slow
def test_read_only_query_never_changes_the_proof(env) -> None:
    state = env.open("plus_zero")
    added = env.session.sentences_added
    answer = env.query(state, "Check Nat.add_0_r.")
    assert "forall n : nat, n + 0 = n" in answer.text
    assert "Nat.add_0_r" in env.query(state, "Search (_ + 0 = _).").text
    assert "Inductive nat" in env.query(state, "Print nat").text
    assert env.query(state, "Check n.").text.split() == ["n", ":", "nat"]  # the context
    missing = env.query(state, "Check no_such_constant.")
    assert isinstance(missing, Rejected) and "was not found" in missing.reason
    for text in ["Set Printing All.", "Axiom f : False.", "Check I. Axiom f : False.",
                 "1: Check I.", "auto.", "Require Import Classical."]:
        refused = env.query(state, text)
        assert isinstance(refused, Rejected) and refused.reason.startswith("refused"), text
    looped = env.query(state, "Check (ltac:(let rec f x := f x in f I) : True).", timeout=1)
    assert isinstance(looped, Rejected) and "Timeout" in looped.reason
    assert env.session.sentences_added == added  # nothing was added to the document
    assert state.goals[0].conclusion == "n + 0 = n"
    assert isinstance(env.step(env.step(state, "induction n.").state, "-"), Progress)


@pytest.mark.slow
def test_statements_without_a_name_open_by_line(coq, tmp_path, no_leftover_coq) -> None:
    """``Instance : C.``, ``Goal T.``: named ``<goal at line N>`` as replay and the corpora
    name them, so a manifest entry such as ``Heap.v:<goal at line 143>`` opens."""
    source = tmp_path / "Anon.v"
    source.write_text("Class C := { c : nat }.\nInstance : C.\nProof. constructor. exact 0. "
                      "Defined.\n\nGoal 1 = 1.\nProof. reflexivity. Qed.\n", encoding="utf-8")
    with CoqFile(source) as anon:
        assert list(anon.lemmas) == ["<goal at line 2>", "<goal at line 5>"]
        assert anon.open("<goal at line 2>").goals[0].conclusion == "C"
        assert isinstance(anon.step(anon.open("<goal at line 5>"), "reflexivity."), Proved)


def test_a_file_that_is_not_text_is_an_init_error(tmp_path) -> None:
    binary = tmp_path / "Binary.v"
    binary.write_bytes(b"Lemma \xdb\xff : True.")
    with pytest.raises(InitError, match="Binary.v: not a UTF-8 text file"):
        CoqFile(binary)


@pytest.mark.slow
def test_open_many_lemmas_loads_the_file_once(env) -> None:
    for name in env.lemmas:
        env.open(name)
    assert env.session.sentences_added <= len(env.sentences)
    with pytest.raises(InitError, match="no lemma named"):
        env.open("no_such_lemma")


@pytest.mark.slow
def test_looping_tactic_and_killed_process(env) -> None:
    state = env.open("plus_zero")
    looped = env.step(state, "let rec f n := f n in f 0.")
    assert isinstance(looped, Rejected) and "Timeout" in looped.reason
    induction = env.step(state, "induction n.")
    os.kill(env.session.pid, signal.SIGKILL)  # killed mid-proof
    base = env.step(induction.state, "- reflexivity.")
    assert isinstance(base, Rejected)  # two sentences: refused, no Coq involved
    bullet = env.step(induction.state, "-")
    assert isinstance(bullet, Progress) and env.session.restarts == 1
    assert bullet.state.goals[0].conclusion == "0 + 0 = 0"


@pytest.mark.slow
def test_gymnasium_env_passes_check_env(coq, small_v, no_leftover_coq) -> None:
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    # ``import provergym`` (above, through provergym.api) registered provergym/Coq-v0.
    environment = gym.make("provergym/Coq-v0", file=str(small_v), lemmas=["double_zero"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the checker's warnings fail the test
            check_env(environment.unwrapped, skip_render_check=True)
        obs, info = environment.reset(seed=0)
        assert obs == "double 0 = 0" and info["theorem"] == "double_zero"
        obs, reward, terminated, truncated, info = environment.step("Admitted.")
        assert reward == 0 and not terminated and "rejected" in info
        obs, reward, terminated, truncated, info = environment.step("reflexivity.")
        assert reward == 1 and terminated and info["proof"] == "Proof. reflexivity. Qed."
        # the spaces' repr names the charset instead of printing 63,482 characters
        assert len(repr(environment.observation_space)) < 100
        assert "Unicode BMP" in repr(environment.action_space)
        # candidates: the fixed tactics, and a Discrete wrapper that plays them
        from provergym.coq.policies import COQ_TACTICS
        from provergym.gym_env import DiscreteCandidates

        discrete = DiscreteCandidates(environment)
        obs, info = discrete.reset(seed=0)
        assert info["candidates"] == list(COQ_TACTICS) and info["action_mask"].all()
        obs, reward, terminated, truncated, info = discrete.step(0)  # reflexivity.
        assert reward == 1 and terminated
    finally:
        environment.close()
        environment.close()


@pytest.mark.slow
def test_user_project_with_coqproject(coq, tmp_path, no_leftover_coq) -> None:
    import shutil

    from provergym.coq.export import check_with_coqc

    project = tmp_path / "proj"
    shutil.copytree(Path(__file__).parent / "fixtures" / "proj", project)
    base = check_with_coqc(project / "theories" / "Base.v", ["-Q", "theories", "Proj"],
                           cwd=project)
    assert base.ok, base.output
    with CoqFile(project / "theories" / "Use.v") as env:
        assert env.coq_args[0] == "-Q" and env.coq_args[2] == "Proj"
        state = env.open("triple_one")
        assert state.goals[0].conclusion == "triple 1 = 3"
        assert isinstance(env.step(state, "reflexivity."), Proved)


@pytest.mark.slow
def test_states_of_another_environment_are_refused(coq, small_v, no_leftover_coq) -> None:
    with CoqFile(small_v) as first, CoqFile(small_v) as second:
        state = first.open("double_zero")
        assert isinstance(second.step(state, "reflexivity."), Rejected)
        assert isinstance(first.step(state, "reflexivity."), Proved)
