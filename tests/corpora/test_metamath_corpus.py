"""The set.mm proof-step corpus: every record re-applies in the environment and yields the
goals of its logical children; the split is deterministic and never leaks; builds resume."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from corpora import metamath as mmcorpus
from corpora.common import SPLITS, load_corpus, read_build_info, read_manifest, shard_root
from provergym.api import Progress, Proved
from provergym.cli import main
from provergym.metamath.database import parse_database
from provergym.metamath.env import MetamathEnv
from provergym.metamath.prooftree import logical_steps, proof_tree
from provergym.paths import METAMATH_DATABASES as DATABASES
from provergym.paths import SET_MM
from provergym.tensorize import metamath_tree_to_sexp

HOL = DATABASES / "hol.mm"
SET = Path(SET_MM)

pytestmark = pytest.mark.slow


def _children_goals(db, theorem, syntax) -> dict[str, list[str]]:
    """goal -> the goals of its logical children, at the goal's first node in pre-order."""
    out: dict[str, list[str]] = {}
    stack = [proof_tree(db, theorem)]
    while stack:
        node = stack.pop()
        children = [c for c in node.children if c.typecode not in syntax]
        out.setdefault(node.expression(), [c.expression() for c in children])
        stack.extend(reversed(children))
    return out


def _check_records(env: MetamathEnv, records: list[dict]) -> None:
    """Each record re-applies: goal_state + step gives the record's children's goals."""
    db, grammar, syntax = env.db, env.grammar, env.syntax_typecodes
    expected_cache: dict[str, dict[str, list[str]]] = {}
    for record in records:
        theorem = db.statements[record["theorem"]]
        if theorem.label not in expected_cache:
            expected_cache[theorem.label] = _children_goals(db, theorem, syntax)
        expected = expected_cache[theorem.label][record["goal"]]
        state = env.goal_state(record["theorem"], record["goal"])
        assert [h.type for h in state.goals[0].hypotheses] == record["hypotheses"]
        result = env.step(state, record["action"])
        where = f"{record['theorem']}: {record['action']} on {record['goal']}"
        if expected:
            assert isinstance(result, Progress), f"{where}: {result}"
            assert [g.conclusion for g in result.state.goals] == expected, where
        else:
            assert isinstance(result, Proved), f"{where}: {result}"
        # The short step (only what unification cannot decide) does exactly the same.
        short = env.step(state, record["step"])
        assert type(short) is type(result), f"{where}: step {record['step']}: {short}"
        if expected:
            assert [g.conclusion for g in short.state.goals] == expected, where
        assert len(record["step"]) <= len(record["action"])
        # The stored tree is the grammar's own parse of the goal.
        symbols = record["goal"].split()
        tree = grammar.parse(symbols[0], symbols[1:], grammar.floats_for(theorem))
        assert record["goal_tree"] == metamath_tree_to_sexp(tree), where
        assert record["steps_left"] >= 1 and record["depth"] >= 0


def _first_occurrences(db, theorem, syntax) -> list[tuple]:
    seen, out = set(), []
    for step in logical_steps(db, proof_tree(db, theorem), syntax):
        if step.goal not in seen:
            seen.add(step.goal)
            out.append((step.goal, step.label, step.substitution, step.steps_left, step.depth))
    return out


def _as_tuples(records: list[dict]) -> list[tuple]:
    return [(r["goal"], r["label"],
             tuple((s["variable"], s["expression"]) for s in r["substitution"]),
             r["steps_left"], r["depth"]) for r in records]


@pytest.fixture(scope="module")
def hol_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("hol") / "metamath-hol"
    mmcorpus.build_corpus(HOL, out, jobs=2, chunk_size=25, progress=False)
    return out


@pytest.fixture(scope="module")
def hol_env():
    return MetamathEnv(HOL)


def test_every_hol_record_reapplies(hol_corpus, hol_env):
    corpus = load_corpus(hol_corpus)
    records = [r for split in SPLITS for r in corpus[split]]
    assert len(records) > 1500
    _check_records(hol_env, records)
    info = read_build_info(hol_corpus)
    assert info["counts"]["theorems"] == 138 and info["failures"] == []
    assert info["counts"]["steps"] == len(records)


def test_records_are_logical_steps_first_occurrences(hol_corpus, hol_env):
    corpus = load_corpus(hol_corpus)
    by_theorem: dict[str, list[dict]] = {}
    for split in SPLITS:
        for record in corpus[split]:
            by_theorem.setdefault(record["theorem"], []).append(record)
    db, syntax = hol_env.db, hol_env.syntax_typecodes
    assert set(by_theorem) == {t.label for t in db.theorems()}
    for theorem in db.theorems():
        assert _as_tuples(by_theorem[theorem.label]) == _first_occurrences(db, theorem, syntax)


