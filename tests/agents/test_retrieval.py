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


def test_a_large_index_ranks_by_the_same_similarities_sparsely(monkeypatch, tmp_path):
    """Past LARGE_INDEX goals, similarities stay sparse and very common features are
    dropped; on goals whose features are all rare enough, the rankings are the dense
    path's, exclusions included, and a saved retriever gives the same hints."""
    import agents.retrieval as retrieval

    rng = __import__("random").Random(3)
    symbols = [f"s{i}" for i in range(60)]
    goals = ["|- " + " ".join(rng.sample(symbols, 5)) for _ in range(300)]
    labels = [f"l{i % 17}" for i in range(300)]
    groups = [f"t{i // 3}" for i in range(300)]
    dense = LabelRetriever.fit(goals, labels, groups, neighbours=4)
    monkeypatch.setattr(retrieval, "LARGE_INDEX", 100)
    monkeypatch.setattr(retrieval, "LARGE_MAX_DF", 1.0)  # keep every feature: same scores
    sparse = LabelRetriever.fit(goals, labels, groups, neighbours=4)
    queries = goals[:40] + ["|- s1 s2 s3"]
    exclude = groups[:40] + [None]

    def rounded(weights):
        return [[(label, round(w, 6)) for label, w in row] for row in weights]
    assert rounded(sparse.weights(queries, exclude)) == rounded(dense.weights(queries, exclude))
    assert sparse.hints(["nothing shared"], 3) == [[]]  # no neighbour at all
    sparse.save(tmp_path)
    assert LabelRetriever.load(tmp_path).hints(queries, 3) == sparse.hints(queries, 3)
    monkeypatch.setattr(retrieval, "LARGE_MAX_DF", 0.05)
    pruned = LabelRetriever.fit(goals, labels, groups, neighbours=4)
    assert len(pruned.vectorizer.vocabulary_) < len(dense.vectorizer.vocabulary_)
    assert pruned.hints([goals[7]], 1) == [[labels[7]]]  # its own goal is still nearest


def test_the_retriever_can_index_the_whole_split_while_training_on_a_sample(tmp_path):
    """retrieval_index="all": hints for the sampled records come from every training step,
    their own theorem still left out."""
    from datasets import Dataset

    from agents.train import ConfigError, TrainConfig, _with_hints

    task = TASKS["metamath"]
    whole = Dataset.from_dict({
        "theorem": GROUPS, "goal": GOALS, "hypotheses": [[] for _ in GOALS],
        "action": LABELS, "step": LABELS, "steps_left": [1] * len(GOALS)})
    sample = whole.select([0, 2])
    retriever, hinted = _with_hints(task, TrainConfig(hints=3, retrieval_index="all"), sample,
                                    tmp_path / "all", whole)
    assert retriever.matrix.shape[0] == len(whole) and len(hinted) == 2
    assert "ax-1" in hinted["hints"][0]  # from t2's step: not in the sample, not t1
    retriever, _ = _with_hints(task, TrainConfig(hints=3), sample, tmp_path / "sample", whole)
    assert retriever.matrix.shape[0] == len(sample)
    with pytest.raises(ConfigError, match="retrieval_index"):
        _with_hints(task, TrainConfig(hints=3, retrieval_index="some"), sample,
                    tmp_path / "bad", whole)


def test_steps_are_kept_beside_the_labels(tmp_path):
    steps = ["ax-1", "ax-1", "syl {{ ps : ph }}", "syl {{ ps : ps }}", "simpl"]
    retriever = LabelRetriever.fit(GOALS, LABELS, GROUPS, neighbours=3, steps=steps)
    assert len(retriever.nearest(["|- ( ps -> ps )"], 2)[0]) == 2
    # the labels (hints) are the same with or without steps; the steps survive a save
    plain = LabelRetriever.fit(GOALS, LABELS, GROUPS, neighbours=3)
    assert plain.hints(GOALS, 3) == retriever.hints(GOALS, 3)
    retriever.save(tmp_path)
    assert LabelRetriever.load(tmp_path).steps == steps
    with pytest.raises(ValueError, match="4 steps for 5 goals"):
        LabelRetriever.fit(GOALS, LABELS, GROUPS, steps=steps[:4])
