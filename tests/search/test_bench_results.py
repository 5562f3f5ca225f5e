"""Reading a bench's results.jsonl and config.json: a line cut off by a kill is skipped,
with a warning, and a resumed run appends on a line of its own; anything else that is not
a result is an error naming the file and line (fast; no prover is driven)."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from provergym.bench import runner
from provergym.bench.runner import (
    BenchConfig,
    BenchError,
    _check_same_settings,
    read_results,
    run_bench,
)
from provergym.search.bestfirst import SearchConfig
from provergym.search.result import EXHAUSTED, SearchResult, SearchStats

HOL = "/usr/share/metamath/databases/hol.mm"


def _line(theorem: str) -> str:
    result = SearchResult(theorem, EXHAUSTED, message="nothing left",
                          stats=SearchStats(1, 1, 0, 0, 0.1, 0.0, 0.0))
    return json.dumps({"method": "frequency", "theorem": theorem,
                       "result": result.to_json(with_tree=False)}) + "\n"


def test_binary_results_name_the_file_and_line(tmp_path):
    (tmp_path / "results.jsonl").write_bytes(_line("simpl").encode() + b"\x1f\x8b\x08\x00\n")
    with pytest.raises(BenchError, match=rf"^{tmp_path}/results.jsonl:2: not UTF-8 text"):
        read_results(tmp_path)


def test_a_resumed_run_does_not_glue_its_first_line_onto_a_cut_one(tmp_path, monkeypatch,
                                                                    capsys):
    def attempt(config, method, theorem):
        return SearchResult(theorem, EXHAUSTED, message="nothing left",
                            stats=SearchStats(1, 1, 0, 0, 0.1, 0.0, 0.0))

    monkeypatch.setattr(runner, "_attempt", attempt)
    results = tmp_path / "results.jsonl"
    results.write_text(_line("simpl") + _line("simpr")[:40])  # killed while writing simpr
    config = BenchConfig(backend="metamath", methods=("frequency",),
                         theorems=("simpl", "simpr", "dedi"), out_dir=str(tmp_path), db=HOL,
                         search=SearchConfig(expansions=4), progress=False)
    run_bench(config)
    assert f"{results}:2: skipped the last line, cut off" in capsys.readouterr().err
    assert [line["theorem"] for line in read_results(tmp_path)] == ["simpl", "simpr", "dedi"]
    assert results.read_text().count("\n") == 3

    results.write_text(_line("simpl") + _line("simpr").rstrip("\n"))  # complete, no newline
    run_bench(config)
    assert [line["theorem"] for line in read_results(tmp_path)] == ["simpl", "simpr", "dedi"]
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("text", [b"\xff\xfe{}", b'{"backend": "meta', b"[1]"])
def test_an_unreadable_config_is_not_compared_and_is_named(tmp_path, capsys, text):
    config = tmp_path / "config.json"
    config.write_bytes(text)
    recorded = json.loads(json.dumps(asdict(BenchConfig(
        backend="metamath", methods=("frequency",), theorems=("a1i",),
        out_dir=str(tmp_path))), default=str))
    _check_same_settings(tmp_path, recorded)
    assert f"warning: {config}: not a readable bench config (" in capsys.readouterr().err
