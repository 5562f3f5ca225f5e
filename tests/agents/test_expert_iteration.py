"""Expert iteration's agents side: value-only records and the unproved label, extra
training data, fine-tuning from another run, and the value's calibration."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import shutil
from pathlib import Path

import pytest

from agents.tasks import STEP_BUCKET_LABELS, TASKS, UNPROVED_LABEL, VALUE, count_unproved
from agents.train import (
    ConfigError,
    DataError,
    TrainConfig,
    _with_hints,
    apply_overrides,
    encode_examples,
    latest_checkpoint,
    read_log,
    resolve_config,
    resume_config,
    tokenizer_texts,
    train,
    training_split,
)

METAMATH = TASKS["metamath"]
# The Metamath task as it was before the unproved label: what old models were trained with.
OLD_METAMATH = dataclasses.replace(METAMATH, value_labels=STEP_BUCKET_LABELS,
                                   unproved_label=None)


def value_only_record(goal: str, theorem: str = "found0") -> dict:
    """A goal search expanded without proving, as a round writes it."""
    return {"theorem": theorem, "goal": goal, "goal_tree": "", "hypotheses": [], "label": "",
            "substitution": [], "action": "", "step": "", "steps_left": -1, "depth": 2}


def build_round(directory: Path, proved: int = 24, unproved: int = 16, seed: int = 7) -> Path:
    """A round's dataset: the Metamath corpus's exact features plus ``round``."""
    from datasets import Dataset, DatasetDict, Features, Value

    from agents.synthetic import metamath_record
    from corpora.metamath import features

    rng = random.Random(seed)
    records = [{**metamath_record(rng, f"found{i}"), "goal_tree": ""} for i in range(proved)]
    records += [value_only_record(f"|- ( ph -> ( ps -> ch{i % 3} ) )", f"found{i}")
                for i in range(unproved)]
    schema = Features({**features(), "round": Value("int32")})
    rows = [{**r, "round": 1} for r in records]
    DatasetDict({"train": Dataset.from_list(rows, features=schema)}).save_to_disk(str(directory))
    return directory


# ----------------------------------------------------------------------- the label


def test_the_unproved_label_is_metamath_s_last_value_label_and_rewrite_keeps_its_own():
    assert METAMATH.value_labels == (*STEP_BUCKET_LABELS, UNPROVED_LABEL) == (
        *STEP_BUCKET_LABELS, "<steps:none>")
    assert METAMATH.unproved_label == UNPROVED_LABEL
    assert len(METAMATH.value_scores) == len(STEP_BUCKET_LABELS)
    assert TASKS["rewrite"].value_labels == STEP_BUCKET_LABELS
    assert TASKS["rewrite"].unproved_label is None
    with pytest.raises(ValueError, match="must be the last"):
        dataclasses.replace(METAMATH, value_labels=(UNPROVED_LABEL, *STEP_BUCKET_LABELS))


def test_a_value_only_record_encodes_to_one_value_sequence():
    from agents.tokenizer import train_tokenizer

    record = value_only_record("|- ( ph -> ps )")
    example = METAMATH.to_example(record)
    assert (example.action, example.value_label) == ("", UNPROVED_LABEL)
    tokenizer = train_tokenizer(METAMATH, ["|- ( ph -> ps )", "ax-1"])
    batch = encode_examples(METAMATH, tokenizer, {k: [v] for k, v in record.items()}, 64)
    assert len(batch["input_ids"]) == 1  # no PROOFSTEP: the action is empty
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    assert tokens[-3:] == [VALUE, UNPROVED_LABEL, tokenizer.eos_token]
    assert batch["labels"][0][-2] == tokenizer.convert_tokens_to_ids(UNPROVED_LABEL)
    # a proved record beside it still gives both prompts
    proved = {**record, "label": "ax-1", "action": "ax-1", "step": "ax-1", "steps_left": 1}
    both = encode_examples(METAMATH, tokenizer,
                           {k: [proved[k], record[k]] for k in record}, 64)
    assert len(both["input_ids"]) == 3


def test_value_only_records_are_not_tokenizer_actions_nor_retriever_steps(tmp_path):
    from datasets import Dataset

    goals = ["|- ( ph -> ( ps -> ph ) )", "|- ( ph -> ph )", "|- ( ph -> ( ps -> ch ) )"]
    rows = [{"theorem": "t1", "goal": goals[0], "hypotheses": [], "action": "ax-1",
             "step": "ax-1", "steps_left": 1},
            {"theorem": "t2", "goal": goals[1], "hypotheses": [], "action": "id",
             "step": "id", "steps_left": 5},
            {"theorem": "t3", "goal": goals[2], "hypotheses": [], "action": "", "step": "",
             "steps_left": -1}]
    dataset = Dataset.from_list(rows)
    assert count_unproved(METAMATH, dataset) == 1
    assert count_unproved(TASKS["rewrite"], dataset) == 0
    assert list(tokenizer_texts(METAMATH, dataset)) == [goals[0], "ax-1", goals[1], "id",
                                                        goals[2]]
    retriever, hinted = _with_hints(METAMATH, TrainConfig(hints=2), dataset, tmp_path)
    assert retriever.labels == ["ax-1", "id"] and retriever.steps == ["ax-1", "id"]
    assert hinted["hints"][2] == []  # no PROOFSTEP prompt to put hints in
    assert hinted["hints"][0] == ["id"]  # its own theorem left out


# ------------------------------------------------------------------ extra training data


def test_extra_data_is_a_typed_config_key():
    config = apply_overrides(TrainConfig(), {"extra_data": "round1, round2,"})
    assert config.extra_data == ("round1", "round2")
    assert apply_overrides(TrainConfig(), {"extra_data": ["a"]}).extra_data == ("a",)
    assert apply_overrides(TrainConfig(), {"extra_data": ""}).extra_data == ()
    with pytest.raises(ConfigError, match="wants a list of strings"):
        apply_overrides(TrainConfig(), {"extra_data": [1]})
    assert apply_overrides(TrainConfig(), {"init_from": "runs/r0"}).init_from == "runs/r0"


def test_extra_data_survives_the_saved_config(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    saved = resolve_config("metamath", "tiny", {"out_dir": str(out), "data_dir": "corpus",
                                                 "extra_data": ("r1", "r2"),
                                                 "init_from": "r0"})
    (out / "train_config.json").write_text(json.dumps(dataclasses.asdict(saved)))
    resumed = resume_config("metamath", "tiny", {"out_dir": str(out)})
    assert resumed == saved and resumed.extra_data == ("r1", "r2")


def test_extra_train_splits_join_the_corpus_s_with_its_columns(corpora, tmp_path):
    from datasets import load_from_disk

    main = load_from_disk(str(corpora["metamath"]))["train"]
    extra = build_round(tmp_path / "round1", proved=5, unproved=3)
    joined = training_split(METAMATH, main, [str(extra)])
    assert len(joined) == len(main) + 8
    # round (and goal_tree) dropped; always_value marks the extra records
    assert joined.column_names == [*main.column_names, "always_value"]
    assert joined["always_value"] == [False] * len(main) + [True] * 8
    assert joined[len(main)]["theorem"] == "found0"
    assert count_unproved(METAMATH, joined) == 3
    assert training_split(METAMATH, main, ()) is main


def test_extra_data_of_another_schema_is_a_data_error_naming_the_folder(corpora, tmp_path):
    from datasets import Dataset, DatasetDict, load_from_disk

    main = load_from_disk(str(corpora["metamath"]))["train"]
    records = load_from_disk(str(build_round(tmp_path / "good", 3, 1)))["train"]
    DatasetDict({"train": records.remove_columns(["step"])}).save_to_disk(
        str(tmp_path / "short"))
    with pytest.raises(DataError, match=r"extra data .*short: .*lacks .*column\(s\) step"):
        training_split(METAMATH, main, [str(tmp_path / "short")])
    wrong = records.remove_columns(["steps_left"]).add_column("steps_left", ["many"] * 4)
    DatasetDict({"train": wrong}).save_to_disk(str(tmp_path / "wrong"))
    with pytest.raises(DataError, match=r"extra data .*wrong does not fit"):
        training_split(METAMATH, main, [str(tmp_path / "wrong")])
    Dataset.from_list([{"a": 1}]).save_to_disk(str(tmp_path / "bare"))
    with pytest.raises(DataError, match=r"bare must hold a DatasetDict.*extra_data"):
        training_split(METAMATH, main, [str(tmp_path / "bare")])
    with pytest.raises(DataError, match=r"no metamath corpus at .*missing"):
        training_split(METAMATH, main, [str(tmp_path / "missing")])


# ------------------------------------------------------------------ value calibration


class FixedScores:
    """A stand-in policy whose ``provable`` reads a table."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table

    def provable(self, goals):
        return [self.table[g] for g in goals]


