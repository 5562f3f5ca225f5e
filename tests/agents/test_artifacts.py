"""A finished run is a Hugging Face model folder with a card, and nothing shared is a pickle:
saved here, reloaded in a fresh process with only ``transformers`` and provergym's public
API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.train import resolve_config, resolve_model_dir, train

REPO = Path(__file__).resolve().parents[2]

FRESH = r"""
import json, sys
from transformers import AutoModelForCausalLM, AutoTokenizer
run = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(run)
tokenizer = AutoTokenizer.from_pretrained(run)
ids = tokenizer("GOAL |- ( ph -> ph ) HINT ax-1 PROOFSTEP", return_tensors="pt").input_ids
out = model.generate(ids, max_new_tokens=3, do_sample=False)
from agents.policy import Policy
policy = Policy.load(run)
print(json.dumps({"type": type(model).__name__, "tokens": ids.shape[1],
                  "generated": out.shape[1] - ids.shape[1],
                  "hints": policy.hints, "proposals": len(policy.propose("|- ( ph -> ph )", 3)),
                  "modules": sorted(m for m in ("sklearn.externals", "pickle") if m in sys.modules)}))
"""


@pytest.mark.slow
def test_a_finished_run_opens_with_from_pretrained_in_a_fresh_process(corpora, tmp_path):
    out = tmp_path / "run"
    config = resolve_config("metamath", "tiny", {
        "data_dir": str(corpora["metamath"]), "out_dir": str(out), "steps": 20,
        "eval_every": 20, "save_every": 20, "progress": False, "cpu_threads": 1,
        "hints": 4})
    before = sorted(str(p) for p in Path(corpora["metamath"]).rglob("*"))
    train(config)
    # training leaves the corpus folder as it was (no .map caches in it)
    assert sorted(str(p) for p in Path(corpora["metamath"]).rglob("*")) == before
    for name in ("config.json", "model.safetensors", "tokenizer.json", "provergym.json",
                 "retriever.json", "retriever.npz", "README.md"):
        assert (out / name).is_file(), name
    # What one shares (the run folder's top, the hf/ folders) holds no pickle.
    shared = [*out.iterdir(), *out.glob("checkpoints/*/hf/*")]
    assert not [p for p in shared if p.suffix in (".pkl", ".pickle", ".bin")], shared
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text())
    assert not {"local_files_only", "is_local"} & set(tokenizer_config)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "library_name: transformers" in card
    assert "GOAL <goal> HINT <label> ... PROOFSTEP <action> <eos>".replace(
        "HINT <label> ...", "[HINT <label> ...]") in card
    assert "valid_loss" in card and "split manifest hash" in card
    done = subprocess.run([sys.executable, "-c", FRESH, str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["type"] == "LlamaForCausalLM" and loaded["generated"] >= 1
    assert loaded["hints"] == 4 and loaded["proposals"] >= 1
    # provergym itself keeps reading the latest checkpoint of a run folder.
    assert resolve_model_dir(out).parent.parent.name == "checkpoints"


def test_the_retriever_round_trips_without_pickle(tmp_path):
    import numpy as np

    from agents.retrieval import FILES, LabelRetriever

    goals = ["|- ( ph -> ph )", "|- ( ps -> ( ph -> ps ) )", "|- ( ( ph -> ps ) -> ph )",
             "wff ( ph -> ps )"]
    retriever = LabelRetriever.fit(goals, ["id", "ax-1", "ax-2", "wi"],
                                   ["t1", "t2", "t3", "t4"], neighbours=3,
                                   steps=["id", "ax-1 {{ ph : ps }}", "ax-2", "wi"])
    retriever.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    with np.load(tmp_path / "retriever.npz", allow_pickle=False) as arrays:  # plain arrays
        assert set(arrays.files) == {"data", "indices", "indptr", "shape", "idf"}
    again = LabelRetriever.load(tmp_path)
    queries = ["|- ( ps -> ps )", "|- ( ph -> ( ps -> ph ) )"]
    assert again.weights(queries) == retriever.weights(queries)
    assert again.hints(queries, 2, exclude=["t1", None]) == \
        retriever.hints(queries, 2, exclude=["t1", None])
    assert again.steps == retriever.steps and again.groups == retriever.groups
    (tmp_path / "retriever.json").write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="retriever.json"):
        LabelRetriever.load(tmp_path)


@pytest.mark.slow
def test_training_logs_to_tensorboard_beside_log_jsonl(corpora, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from agents.train import ConfigError, read_log

    out = tmp_path / "tracked"
    overrides = {"data_dir": str(corpora["metamath"]), "out_dir": str(out), "steps": 20,
                 "eval_every": 10, "save_every": 20, "log_every": 5, "progress": False,
                 "cpu_threads": 1}
    train(resolve_config("metamath", "tiny", overrides))  # trackers "auto"
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    losses = events.Scalars("train/loss")
    logged = read_log(out, "train")
    assert [e.step for e in losses] == [r["step"] for r in logged]
    assert [round(e.value, 4) for e in losses] == [round(r["loss"], 4) for r in logged]
    assert [e.step for e in events.Scalars("eval/valid_loss")] == [10, 20]
    plain = tmp_path / "plain"
    train(resolve_config("metamath", "tiny", {**overrides, "out_dir": str(plain),
                                              "trackers": "none"}))
    assert not (plain / "tensorboard").exists() and read_log(plain, "train")
    with pytest.raises(ConfigError, match="unknown tracker"):
        train(resolve_config("metamath", "tiny", {**overrides, "out_dir": str(tmp_path / "x"),
                                                  "trackers": "nosuch"}))
