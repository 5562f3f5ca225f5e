"""Resuming a results folder: which setting changes are refused (fast, no prover)."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from provergym.bench.runner import BenchConfig, BenchError, _check_same_settings


def _recorded(config: BenchConfig) -> dict:
    return json.loads(json.dumps(asdict(config), default=str))


def _write(tmp_path, recorded: dict, drop: tuple[str, ...] = ()) -> None:
    old = {k: v for k, v in recorded.items() if k not in drop}  # an older run's config
    (tmp_path / "config.json").write_text(json.dumps(old))


def test_a_setting_only_the_other_backend_reads_is_no_change(tmp_path):
    coq = BenchConfig(backend="coq", methods=("sauto",), theorems=("a.v:x",),
                      out_dir=str(tmp_path))
    # a Coq run recorded before the Metamath look-ahead and frequency mixture existed
    _write(tmp_path, _recorded(coq), drop=("lemmas", "index_lemmas", "frequency_weight"))
    _check_same_settings(tmp_path, _recorded(coq))
    _check_same_settings(tmp_path, _recorded(replace(coq, lemmas=0, frequency_weight=0.0,
                                                     index_lemmas=8, improve_seconds=1.0)))
    with pytest.raises(BenchError, match=r"hammer_timeout: 10\.0 -> 3\.0"):
        _check_same_settings(tmp_path, _recorded(replace(coq, hammer_timeout=3.0)))


def test_a_metamath_setting_change_is_refused_and_named(tmp_path):
    mm = BenchConfig(backend="metamath", methods=("frequency",), theorems=("a1i",),
                     out_dir=str(tmp_path))
    _write(tmp_path, _recorded(mm), drop=("lemmas", "index_lemmas", "frequency_weight"))
    with pytest.raises(BenchError, match=r"lemmas: 0 -> 32.*index_lemmas: 0 -> 4.*"
                                         r"frequency_weight: 0\.0 -> 0\.5"):
        _check_same_settings(tmp_path, _recorded(mm))
    _check_same_settings(tmp_path, _recorded(replace(mm, lemmas=0, index_lemmas=0,
                                                     frequency_weight=0.0, hammer_timeout=3.0)))
    # a setting since removed: a run made with it on is not resumed
    _write(tmp_path, {**_recorded(mm), "context_terms": 4})
    with pytest.raises(BenchError, match=r"context_terms: 4 -> 0"):
        _check_same_settings(tmp_path, _recorded(mm))
    _write(tmp_path, {**_recorded(mm), "context_terms": 0, "retrieved_steps": 0})
    _check_same_settings(tmp_path, _recorded(mm))
    _write(tmp_path, _recorded(mm))
    with pytest.raises(BenchError, match="backend"):
        _check_same_settings(tmp_path, _recorded(replace(mm, backend="coq", methods=("sauto",))))
