"""A corpus of bad inputs through every subcommand: each ends with one ``provergym: error:``
line naming what is wrong, the documented exit code (2: bad input or usage; 1: a proof or
check that ran and failed), and no traceback.

The calls run :func:`provergym.cli.main` in this process (a traceback would be an exception
here, and fail the test); ``tests/test_cli.py`` runs a few of them as a user would, in a
fresh interpreter."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from provergym import cli

HOL = "/usr/share/metamath/databases/hol.mm"
DEMO0 = "/usr/share/metamath/databases/demo0.mm"
REPO = Path(__file__).resolve().parents[1]
SMALL_V = str(REPO / "tests" / "coq" / "fixtures" / "small.v")


@pytest.fixture()
def inputs(tmp_path: Path, monkeypatch) -> Path:
    """A folder of bad inputs; the calls run in it, with their own PROVERGYM_HOME."""
    (tmp_path / "binary.dat").write_bytes(bytes(range(128, 256)) * 8)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "broken.mm").write_text("$c wff |- $.\n$v p $.\nwp $f wff p $.\n"
                                        "ax $a |- p $.\nth $p |- p $= ax ax $.\n",
                                        encoding="utf-8")
    (tmp_path / "unclosed.mm").write_text("$c wff $.\n${ $( never closed\n", encoding="utf-8")
    (tmp_path / "NoLemma.v").write_text("Lemma x : True.\nProof.\nexact I\nQed.\n",
                                        encoding="utf-8")
    (tmp_path / "results.jsonl").write_text('{"theorem": "x", "result": 3}\n',
                                            encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path / "home"))
    handler = signal.getsignal(signal.SIGTERM)  # bench installs its own
    yield tmp_path
    signal.signal(signal.SIGTERM, handler)


# (arguments, exit code, fragments the error line must hold)
CASES = [
    # mm
    (["mm", "verify", "missing.mm"], 2, ["missing.mm", "No such file"]),
    (["mm", "verify", "binary.dat"], 2, ["binary.dat", "non-ASCII byte"]),
    (["mm", "verify", "empty_dir"], 2, ["empty_dir"]),
    (["mm", "verify", "unclosed.mm"], 2, ["unclosed.mm"]),
    (["mm", "verify", "broken.mm"], 1, []),
    (["mm", "replay", "binary.dat", "th"], 2, ["binary.dat"]),
    (["mm", "replay", DEMO0, "no_such_label"], 2, ["no_such_label"]),
    # coq (nothing here reaches Coq: the files are refused before)
    (["coq", "replay", "--no-progress", "missing.v"], 2, ["missing.v", "no such file"]),
    (["coq", "replay", "--no-progress", "binary.dat"], 2, ["binary.dat"]),
    (["coq", "replay", "--no-progress", "empty_dir"], 2, ["empty_dir", "no .v file"]),
    (["coq", "hammer", "binary.dat"], 2, ["binary.dat", "not a UTF-8"]),
    (["coq", "hammer", "NoLemma.v"], 2, ["NoLemma.v", "no lemma with a proof"]),
    (["coq", "hammer", "missing.v"], 2, ["missing.v", "no such file"]),
    # prove
    (["prove", "nope", "--db", HOL], 2, [HOL, "no $p statement labelled 'nope'"]),
    (["prove", "x", "--db", "binary.dat"], 2, ["binary.dat"]),
    (["prove", "ax-mp", "--db", HOL], 2, ["ax-mp"]),
    (["prove", "x", "--db", HOL, "--method", "nosuch"], 2, ["nosuch"]),
    (["prove", "x", "--db", HOL, "--model", "empty_dir", "--method", "frequency"], 2,
     ["--method frequency does not use a model"]),
    (["prove", "idi", "--db", HOL, "--model", "empty_dir"], 2, ["empty_dir"]),
    (["prove", "x", "--backend", "coq"], 2, ["--file"]),
    (["prove", "x", "--backend", "coq", "--file", "binary.dat"], 2, ["binary.dat"]),
    # bench
    (["bench", "--theorems", "missing.txt"], 2, ["missing.txt"]),
    (["bench", "--theorems", "binary.dat"], 2, ["binary.dat:1", "not UTF-8"]),
    (["bench", "--theorems", "empty.txt", "--db", HOL], 2, ["no theorems"]),
    (["bench", "--db", "binary.dat"], 2, ["binary.dat"]),
    # iterate
    (["iterate"], 2, ["--model"]),
    (["iterate", "--model", "empty_dir"], 2, ["empty_dir", "not a trained run folder"]),
    (["iterate", "--backend", "coq", "--data", "missing"], 2, ["missing", "corpus"]),
    # export, report
    (["export", "--results", "missing.jsonl", "--out", "x"], 2, ["missing.jsonl"]),
    (["export", "--results", "binary.dat", "--out", "x"], 2, ["binary.dat:1"]),
    (["export", "--results", "results.jsonl", "--out", "x"], 2, ["results.jsonl:1"]),
    (["report", "--run", "empty_dir"], 2, ["empty_dir", "no results.jsonl"]),
    (["report"], 2, ["--run"]),
    # train, eval
    (["train", "--task", "metamath", "--set", "no_such_key=1"], 2, ["no_such_key"]),
    (["train", "--task", "metamath", "--set", "steps=many"], 2, ["steps"]),
    (["train", "--task", "metamath", "--set", "data_dir=missing"], 2, ["missing"]),
    (["eval", "--model", "empty_dir"], 2, ["empty_dir", "no trained model"]),
    (["eval", "--model", "binary.dat"], 2, ["binary.dat"]),
    # corpus
    (["corpus", "build", "metamath", "--db", "binary.dat"], 2, ["binary.dat"]),
    (["corpus", "build", "coq", "--files", "missing.v"], 2, ["missing.v"]),
    (["corpus", "build", "coq", "--files", "binary.dat"], 2,
     ["binary.dat", "nothing was saved"]),
    (["corpus", "build", "rewrite", "--out", "binary.dat"], 2, ["binary.dat"]),
    (["corpus", "stats", "nope"], 2, ["no built corpus", "nope"]),
]


@pytest.mark.parametrize("args,code,fragments", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_gives_one_error_line_and_the_documented_code(inputs, capsys, args, code,
                                                                 fragments) -> None:
    returned = cli.main(args)
    err = capsys.readouterr().err
    assert returned == code, err
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert last.startswith("provergym: error: "), err
    for fragment in fragments:
        assert fragment in last, last


USAGE = [
    ["no-such-command"], ["bench", "--no-such-flag"], ["train"], ["train", "--task", "x"],
    ["prove"], ["coq"], ["coq", "replay"], ["mm", "verify"], ["corpus", "build"],
    ["bench", "--jobs", "many"], ["export", "--results", "r.jsonl"],
]


@pytest.mark.parametrize("args", USAGE, ids=[" ".join(a) for a in USAGE])
def test_usage_errors_exit_2(inputs, capsys, args) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.slow
def test_coq_file_that_coq_refuses_exits_2_naming_the_lemma(inputs, capsys) -> None:
    """The one case here that runs Coq: a lemma that does not load is an error (2)."""
    half = inputs / "Half.v"
    half.write_text("Lemma bad : (( True.\nProof. exact I. Qed.\n", encoding="utf-8")
    assert cli.main(["prove", "bad", "--backend", "coq", "--file", str(half)]) == 2
    err = capsys.readouterr().err
    assert "Half.v" in err and "Syntax error" in err, err


def _parsers():
    import argparse

    def walk(parser, prefix):
        yield prefix, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*prefix, name])
    yield from walk(cli.build_parser(), [])


def test_every_command_has_a_description_and_every_option_a_help() -> None:
    import argparse

    missing = []
    for prefix, parser in _parsers():
        if prefix and not parser.description:
            missing.append(" ".join(prefix) + ": no description")
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.help is None:
                missing.append(f"{' '.join(prefix)} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_defaults_are_shown_in_help() -> None:
    helps = {" ".join(prefix): parser.format_help() for prefix, parser in _parsers()}
    assert "(default: 16)" in helps["demo"]  # --budget
    assert "(default: 2)" in helps["corpus build coq"]  # --jobs


# (command, old spelling and its value, the new spelling the warning names)
RENAMED = [
    (["demo", "--theorems", "10", "--help"], "--theorems", "--first"),
    (["corpus", "build", "metamath", "--limit", "10", "--help"], "--limit", "--first"),
    (["corpus", "build", "coq", "--limit", "1", "--help"], "--limit", "--max-files"),
    (["corpus", "build", "rewrite", "--chunk", "5", "--help"], "--chunk", "--chunk-size"),
    (["coq", "hammer", "x.v", "--timeout", "3", "--help"], "--timeout", "--hammer-timeout"),
    (["coq", "hammer", "x.v", "--export", "d", "--help"], "--export", "--out"),
    (["mm", "replay", "x.mm", "--export", "d", "--help"], "--export", "--out"),
    (["eval", "--database", "x.mm", "--help"], "--database", "--db"),
]


@pytest.mark.parametrize("args,old,new", RENAMED, ids=[r[1] + "->" + r[2] for r in RENAMED])
def test_old_spellings_still_work_with_a_warning(capsys, args, old, new) -> None:
    with pytest.raises(SystemExit):  # --help after the old option: parsed, then help
        cli.main(args)
    err = capsys.readouterr().err
    assert f"{old} is deprecated, use {new}" in err


def test_an_old_spelling_reaches_the_same_setting(inputs, capsys) -> None:
    assert cli.main(["report", "--out", "empty_dir"]) == 2  # the old --out of report
    err = capsys.readouterr().err
    assert "--out is deprecated, use --run" in err and "empty_dir: no results.jsonl" in err
    assert cli.main(["coq", "replay", "--quiet", "empty_dir"]) == 2
    assert "--quiet is deprecated, use --no-progress" in capsys.readouterr().err


def test_every_train_setting_has_a_typed_flag(monkeypatch) -> None:
    """No TrainConfig field hides behind --set: each has a flag, and the flag reaches the
    config (run_train's overrides, read back through resolve_config)."""
    import dataclasses

    from agents import cli as agents_cli
    from agents.train import TrainConfig

    parser = cli.build_parser()
    train_help = next(p for prefix, p in _parsers() if prefix == ["train"]).format_help()
    for field in dataclasses.fields(TrainConfig):
        flag = {"data_dir": "--data", "out_dir": "--out", "progress": "--no-progress",
                "task": "--task", "size": "--size"}.get(field.name,
                                                       "--" + field.name.replace("_", "-"))
        assert flag in train_help, flag
    seen = {}

    def fake_train(config, resume=False):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr("agents.train.train", fake_train)
    args = parser.parse_args(["train", "--task", "metamath", "--batch-size", "8",
                              "--no-length-buckets", "--extra-data", "a", "b", "--lr", "5e-4",
                              "--out", "/tmp/x"])
    with pytest.raises(SystemExit):
        agents_cli.run_train(args)
    config = seen["config"]
    assert (config.batch_size, config.length_buckets, config.extra_data, config.lr) == \
        (8, False, ("a", "b"), 5e-4)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--task", "metamath", "--batch-size", "many"])