def test_value_calibration_with_fixed_scores():
    from agents.evaluate import roc_auc, value_calibration

    scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.2]
    labels = [1, 1, 0, 1, 0, 0]
    goals = [f"g{i}" for i in range(6)]
    policy = FixedScores(dict(zip(goals, scores)))
    # positives beat negatives in 8 of 9 pairs (0.6 < 0.7); 5 of 6 right at 0.5
    assert value_calibration(policy, goals, labels, batch_size=4) == {
        "auc": pytest.approx(8 / 9), "accuracy": pytest.approx(5 / 6), "majority": 0.5, "n": 6}
    assert roc_auc([0.5, 0.5, 0.1], [1, 0, 0]) == pytest.approx(0.75)  # a tie counts half
    assert roc_auc([0.1, 0.2, 0.3], [1, 0, 0]) == 0.0
    assert roc_auc([0.3, 0.2, 0.1], [1, 1, 0]) == 1.0
    skewed = value_calibration(FixedScores({"a": 0.4, "b": 0.6, "c": 0.7}), ["a", "b", "c"],
                               [1, 1, 1])
    assert math.isnan(skewed["auc"]) and skewed["majority"] == 1.0
    assert skewed["accuracy"] == pytest.approx(2 / 3)
    assert value_calibration(policy, [], [])["n"] == 0
    with pytest.raises(ValueError, match="2 goals for 1 labels"):
        value_calibration(policy, goals[:2], [1])


