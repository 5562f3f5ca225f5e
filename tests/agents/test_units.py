"""Fast unit tests of the agents' own logic (no training)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from agents.tasks import (
    POSITION_LABELS,
    STEP_BUCKET_LABELS,
    TASKS,
    get_task,
    metamath_goal_text,
    steps_bucket,
)
from agents.train import (
    IGNORE_INDEX,
    ConfigError,
    DataError,
    SampleStream,
    TrainConfig,
    apply_overrides,
    encode_examples,
    load_task_corpus,
    lr_lambda,
    resolve_config,
    resume_config,
)
from corpora.common import CorpusError
from provergym.errors import UserError


def test_steps_buckets_are_log2():
    assert [steps_bucket(s) for s in (1, 2, 3, 4, 5, 8, 9, 32, 33, 1000)] == [
        0, 1, 2, 2, 3, 3, 4, 5, 6, 6]
    assert len(STEP_BUCKET_LABELS) == 7


def test_metamath_goal_text_puts_goal_first():
    text = metamath_goal_text("|-  ps", ["|- ph", "|- ( ph\n-> ps )"])
    assert text == "|- ps $e |- ph $e |- ( ph -> ps )"


def test_record_to_example_for_each_task():
    coq = TASKS["coq"].to_example({"goals": "n : nat\n====\nn = n", "tactic": "reflexivity.",
                                   "tactic_class": "reflexivity", "position_bucket": 2})
    assert (coq.goal, coq.action, coq.value_label, coq.tactic_class) == (
        "n : nat ==== n = n", "reflexivity.", POSITION_LABELS[2], "reflexivity")
    rewrite = TASKS["rewrite"].to_example({"state": "e * x = x", "action": "rewrite id_l.",
                                           "steps_left": 3})
    assert rewrite.value_label == "<steps:3-4>"
    with pytest.raises(ValueError, match="unknown task"):
        get_task("lean")


def test_overrides_are_typed_and_unknown_keys_fail():
    config = apply_overrides(TrainConfig(), {"lr": "3e-4", "steps": "7", "progress": "false"})
    assert (config.lr, config.steps, config.progress) == (3e-4, 7, False)
    assert apply_overrides(TrainConfig(), {"lr": 1}).lr == 1.0
    with pytest.raises(ConfigError, match="unknown config key 'learning_rate'"):
        apply_overrides(TrainConfig(), {"learning_rate": 1.0})
    with pytest.raises(ConfigError, match="wants int"):
        apply_overrides(TrainConfig(), {"steps": "many"})
    with pytest.raises(ConfigError, match="wants int"):
        apply_overrides(TrainConfig(), {"steps": 2.5})
    with pytest.raises(ConfigError, match="must be >= 1"):
        resolve_config("metamath", "tiny", {"steps": 0, "data_dir": "x", "out_dir": "y"})


def test_resolve_config_fills_paths_and_caps_length(monkeypatch, tmp_path):
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path))
    config = resolve_config("coq", "tiny", {"max_length": 100_000})
    assert config.data_dir == str(tmp_path / "corpora" / "coq")
    assert config.out_dir == str(tmp_path / "runs" / "coq-tiny")
    assert config.max_length == 256


def test_resume_config_keeps_the_saved_run_and_what_is_given_again(tmp_path):
    import dataclasses
    import json

    out = tmp_path / "run"
    out.mkdir()
    saved = resolve_config("rewrite", "tiny", {"out_dir": str(out), "lr": 5e-3, "steps": 9})
    (out / "train_config.json").write_text(json.dumps(dataclasses.asdict(saved)))
    resumed = resume_config("rewrite", "tiny", {"out_dir": str(out), "steps": 12})
    assert (resumed.lr, resumed.steps) == (5e-3, 12)
    with pytest.raises(ConfigError, match="is a rewrite/tiny run"):
        resume_config("coq", "tiny", {"out_dir": str(out)})
    fresh = resume_config("coq", "tiny", {"out_dir": str(tmp_path / "none")})
    assert fresh == resolve_config("coq", "tiny", {"out_dir": str(tmp_path / "none")})


def test_user_errors_are_the_command_line_s_errors():
    for error in (ConfigError, DataError):  # still ValueErrors for callers that catch those
        assert issubclass(error, UserError) and issubclass(error, ValueError)
    assert issubclass(CorpusError, UserError)
    assert ConfigError.exit_code == DataError.exit_code == CorpusError.exit_code == 2


def test_load_task_corpus_reads_a_folder_or_says_how_to_build_it(corpora, tmp_path,
                                                                   monkeypatch):
    from datasets import Dataset, DatasetDict

    task = TASKS["rewrite"]
    assert len(load_task_corpus(task, corpora["rewrite"])["train"]) == 400
    with pytest.raises(DataError, match="provergym corpus build rewrite"):
        load_task_corpus(task, tmp_path / "none")
    (tmp_path / "empty").mkdir()
    Dataset.from_list([{"a": 1}]).save_to_disk(str(tmp_path / "one"))
    DatasetDict({"valid": Dataset.from_list([{"a": 1}])}).save_to_disk(str(tmp_path / "valid"))
    for folder in ("empty", "one", "valid"):
        with pytest.raises(DataError, match="must hold a DatasetDict with a 'train' split"):
            load_task_corpus(task, tmp_path / folder)
    # a relative folder is a folder, never the name of a corpus under $PROVERGYM_HOME
    home = tmp_path / "home"
    DatasetDict({"train": Dataset.from_list([{"a": 1}])}).save_to_disk(
        str(home / "corpora" / "mine"))
    monkeypatch.setenv("PROVERGYM_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    Path("mine").write_text("not a corpus")
    with pytest.raises(DataError, match="mine must hold a DatasetDict"):
        load_task_corpus(task, "mine")


def test_sample_stream_is_a_pure_function_of_position():
    stream = SampleStream(10, seed=3)
    first = stream.take(0, 25)
    assert sorted(first[:10]) == list(range(10)) and sorted(first[10:20]) == list(range(10))
    assert first[:10] != first[10:20]  # a new permutation each epoch
    assert SampleStream(10, seed=3).take(7, 11) == first[7:18]  # resume mid-epoch


def test_length_buckets_group_similar_lengths_and_stay_a_permutation():
    import random

    rng = random.Random(0)
    lengths = [rng.choice([5, 6, 7, 300, 400]) for _ in range(1000)]
    stream = SampleStream(1000, seed=1, lengths=lengths, batch=8)
    epoch = stream.take(0, 1000)
    assert sorted(epoch) == list(range(1000))  # every sequence once per epoch
    batches = [epoch[i:i + 8] for i in range(0, 1000, 8)]
    padded = sum(8 * max(lengths[i] for i in b) for b in batches)
    plain = SampleStream(1000, seed=1).take(0, 1000)
    padded_plain = sum(8 * max(lengths[i] for i in plain[j:j + 8]) for j in range(0, 1000, 8))
    assert padded < 0.6 * padded_plain  # far less padding than random batches
    assert [max(lengths[i] for i in b) for b in batches[:20]] != sorted(
        max(lengths[i] for i in b) for b in batches[:20])  # batches are not sorted overall
    assert SampleStream(1000, seed=1, lengths=lengths, batch=8).take(24, 40) == epoch[24:64]


def test_warmup_then_cosine():
    config = TrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1)
    factor = lr_lambda(config)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.55, abs=0.01)
    assert factor(100) == pytest.approx(0.1) and factor(500) == pytest.approx(0.1)
    values = [factor(s) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_word_tokenizer_and_loss_mask():
    from agents.tokenizer import train_tokenizer

    task = TASKS["metamath"]
    record = {"goal": "|- ( ph -> ph )", "hypotheses": [], "steps_left": 5,
              "action": "id {{ ph : ph }}"}
    tokenizer = train_tokenizer(task, ["|- ( ph -> ph )", "id"])
    ids = tokenizer(record["action"], add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids  # markup words are always in the vocabulary
    assert tokenizer.decode(ids) == record["action"]
    batch = encode_examples(task, tokenizer, {k: [v] for k, v in record.items()}, 64)
    assert batch["kind"] == [0, 1]
    for input_ids, labels in zip(batch["input_ids"], batch["labels"]):
        keyword = max(i for i, label in enumerate(labels) if label == IGNORE_INDEX)
        assert all(label == IGNORE_INDEX for label in labels[: keyword + 1])
        assert labels[keyword + 1:] == input_ids[keyword + 1:]
        assert input_ids[-1] == tokenizer.eos_token_id
    value_answer = batch["input_ids"][1][-2]
    assert tokenizer.convert_ids_to_tokens(value_answer) == "<steps:5-8>"
    # An answer that cannot fit is dropped rather than truncated into a wrong action.
    assert encode_examples(task, tokenizer, {k: [v] for k, v in record.items()}, 8)["kind"] == [1]


def test_bpe_tokenizer_round_trips_and_keeps_specials_whole():
    from agents.tokenizer import train_tokenizer

    task = TASKS["coq"]
    texts = ["intros n. induction n; simpl; auto.", "forall n : nat, n + 0 = n"] * 20
    tokenizer = train_tokenizer(task, texts, class_tokens=["<class:intros>"], vocab_size=300)
    for text in ("rewrite <- Nat.add_comm at 2.", "∀ x, x ≤ x"):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    assert len(tokenizer("<class:intros>", add_special_tokens=False)["input_ids"]) == 1


def test_model_sizes_have_the_promised_parameter_counts():
    from agents.model import SIZES, build_model, count_parameters, flops_per_token

    counts = {name: count_parameters(build_model(name, 8192, 0, 1)) for name in ("tiny", "small")}
    assert counts["tiny"] < 3e6
    assert 20e6 < counts["small"] < 30e6
    spec = SIZES["base"]  # counted analytically: building it is slow on a CPU
    per_layer = 4 * spec.hidden**2 + 3 * spec.hidden * spec.intermediate + 2 * spec.hidden
    assert per_layer * spec.layers + 8192 * spec.hidden > 100e6
    assert math.isfinite(flops_per_token(build_model("tiny", 100, 0, 1), 256))


def test_scoring_chunks_group_similar_lengths_within_the_attention_budget():
    from agents.policy import _length_chunks

    lengths = [3, 900, 4, 2, 5, 1200]
    chunks = _length_chunks(lengths, width=100, cells=3 * 5 * 105)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(6))
    for chunk in chunks:  # within the budget, or a single action however long
        longest = max(lengths[i] for i in chunk)
        assert len(chunk) == 1 or len(chunk) * longest * (100 + longest) <= 3 * 5 * 105
    # the short ones share a chunk; each long one is alone
    assert [sorted(lengths[i] for i in chunk) for chunk in chunks] == [[2, 3, 4], [5], [900], [1200]]
    assert _length_chunks(lengths, width=100, cells=10**12) == [[3, 0, 2, 4, 1, 5]]
