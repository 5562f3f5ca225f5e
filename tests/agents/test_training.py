"""Train ``tiny`` for real (a few steps, on CPU), reload it, propose, and kill/resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.train import latest_checkpoint, read_log, resolve_config, train

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def metamath_run(corpora, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "metamath-tiny"
    config = resolve_config("metamath", "tiny", {
        "data_dir": str(corpora["metamath"]), "out_dir": str(out), "steps": 40,
        "log_every": 5, "eval_every": 20, "save_every": 20, "progress": False,
        "cpu_threads": 1})
    result = train(config)
    return config, result


@pytest.mark.slow
def test_loss_decreases_and_run_folder_is_complete(metamath_run):
    config, result = metamath_run
    curve = read_log(config.out_dir)
    assert [r["step"] for r in curve] == list(range(5, 41, 5))
    assert curve[-1]["loss"] < 0.6 * curve[0]["loss"]
    evals = read_log(config.out_dir, "eval")
    assert [e["step"] for e in evals] == [20, 40]
    assert evals[1]["valid_loss"] < evals[0]["valid_loss"]
    checkpoint = latest_checkpoint(config.out_dir)
    assert json.loads((checkpoint / "meta.json").read_text()) == {"step": 40, "samples": 640}
    saved = json.loads((checkpoint / "train_config.json").read_text())
    assert saved["steps"] == 40 and saved["task"] == "metamath"
    assert not list(checkpoint.parent.glob(".tmp-*"))  # temp folders renamed away
    assert result.tokens_per_second > 0


@pytest.mark.slow
def test_loading_a_model_reaches_no_network(metamath_run, monkeypatch):
    # every load is from a local folder: no HF_HUB_OFFLINE needed, and none is set
    import socket

    from agents.policy import Policy

    def refuse(*args, **kwargs):
        raise AssertionError(f"network use: {args[1:]}")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    policy = Policy.load(metamath_run[0].out_dir)
    assert policy.propose("|- ( ph -> ph )", 2)


@pytest.mark.slow
def test_checkpoint_reloads_and_propose_gives_valid_candidates(metamath_run, corpora,
                                                               monkeypatch):
    import torch
    from datasets import load_from_disk

    import agents.policy
    from agents.policy import Policy
    from agents.tasks import TASKS

    config, _ = metamath_run
    policy = Policy.load(config.out_dir)
    # The reloaded weights are the trained ones: the proof-step loss they give on the
    # valid split is the one the training run logged at its last evaluation.
    valid = [TASKS["metamath"].to_example(r)
             for r in load_from_disk(str(corpora["metamath"]))["valid"]]
    total_logprob = sum(policy.score(e.goal, [e.action])[0] for e in valid)
    tokens = sum(len(policy.tokenizer(e.action, add_special_tokens=False)["input_ids"]) + 1
                 for e in valid)
    logged = read_log(config.out_dir, "eval")[-1]["valid_loss_proofstep"]
    assert -total_logprob / tokens == pytest.approx(logged, rel=1e-3)

    goals = [example.goal for example in valid[:3]]
    for strategy in ("beam", "sample"):
        torch.manual_seed(0)
        batches = policy.propose_batch(goals, 4, strategy=strategy)
        assert len(batches) == 3
        for candidates in batches:
            # Beam search always finds a finished, well-formed action in a trained model;
            # a few samples from a barely trained one may all be dropped.
            assert (1 if strategy == "beam" else 0) <= len(candidates) <= 4
            actions = [a for a, _ in candidates]
            assert len(set(actions)) == len(actions)
            logprobs = [lp for _, lp in candidates]
            assert all(math.isfinite(lp) and lp <= 0 for lp in logprobs)
            assert logprobs == sorted(logprobs, reverse=True)
            for action in actions:  # a label, then {{ v : e }} groups
                assert TASKS["metamath"].well_formed(action)
            if strategy == "beam":  # the likeliest actions start with a label it was taught
                assert actions[0].split()[0] in {"ax-1", "ax-2", "ax-mp", "id"}
    # A candidate's log-probability is the exact score of its text.
    best, logprob = policy.propose(goals[0], 2)[0]
    assert policy.score(goals[0], [best])[0] == pytest.approx(logprob, abs=1e-4)

    # Scoring a batch of actions of different lengths (shared prompt cache, right
    # padding) gives what one plain forward pass over prompt + action gives for each.
    actions = ["ax-mp", "ax-1 {{ ph : ( ph -> ps ) }}", "id", "ax-2 {{ ch : ps }}"]
    assert policy.score(goals[1], actions) == pytest.approx(
        [_whole_sequence_logprob(policy, goals[1], a, actions) for a in actions], abs=1e-4)
    # Cut into chunks of similar length (what bounds the memory of a long action), the
    # same figures, in the actions' order.
    monkeypatch.setattr(agents.policy, "SCORE_CELLS", 1)
    assert policy.score(goals[1], actions) == pytest.approx(
        [_whole_sequence_logprob(policy, goals[1], a, actions) for a in actions], abs=1e-4)
    monkeypatch.undo()

    distribution = policy.value_distribution(goals[0])
    assert sum(distribution.values()) == pytest.approx(1.0)
    assert policy.value(goals[0]) <= 0.0


@pytest.mark.slow
def test_propose_accepts_a_proof_state(metamath_run):
    from agents.policy import Policy
    from provergym.api import Goal, Hypothesis, ProofState

    config, _ = metamath_run
    policy = Policy.load(config.out_dir)
    goal = Goal("|- ( ph -> ph )", (Hypothesis("h1", "|- ps"),))
    state = ProofState(theorem="t", goals=(goal,), key=1)
    assert policy.propose(state, 2) == policy.propose("|- ( ph -> ph ) $e |- ps", 2)


@pytest.mark.slow
def test_gradient_accumulation_consumes_micro_batches(corpora, tmp_path):
    config = resolve_config("rewrite", "tiny", {
        "data_dir": str(corpora["rewrite"]), "out_dir": str(tmp_path / "accumulate"),
        "steps": 4, "grad_accum": 2, "batch_size": 8, "warmup_steps": 2, "log_every": 1,
        "eval_every": 4, "save_every": 4, "progress": False})
    result = train(config)
    assert result.step == 4
    meta = json.loads((latest_checkpoint(config.out_dir) / "meta.json").read_text())
    assert meta == {"step": 4, "samples": 4 * 2 * 8}
    lrs = [r["lr"] for r in read_log(config.out_dir)]
    # Linear warmup over 2 optimizer steps, then the cosine from the peak towards 10%.
    peak = config.lr
    assert lrs == pytest.approx([peak / 2, peak, peak, peak * (0.1 + 0.9 * 0.5)])
    with pytest.raises(Exception, match="already holds a run"):
        train(config)


PROPOSITIONAL_MM = r"""
$c ( ) -> -. /\ \/ <-> wff |- $.
$v ph ps ch th ta $.
wph $f wff ph $. wps $f wff ps $. wch $f wff ch $. wth $f wff th $. wta $f wff ta $.
wn $a wff -. ph $. wi $a wff ( ph -> ps ) $. wa $a wff ( ph /\ ps ) $.
wo $a wff ( ph \/ ps ) $. wb $a wff ( ph <-> ps ) $.
ax-1 $a |- ( ph -> ( ps -> ph ) ) $.
ax-2 $a |- ( ( ph -> ( ps -> ch ) ) -> ( ( ph -> ps ) -> ( ph -> ch ) ) ) $.
${ min $e |- ph $. maj $e |- ( ph -> ps ) $. ax-mp $a |- ps $. $}
t1 $p |- ( ph -> ( ps -> ph ) ) $= wph wps ax-1 $.
"""


@pytest.mark.slow
def test_metamath_acceptance_steps_the_real_environment(metamath_run, tmp_path):
    import random

    from agents.evaluate import metamath_acceptance
    from agents.policy import Policy
    from agents.synthetic import metamath_record

    database = tmp_path / "prop.mm"
    database.write_text(PROPOSITIONAL_MM)
    policy = Policy.load(metamath_run[0].out_dir)
    rng = random.Random(5)
    records = [metamath_record(rng, "t1") for _ in range(12)]
    # The gold steps are all accepted, except `id`, which this database does not have.
    gold = {" ".join(r["goal"].split()): [(r["action"], 0.0)] for r in records}
    expected = sum(r["label"] != "id" for r in records) / len(records)
    assert 0 < expected < 1
    report = metamath_acceptance(policy, records, database, gold, 1)
    assert report == {"states": 12, "skipped": 0, "accepted_share": pytest.approx(expected)}
    # The model's own candidates (generated here: nothing cached) go through the same path.
    model = metamath_acceptance(policy, records[:4], database, {}, 2)
    assert model["states"] == 4 and 0.0 <= model["accepted_share"] <= 1.0
    with pytest.raises(ValueError, match="cannot load the Metamath database"):
        metamath_acceptance(policy, records, tmp_path / "missing.mm", {}, 1)


def _train_process(data: Path, out: Path, resume: bool) -> subprocess.Popen:
    command = [sys.executable, "-m", "provergym.cli", "train", "--task", "metamath", "--size", "tiny",
               "--data", str(data), "--out", str(out), "--steps", "40", "--no-progress",
               "--set", "log_every=1", "--set", "save_every=5", "--set", "eval_every=1000",
               "--set", "cpu_threads=1"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    return subprocess.Popen(command + (["--resume"] if resume else []), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.slow
def test_kill_mid_training_then_resume_continues_the_same_run(corpora, tmp_path):
    out = tmp_path / "killed"
    process = _train_process(corpora["metamath"], out, resume=False)
    killed_at = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            checkpoint = latest_checkpoint(out)
            steps = [r["step"] for r in read_log(out)] if checkpoint else []
            saved = json.loads((checkpoint / "meta.json").read_text())["step"] if checkpoint else 0
            if saved >= 10 and steps and steps[-1] >= saved + 2:
                os.killpg(process.pid, signal.SIGKILL)  # no chance to clean up or save
                killed_at = steps[-1]
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert killed_at is not None, process.stdout.read().decode()[-2000:]
    before = {r["step"]: r["loss"] for r in read_log(out)}
    checkpoint_step = json.loads((latest_checkpoint(out) / "meta.json").read_text())["step"]
    assert checkpoint_step < 40

    resumed = _train_process(corpora["metamath"], out, resume=True)
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output[-2000:]
    resume_events = read_log(out, "resume")
    assert [e["step"] for e in resume_events] == [checkpoint_step]
    after = [r for r in read_log(out) if r["time"] >= resume_events[0]["time"]]
    assert [r["step"] for r in after] == list(range(checkpoint_step + 1, 41))
    # The steps that ran twice (after the checkpoint, before the kill) give the same loss:
    # weights, optimizer, schedule and data position were all restored.
    redone = [r for r in after if r["step"] in before]
    assert redone
    for record in redone:
        assert record["loss"] == pytest.approx(before[record["step"]], rel=1e-3)
    first_losses = [before[s] for s in sorted(before)[:5]]
    assert after[-1]["loss"] < 0.6 * sum(first_losses) / len(first_losses)


@pytest.mark.slow
def test_metamath_model_policy_ranks_applicable_actions_and_proves(metamath_run):
    from collections import Counter

    from agents.defaults import FREQUENCY_WEIGHT
    from agents.search_policies import MetamathModelPolicy
    from provergym.api import Rejected
    from provergym.search.bestfirst import SearchConfig, best_first_search
    from tests.metamath.mmdb import environment

    config, _ = metamath_run
    env = environment("set")
    labels = [s.label for s in env.db.assertions()
              if s.typecode not in env.syntax_typecodes and s.index < 400]
    policy = MetamathModelPolicy(config.out_dir, env, labels, threads=1)
    state = env.goal_state("mp2", "|- ( ps -> ( ch -> ps ) )")
    proposals = policy.propose(state, 6)
    assert 1 <= len(proposals) <= 6
    actions = [a for a, _ in proposals]
    logprobs = [lp for _, lp in proposals]
    assert len(set(actions)) == len(actions)
    assert all(math.isfinite(lp) and lp <= 0 for lp in logprobs)
    # steps that close the goal outright come first; the others follow, best first
    closing = {c for a in actions for c in policy.candidates.closing(state, a.split()[0], 99)}
    opening = [lp for a, lp in proposals if a not in closing]
    assert opening == sorted(opening, reverse=True)
    assert [a in closing for a in actions] == sorted((a in closing for a in actions),
                                                     reverse=True)
    for action in actions:  # only applicable actions: the environment accepts each one
        assert not isinstance(env.step(state, action), Rejected), action
    # the label distribution is renormalised over the labels that apply
    applicable = policy.candidates.labels(state)
    normalised, _ = policy.label_logprobs(state, applicable)
    assert sum(math.exp(lp) for lp in normalised.values()) == pytest.approx(1.0)
    # the frequency policy's distribution mixed in: weight 1 is that distribution alone
    # (add-one over the labels that apply), weight 0.5 halfway between
    counts = Counter({applicable[0]: 7, applicable[-1]: 2})
    alone = MetamathModelPolicy(config.out_dir, env, labels, threads=1, counts=counts,
                                frequency_weight=1.0).label_logprobs(state, applicable)[0]
    total = sum(counts[label] + 1 for label in applicable)
    for label in applicable:
        assert math.exp(alone[label]) == pytest.approx((counts[label] + 1) / total)
    half = MetamathModelPolicy(config.out_dir, env, labels, threads=1, counts=counts,
                               frequency_weight=0.5).label_logprobs(state, applicable)[0]
    for label in applicable:
        assert math.exp(half[label]) == pytest.approx(
            (math.exp(alone[label]) + math.exp(normalised[label])) / 2)
    assert MetamathModelPolicy(config.out_dir, env, labels, threads=1,
                               counts=counts).frequency_weight == FREQUENCY_WEIGHT
    assert policy.frequency_weight == 0.0  # no counts: nothing to mix in
    with pytest.raises(ValueError, match="label counts"):
        MetamathModelPolicy(config.out_dir, env, labels, threads=1, frequency_weight=0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        MetamathModelPolicy(config.out_dir, env, labels, threads=1, counts=counts,
                            frequency_weight=1.5)
    # a hypothesis that states the goal comes first
    after = env.step(env.open("mp2"), "ax-mp {{ ph : ps }}").state
    assert policy.propose(after, 4)[0] == ("mp2.2", 0.0)
    result = best_first_search(env, "mp2", policy, SearchConfig(expansions=16, candidates=6))
    assert result.status == "proved", result.status


@pytest.mark.slow
def test_a_model_trained_with_hints_proposes_with_its_retriever(corpora, tmp_path):
    from agents.policy import Policy
    from agents.retrieval import FILES, LEGACY_NAME
    from agents.tasks import HINT, PROOFSTEP

    out = tmp_path / "hinted"
    config = resolve_config("metamath", "tiny", {
        "data_dir": str(corpora["metamath"]), "out_dir": str(out), "steps": 30,
        "eval_every": 30, "save_every": 30, "progress": False, "cpu_threads": 1,
        "hints": 4, "value_share": 0.5})
    train(config)
    checkpoint = latest_checkpoint(out)
    assert all((checkpoint / "hf" / name).is_file() for name in FILES)
    assert not list(out.rglob(LEGACY_NAME))
    policy = Policy.load(out)
    assert policy.hints == 4 and policy.retriever is not None
    goal = "|- ( ph -> ( ps -> ph ) )"
    prompt = policy.tokenizer.convert_ids_to_tokens(policy._prompt(goal, PROOFSTEP, 8))
    hints = prompt[prompt.index(HINT) + 1:-1]
    assert prompt[-1] == PROOFSTEP and 1 <= len(hints) <= 4
    assert set(hints) <= {"ax-1", "ax-2", "ax-mp", "id"}  # labels of the training steps
    assert HINT not in policy.tokenizer.convert_ids_to_tokens(policy._prompt(goal, "VALUE", 1))
    candidates = policy.propose(goal, 3)
    assert candidates and all(math.isfinite(lp) for _, lp in candidates)
    # the retriever keeps each indexed step whole, substitution included
    retriever = policy.retriever
    assert len(retriever.steps) == len(retriever.labels)
    assert all(step.split(" ")[0] == label for step, label in zip(retriever.steps,
                                                                   retriever.labels))
    (checkpoint / "hf" / FILES[0]).unlink()
    with pytest.raises(FileNotFoundError, match="retriever is missing"):
        Policy.load(out)


def _whole_sequence_logprob(policy, goal, action, batch) -> float:
    """log p(action + eos | prompt) from one unbatched forward pass over the whole text
    (the prompt is the one ``score`` builds for ``batch``: its room depends on the
    longest action)."""
    import torch

    from agents.tasks import PROOFSTEP
    from agents.tokenizer import encode_text

    def answer(text):
        return [*encode_text(policy.tokenizer, text), policy.tokenizer.eos_token_id]

    prompt = policy._prompt(goal, PROOFSTEP, max(len(answer(a)) for a in batch))
    tokens = answer(action)
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logits = policy.model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return float(sum(logprobs[len(prompt) - 1 + i, t] for i, t in enumerate(tokens)))
