"""Baselines, metrics and the eval command."""

from __future__ import annotations

import json
import math

import pytest

from agents.baselines import LinearClassifier, MostFrequent, NearestNeighbours, majority_label
from agents.evaluate import (
    acceptance_rate,
    calibration_error,
    chained_solve_rate,
    option_metrics,
    step_accuracy,
)
from agents.tasks import Example
from provergym.api import Goal, Progress, ProofState, Proved, Rejected


def test_most_frequent_and_knn_propose():
    goals = ["|- ( ph -> ph )", "|- ( ps -> ps )", "|- ( ph -> ( ps -> ph ) )"]
    actions = ["id {{ ph : ph }}", "id {{ ph : ps }}", "ax-1 {{ ph : ph }} {{ ps : ps }}"]
    frequent = MostFrequent.fit(actions + ["id {{ ph : ph }}"])
    assert frequent.propose("anything", 2)[0] == ("id {{ ph : ph }}", math.log(0.5))
    knn = NearestNeighbours.fit(goals, actions, k=2)
    candidates = knn.propose("|- ( ph -> ( ps -> ph ) )", 3)
    assert candidates[0][0] == actions[2]
    assert len(candidates) == 2  # k = 2 neighbours give at most 2 actions
    assert sum(math.exp(lp) for _, lp in candidates) == pytest.approx(1.0)


def test_linear_classifier_learns_a_separable_task():
    goals = [f"n{i} : nat ==== n{i} + 0 = n{i}" for i in range(10)] + [
        f"l{i} : list nat ==== rev (rev l{i}) = l{i}" for i in range(10)]
    labels = ["rewrite"] * 10 + ["induction"] * 10
    classifier = LinearClassifier.fit(goals, labels)
    assert classifier.predict(["m : nat ==== m + 0 = m", "x : list nat ==== rev (rev x) = x"]) \
        == ["rewrite", "induction"]
    assert majority_label(["a", "b", "b"]) == "b"
    with pytest.raises(ValueError):
        LinearClassifier.fit(goals[:2], ["x", "x"])


def test_step_accuracy_counts_top1_and_topk():
    examples = [Example("g1", "a", "v"), Example("g2", "b", "v"), Example("g3", "c", "v")]
    table = {"g1": ["a", "x"], "g2": ["x", "b"], "g3": ["x", "y"]}

    def propose_batch(goals, n):
        return [[(action, -1.0) for action in table[g][:n]] for g in goals]

    assert step_accuracy(propose_batch, examples, 2) == {
        "n": 3, "top1": pytest.approx(1 / 3), "top2": pytest.approx(2 / 3)}


def test_calibration_and_option_metrics():
    # Perfectly calibrated: confidence 0.75 and three quarters right.
    assert calibration_error([0.75] * 4, [True, True, True, False]) == pytest.approx(0.0)
    assert calibration_error([1.0, 1.0], [False, False]) == pytest.approx(1.0)
    rows = [[math.log(0.9), math.log(0.1)], [math.log(0.2), math.log(0.8)]]
    metrics = option_metrics(rows, ["A", "B"], ["A", "A"])
    assert metrics["accuracy"] == 0.5
    assert metrics["nll"] == pytest.approx(-(math.log(0.9) + math.log(0.2)) / 2)


def _state(key: int) -> ProofState:
    return ProofState(theorem="t", goals=(Goal(f"g{key}"),), key=key)


def test_environment_hooks():
    # A fake environment for our own chaining logic: "good" moves one state on, the last
    # good move proves, anything else is rejected.
    def step(state, action):
        if action != "good":
            return Rejected("no")
        return Proved("proof") if state.key == 2 else Progress(_state(state.key + 1))

    def propose(state, n):
        return [("bad", -0.1), ("good", -1.0)][:n]

    assert acceptance_rate(propose, [_state(0), _state(1)], step) == 0.5
    assert chained_solve_rate(propose, [_state(0), _state(1)], step) == (2, 2)
    assert chained_solve_rate(propose, [_state(0)], step, max_steps=2) == (0, 1)
    assert chained_solve_rate(lambda s, n: [("bad", 0.0)], [_state(0)], step) == (0, 1)


@pytest.mark.slow
def test_coq_model_scores_gamepad_options_and_eval_command(corpora, tmp_path, capsys):
    from agents.policy import Policy, resolve_model_dir
    from agents.train import resolve_config, train
    from provergym.cli import main

    out = tmp_path / "coq-tiny"
    config = resolve_config("coq", "tiny", {
        "data_dir": str(corpora["coq"]), "out_dir": str(out), "steps": 40, "log_every": 10,
        "eval_every": 40, "save_every": 40, "progress": False, "cpu_threads": 1})
    train(config)
    policy = Policy.load(out)
    classes = policy.classify("n : nat ==== n + 0 = n")
    assert set(classes) == {"apply", "exists", "induction", "intros", "rewrite"}
    assert sum(classes.values()) == pytest.approx(1.0)
    positions = policy.value_distribution("n : nat ==== n + 0 = n")
    assert sum(positions.values()) == pytest.approx(1.0) and len(positions) == 3

    assert main(["eval", "--model", str(out), "--split", "test", "--limit", "20"]) == 0
    printed = capsys.readouterr().out
    assert "tactic cls  model" in printed and "GamePad SVM  49.45%" in printed
    report = json.loads((resolve_model_dir(out).parent / "eval-test.json").read_text())
    assert report["n"] == 20
    # The synthetic classes are a function of the goal: the model beats the majority class.
    assert report["model_tactic_class"]["accuracy"] > report["baselines"][
        "majority_tactic_class"]


def test_cli_errors_are_clear(tmp_path, capsys):
    from provergym.cli import main

    for argv, message in ((["train", "--task", "coq", "--data", str(tmp_path / "none")],
                           "provergym corpus build coq"),
                          (["eval", "--model", str(tmp_path)], "no trained model"),
                          (["train", "--task", "coq", "--set", "lr"], "KEY=VALUE")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("provergym: error: ") and message in err, err


class _TablePolicy:
    """A stand-in policy that proposes from a table (tests our chaining, not a model)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def propose(self, state, n):
        action = self.table.get(state.goals[0].conclusion, "rewrite (id_l m) at 9.")
        return [(action, -1.0)][:n]


@pytest.mark.slow
def test_rewrite_chained_solving_runs_in_coq(tmp_path):
    from agents.evaluate import rewrite_chained_solving
    from corpora.rewrite import coq_source, generate, term_text

    problems = generate(n=4, sizes={"train": 0, "valid": 0, "test": 3}, seed=7)["test"]
    source = tmp_path / "problems.v"
    source.write_text(coq_source(problems))
    names = [p.name for p in problems]
    gold = {f"{term_text(s.before)} = b": s.tactic for p in problems for s in p.steps()}
    # Right steps solve all (reflexivity is offered at b = b); a wrong one solves none.
    assert rewrite_chained_solving(_TablePolicy(gold), [source], names) == {
        "solved": 3, "total": 3, "not_found": 0, "gamepad": [10, 50]}
    # Without the first problem's last step it dead-ends (the seed keeps that step unique).
    last = f"{term_text(problems[0].steps()[-1].before)} = b"
    drop_last = {k: v for k, v in gold.items() if k != last}
    result = rewrite_chained_solving(_TablePolicy(drop_last), [source], [*names, "rw_nope"])
    assert (result["solved"], result["total"], result["not_found"]) == (2, 3, 1)
