"""The label retriever (retrieval-augmented prompts) and hint prompts, on small data."""

from __future__ import annotations

import pytest

from agents.retrieval import LabelRetriever
from agents.tasks import HINT, PROOFSTEP, TASKS
from agents.train import IGNORE_INDEX, encode_examples

GOALS = ["|- ( ph -> ( ps -> ph ) )", "|- ( ch -> ( th -> ch ) )", "|- ( ph -> ph )",
         "|- ( ps -> ps )", "|- ( ( ph /\\ ps ) -> ph )"]
LABELS = ["ax-1", "ax-1", "id", "id", "simpl"]
GROUPS = ["t1", "t2", "t3", "t4", "t5"]


def test_hints_rank_the_labels_of_similar_goals_first():
    retriever = LabelRetriever.fit(GOALS, LABELS, GROUPS, neighbours=3)
    assert retriever.hints(["|- ( ta -> ( et -> ta ) )"], 2)[0][0] == "ax-1"
    assert retriever.hints(["|- ( ps -> ps )"], 1) == [["id"]]
    hints = retriever.hints(GOALS, 5)
    assert all(len(h) == len(set(h)) <= 5 for h in hints)


def test_a_step_never_sees_its_own_theorem():
    retriever = LabelRetriever.fit(GOALS, LABELS, GROUPS, neighbours=1)
    # alone, the nearest goal of simpl's step is itself; with its theorem left out, not
    assert retriever.hints([GOALS[4]], 1) == [["simpl"]]
    assert retriever.hints([GOALS[4]], 5, exclude=["t5"]) != [["simpl"]]
    assert "simpl" not in retriever.hints([GOALS[4]], 5, exclude=["t5"])[0]


def test_save_and_load_give_the_same_hints(tmp_path):
    retriever = LabelRetriever.fit(GOALS, LABELS, GROUPS)
    retriever.save(tmp_path)
    again = LabelRetriever.load(tmp_path)
    assert again.hints(GOALS, 3) == retriever.hints(GOALS, 3)
    with pytest.raises(FileNotFoundError, match="retriever is missing"):
        LabelRetriever.load(tmp_path / "nowhere")


def test_hints_go_between_the_goal_and_proofstep_and_carry_no_loss():
    from agents.tokenizer import train_tokenizer

    task = TASKS["metamath"]
    tokenizer = train_tokenizer(task, [*GOALS, *LABELS])
    record = {"goal": GOALS[0], "hypotheses": [], "steps_left": 1, "action": "ax-1",
              "hints": ["id", "ax-1"]}
    hint_id = tokenizer.convert_tokens_to_ids(HINT)
    batch = encode_examples(task, tokenizer, {k: [v] for k, v in record.items()}, 64,
                            hint_id=hint_id)
    step_ids, step_labels = batch["input_ids"][0], batch["labels"][0]
    tokens = tokenizer.convert_ids_to_tokens(step_ids)
    assert tokens[-6:] == [HINT, "id", "ax-1", PROOFSTEP, "ax-1", tokenizer.eos_token]
    assert all(label == IGNORE_INDEX for label in step_labels[:-2])
    value_tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][1])
    assert HINT not in value_tokens  # only the proof-step prompt reads hints
    plain = encode_examples(task, tokenizer, {k: [v] for k, v in record.items()}, 64)
    assert HINT not in tokenizer.convert_ids_to_tokens(plain["input_ids"][0])