def test_hol_split_follows_the_seeded_rule_and_does_not_leak(hol_corpus):
    corpus = load_corpus(hol_corpus)
    theorems = {split: set(corpus[split]["theorem"]) for split in SPLITS}
    assert not theorems["train"] & theorems["test"]
    assert not theorems["train"] & theorems["valid"]
    assert not theorems["valid"] & theorems["test"]
    splitter = mmcorpus.splitter_for("metamath-hol")
    for split, names in theorems.items():
        assert all(splitter(n) == split for n in names)
    assert theorems["valid"] and theorems["test"]


def test_resume_gives_the_same_corpus(hol_corpus, tmp_path):
    out = tmp_path / "metamath-hol"
    mmcorpus.build_corpus(HOL, out, jobs=1, chunk_size=25, progress=False, stop_after=2)
    assert len(list(shard_root(out).glob("*.json"))) == 2 and not (out / "shards").exists()
    assert not (out / "dataset_dict.json").exists()
    mmcorpus.build_corpus(HOL, out, jobs=2, chunk_size=25, progress=False)
    info = read_build_info(out)
    assert info["shards_skipped"] == 2 and info["shards_built"] == 4
    fresh, resumed = load_corpus(hol_corpus), load_corpus(out)
    for split in SPLITS:
        assert fresh[split].to_list() == resumed[split].to_list()


@pytest.mark.parametrize(("path", "theorem_count", "record_count"),
                         [(SET, 60, 200), (DATABASES / "iset.mm", 30, 100)])
def test_big_database_sample_reapplies(path, theorem_count, record_count):
    db = parse_database(path)
    env = MetamathEnv(db)
    extractor = mmcorpus.StepExtractor(db, env.grammar)
    rng = random.Random(4)
    theorems = rng.sample(db.theorems(), theorem_count)
    records = [r for t in theorems for r in extractor.records(t)]
    sample = rng.sample(records, record_count)
    _check_records(env, sample)
    # and the records of a few theorems are logical_steps' first occurrences
    for theorem in theorems[:10]:
        mine = _as_tuples(extractor.records(theorem))
        assert mine == _first_occurrences(db, theorem, env.syntax_typecodes)


def test_committed_set_mm_manifest_is_the_seeded_split():
    manifest = read_manifest(Path(mmcorpus.__file__).parent / "splits" / "metamath")
    assert manifest is not None
    db = parse_database(SET)
    names = [t.label for t in db.theorems()]
    assert set(manifest) == set(names) and len(names) == 37_759
    recomputed = mmcorpus.database_split(db)
    assert {n: s for s, ns in recomputed.items() for n in ns} == dict(manifest)
    for split in ("valid", "test"):
        share = sum(1 for s in manifest.values() if s == split) / len(names)
        assert 0.095 < share < 0.105


def test_cli_build_and_stats(tmp_path, capsys):
    out = tmp_path / "demo0"
    assert main(["corpus", "build", "metamath", "--db", str(DATABASES / "demo0.mm"),
                 "--out", str(out), "--no-progress"]) == 0
    assert main(["corpus", "stats", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "train" in printed and "test" in printed and "records" in printed
    corpus = load_corpus(out)
    assert sum(len(corpus[s]) for s in SPLITS) > 0


def test_cli_bad_database_is_a_clear_error(tmp_path, capsys):
    assert main(["corpus", "build", "metamath", "--db", str(tmp_path / "none.mm"),
                 "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith("provergym: error: no database file")
    bad = tmp_path / "bad.mm"
    bad.write_text("$c wff |- $.\n$v ph $.\nwph $f wff ph $.\nx $p |- ph $= wph $.\n"
                   "oops $q\n")
    assert main(["corpus", "build", "metamath", "--db", str(bad),
                 "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("provergym: error: ") and "bad.mm" in err and "Traceback" not in err


def test_the_corpus_folder_is_exactly_a_dataset_with_a_card(hol_corpus, tmp_path):
    """No shard, cache or staging folder inside: `datasets.load_dataset` reads it as it is,
    in a fresh process, and its card and DatasetInfo say what it is."""
    import subprocess
    import sys

    entries = sorted(p.name for p in hol_corpus.iterdir())
    assert entries == ["README.md", "build_info.json", "dataset_dict.json", "test", "train",
                       "valid"], entries
    card = (hol_corpus / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "pretty_name: hol.mm proof steps" in card
    assert "| train |" in card and "split is by `theorem`" in card
    code = ("import datasets, json, sys; d = datasets.load_dataset(sys.argv[1]); "
            "print(json.dumps({k: len(v) for k, v in d.items()}))")
    done = subprocess.run([sys.executable, "-c", code, str(hol_corpus)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    import json

    sizes = json.loads(done.stdout.strip().splitlines()[-1])
    corpus = load_corpus(hol_corpus)
    assert sizes == {"train": len(corpus["train"]), "validation": len(corpus["valid"]),
                     "test": len(corpus["test"])}
    assert "logical step" in corpus["train"].info.description
