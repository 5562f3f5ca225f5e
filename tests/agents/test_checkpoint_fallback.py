"""Finding the checkpoint to resume from when ``checkpoints/latest.json`` is missing,
corrupted, or names a checkpoint that is gone: the newest complete one, said on stderr
(fake checkpoint folders, then one tiny run that really resumes: about 4 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.train import latest_checkpoint, read_log, resolve_config, resume_config, train


def _checkpoint(out: Path, step: int, complete: bool = True) -> Path:
    path = out / "checkpoints" / f"step-{step:08d}"
    (path / "hf").mkdir(parents=True)
    (path / "meta.json").write_text(json.dumps({"step": step, "samples": step}))
    if complete:
        (path / "hf" / "provergym.json").write_text("{}")
    return path


def _point(out: Path, payload: bytes) -> Path:
    pointer = out / "checkpoints" / "latest.json"
    pointer.write_bytes(payload)
    return pointer


def test_an_intact_pointer_rules_and_nothing_is_said(tmp_path, capsys):
    _checkpoint(tmp_path, 10)
    newest = _checkpoint(tmp_path, 20)
    _checkpoint(tmp_path, 5)
    _point(tmp_path, json.dumps({"name": "step-00000010", "step": 10}).encode())
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "step-00000010"
    assert capsys.readouterr().err == ""
    assert latest_checkpoint(tmp_path / "fresh") is None  # a new run: no folder, nothing said
    assert capsys.readouterr().err == ""
    assert newest.is_dir()


@pytest.mark.parametrize("payload", [b'{"name": "step-000', b"\x00\xff\x80binary", b"[]",
                                     b'{"step": 20}', b'{"name": 7}'])
def test_a_corrupted_pointer_falls_back_to_the_newest_complete_checkpoint(tmp_path, capsys,
                                                                           payload):
    _checkpoint(tmp_path, 10)
    newest = _checkpoint(tmp_path, 20)
    _checkpoint(tmp_path, 30, complete=False)  # cut off while it was written
    pointer = _point(tmp_path, payload)
    assert latest_checkpoint(tmp_path) == newest
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {pointer} is unreadable ("), err
    assert f"using the newest complete checkpoint, {newest}" in err


def test_a_pointer_to_a_deleted_checkpoint_falls_back_to_an_older_one(tmp_path, capsys):
    older = _checkpoint(tmp_path, 10)
    pointer = _point(tmp_path, json.dumps({"name": "step-00000020", "step": 20}).encode())
    assert latest_checkpoint(tmp_path) == older
    assert capsys.readouterr().err == (
        f"warning: {pointer} names step-00000020, which is gone or incomplete; using the "
        f"newest complete checkpoint, {older}\n")


def test_a_missing_pointer_beside_checkpoints_falls_back(tmp_path, capsys):
    newest = _checkpoint(tmp_path, 10)  # a kill between the rename and the pointer
    assert latest_checkpoint(tmp_path) == newest
    assert "checkpoints/latest.json is missing; using" in capsys.readouterr().err


def test_no_complete_checkpoint_gives_none_and_says_why(tmp_path, capsys):
    _checkpoint(tmp_path, 10, complete=False)
    pointer = _point(tmp_path, b"{")
    assert latest_checkpoint(tmp_path) is None
    assert capsys.readouterr().err.startswith(f"warning: {pointer} is unreadable (")


def test_resume_after_latest_json_is_corrupted_continues_from_the_newest(corpora, tmp_path,
                                                                         capsys):
    out = tmp_path / "run"
    config = resolve_config("rewrite", "tiny", {
        "data_dir": str(corpora["rewrite"]), "out_dir": str(out), "steps": 4,
        "log_every": 1, "eval_every": 100, "save_every": 2, "progress": False,
        "cpu_threads": 1})
    train(config)
    pointer = _point(out, b'{"name": "step-0000')  # a disk that lost the end of a write
    resumed = train(resume_config("rewrite", "tiny", {"out_dir": str(out), "steps": 6}),
                    resume=True)
    assert resumed.step == 6
    assert f"warning: {pointer} is unreadable (" in capsys.readouterr().err
    assert [e["step"] for e in read_log(out, "resume")] == [4]
    assert [r["step"] for r in read_log(out)] == [1, 2, 3, 4, 5, 6]
    assert json.loads(pointer.read_text())["name"] == "step-00000006"