# ----------------------------------------------------------------------- old models


def _old_model(directory: Path) -> Path:
    """A model folder as one trained before the unproved label: its tokenizer lacks it
    (random weights: only the scoring is under test)."""
    from agents.model import build_model
    from agents.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(OLD_METAMATH, ["|- ( ph -> ps )", "ax-1 id ax-mp"])
    model = build_model("tiny", len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    (directory / "provergym.json").write_text(json.dumps({
        "task": "metamath", "size": "tiny", "step": 0, "class_tokens": [], "hints": 0,
        "value_labels": list(STEP_BUCKET_LABELS)}))
    return directory


def test_a_model_without_the_unproved_label_keeps_its_old_value(tmp_path):
    from agents.policy import Policy

    policy = Policy.load(_old_model(tmp_path / "old"), device="cpu")
    assert policy.value_labels == STEP_BUCKET_LABELS and not policy.has_provable
    goals = ["|- ( ph -> ps )", "|- ps"]
    for goal, value in zip(goals, policy.values(goals)):
        distribution = policy.value_distribution(goal)
        assert list(distribution) == list(STEP_BUCKET_LABELS)
        expected = sum(distribution[label] * score
                       for label, score in zip(STEP_BUCKET_LABELS, METAMATH.value_scores))
        assert value == pytest.approx(expected, abs=1e-6)
        assert -math.log2(48.0) <= value <= 0.0
    with pytest.raises(ConfigError, match="no <steps:none> value label"):
        policy.provable(goals)


# ------------------------------------------------------------- training, for real (CPU)


def _config(corpora, out: Path, **overrides):
    return resolve_config("metamath", "tiny", {
        "data_dir": str(corpora["metamath"]), "out_dir": str(out), "steps": 30,
        "log_every": 1, "eval_every": 1000, "save_every": 1000, "progress": False,
        "cpu_threads": 1, "hints": 2, **overrides})


@pytest.fixture(scope="module")
def round_zero(corpora, tmp_path_factory):
    """A model trained on the corpus plus one round's found proofs and negatives."""
    root = tmp_path_factory.mktemp("iterate")
    extra = build_round(root / "round1")
    config = _config(corpora, root / "round0", extra_data=(str(extra),))
    train(config)
    return config, extra


def test_training_reads_the_extra_data(round_zero, corpora, tmp_path):
    from datasets import load_from_disk

    from agents.retrieval import LabelRetriever

    config, extra = round_zero
    plain = _config(corpora, tmp_path / "plain", steps=1)
    train(plain)
    sequences = read_log(config.out_dir, "start")[0]["train_sequences"]
    alone = read_log(plain.out_dir, "start")[0]["train_sequences"]
    # each found proof step gives two sequences (PROOFSTEP, VALUE), each negative one
    assert sequences == alone + 24 * 2 + 16
    retriever = LabelRetriever.load(config.out_dir)
    corpus_steps = len(load_from_disk(str(corpora["metamath"]))["train"])
    assert len(retriever.labels) == corpus_steps + 24  # the found steps; no empty one
    assert "" not in retriever.labels and "found3" in retriever.groups
    saved = json.loads((Path(config.out_dir) / "train_config.json").read_text())
    assert saved["extra_data"] == [str(extra)]


def test_extra_records_survive_the_sample_and_always_give_a_value_sequence(round_zero,
                                                                           corpora, tmp_path):
    config, extra = round_zero
    # a small sample of the corpus, and VALUE for a tenth of the corpus's records only
    sampled = _config(corpora, tmp_path / "sampled", steps=1, max_train_records=10,
                      value_share=0.1, extra_data=(str(extra),))
    train(sampled)
    alone = _config(corpora, tmp_path / "alone", steps=1, max_train_records=10,
                    value_share=0.1)
    train(alone)
    with_extra = read_log(sampled.out_dir, "start")[0]["train_sequences"]
    without = read_log(alone.out_dir, "start")[0]["train_sequences"]
    # all 24 found steps give PROOFSTEP and VALUE, all 16 negatives their VALUE
    assert with_extra == without + 24 * 2 + 16


def test_a_new_model_values_goals_by_the_probability_they_are_provable(round_zero):
    from agents.evaluate import value_calibration
    from agents.policy import Policy

    config, _ = round_zero
    policy = Policy.load(config.out_dir, device="cpu")
    assert policy.has_provable and policy.value_labels[-1] == UNPROVED_LABEL
    meta = json.loads((latest_checkpoint(config.out_dir) / "hf" / "provergym.json").read_text())
    assert meta["value_labels"][-1] == UNPROVED_LABEL
    goals = ["|- ( ph -> ( ps -> ch1 ) )", "|- ( ph -> ( ps -> ph ) )", "|- ( ph -> ph )"]
    provable = policy.provable(goals)
    assert all(0.0 <= p <= 1.0 for p in provable)
    assert policy.values(goals) == pytest.approx([math.log(p) for p in provable], abs=1e-5)
    distribution = policy.value_distribution(goals[0])
    assert sum(distribution.values()) == pytest.approx(1.0)
    assert provable[0] == pytest.approx(1 - distribution[UNPROVED_LABEL], abs=1e-5)
    report = value_calibration(policy, goals, [0, 1, 1])
    assert report["n"] == 3 and 0.0 <= report["auc"] <= 1.0


def test_init_from_starts_from_the_init_run_and_resumes_its_own_run(round_zero, corpora,
                                                                    tmp_path):
    from agents.tokenizer import load_tokenizer

    config, _ = round_zero
    # the init model as a checkpoint folder elsewhere, gone before the resume
    init = tmp_path / "init-checkpoint"
    shutil.copytree(latest_checkpoint(config.out_dir), init)
    tuned = _config(corpora, tmp_path / "tuned", steps=4, save_every=2, init_from=str(init))
    scratch = _config(corpora, tmp_path / "scratch", steps=2)
    train(tuned)
    train(scratch)
    first_tuned = read_log(tuned.out_dir)[0]["loss"]
    first_scratch = read_log(scratch.out_dir)[0]["loss"]
    # the same first batch (same seed and data): the trained weights score it far better
    assert first_tuned < 0.7 * first_scratch
    init_vocab = load_tokenizer(init / "hf").get_vocab()
    assert load_tokenizer(Path(tuned.out_dir) / "tokenizer").get_vocab() == init_vocab
    assert (Path(tuned.out_dir) / "retriever.json").is_file()  # refit on this run's data
    assert read_log(tuned.out_dir, "start")[0]["config"]["init_from"] == str(init)

    shutil.rmtree(init)
    resumed = resume_config("metamath", "tiny", {"out_dir": tuned.out_dir, "steps": 6})
    assert resumed.init_from == str(init)
    train(resumed, resume=True)
    assert [e["step"] for e in read_log(tuned.out_dir, "resume")] == [4]
    assert [r["step"] for r in read_log(tuned.out_dir)] == list(range(1, 7))


def test_init_from_a_model_without_the_unproved_label_fails_clearly(round_zero, corpora,
                                                                    tmp_path):
    old = _old_model(tmp_path / "old")
    with pytest.raises(ConfigError, match=r"predates the <steps:none> .*new round-0 model"):
        train(_config(corpora, tmp_path / "a", init_from=str(old)))
    with pytest.raises(ConfigError, match="init_from: no trained model"):
        train(_config(corpora, tmp_path / "b", init_from=str(tmp_path / "nowhere")))
    config, _ = round_zero
    with pytest.raises(ConfigError, match="is a metamath/tiny model, this run is "
                                          "metamath/small"):
        train(dataclasses.replace(_config(corpora, tmp_path / "c", init_from=config.out_dir),
                                  size="small"))
