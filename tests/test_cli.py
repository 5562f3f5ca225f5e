"""The command line's one error path, and what ``import provergym`` does.

Every subcommand reports bad input as ``provergym: error: ...`` on stderr with exit 2, a
check that ran and failed with exit 1, and never a traceback. The end-to-end calls run
``provergym`` in a fresh interpreter, as a user would."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from provergym import cli
from provergym.api import InitError
from provergym.errors import CheckFailed, UserError

REPO = Path(__file__).resolve().parents[1]
DEMO0 = Path("/usr/share/metamath/databases/demo0.mm")
SMALL_V = REPO / "tests" / "coq" / "fixtures" / "small.v"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def python(*args: str, timeout: float = 300) -> Run:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def provergym(*args: str) -> Run:
    return python("-m", "provergym.cli", *args)


def assert_error(run: Run, code: int, *fragments: str) -> None:
    """Exit ``code``, stderr's last line is the one error line and names ``fragments``."""
    assert run.code == code, (run.out, run.err)
    assert "Traceback" not in run.err, run.err
    last = run.err.strip().splitlines()[-1]
    assert last.startswith("provergym: error: "), run.err
    for fragment in fragments:
        assert fragment in last, last


# -- main: the one place that turns errors into output and exit codes ------------------------
@pytest.fixture()
def fake_command(monkeypatch):
    """``provergym fake``, whose function raises what the test puts in ``raises``."""
    raises: list[BaseException] = []

    def run(args: argparse.Namespace) -> int:
        if raises:
            raise raises[0]
        print("done")
        return 0

    def register(subparsers: argparse._SubParsersAction) -> None:
        subparsers.add_parser("fake").set_defaults(func=run)

    module = types.ModuleType("fake_commands")
    module.register = register
    monkeypatch.setitem(sys.modules, "fake_commands", module)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("fake_commands",))
    return raises


@pytest.mark.parametrize("error, code", [
    (UserError("no such file: x.mm"), 2),
    (CheckFailed("x.mm: 1 failed (listed above)"), 1),
    (InitError("x.v: no lemma named 'y'"), 2),
])
def test_main_prints_one_error_line_and_returns_the_code(fake_command, capsys, error,
                                                         code) -> None:
    fake_command.append(error)
    assert cli.main(["fake"]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"provergym: error: {error}\n"


def test_main_success_and_interrupt(fake_command, capsys) -> None:
    assert cli.main(["fake"]) == 0
    assert capsys.readouterr().out == "done\n"
    fake_command.append(KeyboardInterrupt())
    assert cli.main(["fake"]) == 130
    assert capsys.readouterr().err == "provergym: interrupted\n"


def test_main_lets_a_bug_through(fake_command) -> None:
    fake_command.append(ZeroDivisionError("a bug, not bad input"))
    with pytest.raises(ZeroDivisionError):  # a traceback is what a bug should give
        cli.main(["fake"])


def test_usage_error_exits_2(fake_command, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["fake", "--no-such-option"])
    assert exited.value.code == 2
    assert "provergym: error: unrecognized arguments" in capsys.readouterr().err


# -- provergym mm ... ------------------------------------------------------------------------
def test_mm_verify_bad_input_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mm"
    assert_error(provergym("mm", "verify", str(missing)), 2, f"{missing}: cannot read")
    malformed = tmp_path / "malformed.mm"
    malformed.write_text("$c a $.\n$( never closed\n", encoding="ascii")
    assert_error(provergym("mm", "verify", str(malformed)), 2, f"{malformed}:2: ",
                 "unterminated comment")
    assert_error(provergym("mm", "verify", str(DEMO0), "--jobs", "0"), 2, "--jobs")


def test_mm_verify_failed_proof_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "wrong.mm"
    text = DEMO0.read_text(encoding="ascii")
    path.write_text(text.replace("th1 $p |- t = t $=", "th1 $p |- r = t $="), encoding="ascii")
    run = provergym("mm", "verify", str(path))
    assert_error(run, 1, str(path), "1 failed")
    assert f"{path}:" in run.out and ": th1: error: " in run.out
    assert run.out.startswith(f"{path}:")  # the failures come first, on stdout
    assert provergym("mm", "verify", str(DEMO0)).code == 0


def test_mm_replay_bad_input_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mm"
    assert_error(provergym("mm", "replay", str(missing)), 2, f"{missing}: cannot read")
    assert_error(provergym("mm", "replay", str(DEMO0), "th1", "nothere", "a2"), 2,
                 "no $p named nothere, a2")


def test_mm_replay_checks_what_it_replays(tmp_path: Path) -> None:
    run = provergym("mm", "replay", str(DEMO0), "th1", "--no-metamath")
    assert run.code == 0, run.err
    assert "replayed 1/1 theorems" in run.out


# -- provergym coq ... -----------------------------------------------------------------------
def test_coq_replay_bad_input_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.v"
    assert_error(provergym("coq", "replay", "--no-progress", str(missing)), 2, "no such file",
                 str(missing))
    # Read and split before Coq starts: no coqidetop needed.
    unterminated = tmp_path / "Open.v"
    unterminated.write_text("Lemma x : True.\n(* never closed\n", encoding="utf-8")
    run = provergym("coq", "replay", "--no-progress", str(unterminated))
    assert_error(run, 2, str(unterminated), "line 2", "unterminated comment")
    assert "NOT READ" in run.out


def test_coq_hammer_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.v"
    assert_error(provergym("coq", "hammer", str(missing)), 2, str(missing), "no such file")


@pytest.mark.slow
def test_coq_hammer_unknown_lemma_exits_2() -> None:
    assert_error(provergym("coq", "hammer", str(SMALL_V), "no_such_lemma"), 2,
                 "no lemma with a proof named no_such_lemma")


def test_coq_hammer_binary_file_exits_2(tmp_path: Path) -> None:
    """Reliability item 9: a clean one-line error, not a UnicodeDecodeError traceback."""
    binary = tmp_path / "Binary.v"
    binary.write_bytes(bytes(range(200, 256)) * 4)
    assert_error(provergym("coq", "hammer", str(binary)), 2, str(binary), "not a UTF-8")


def test_coq_hammer_file_without_lemmas_exits_2(tmp_path: Path) -> None:
    """Reliability item 10: ``proved 0 of 0`` with exit 0 hid a file it could not read."""
    broken = tmp_path / "Syntax.v"
    broken.write_text("Lemma x : True.\nProof.\nexact I\nQed.\n", encoding="utf-8")
    assert_error(provergym("coq", "hammer", str(broken)), 2, str(broken),
                 "no lemma with a proof")


@pytest.mark.slow
def test_coq_hammer_lemma_that_does_not_load_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "Half.v"
    source.write_text("Lemma good : True.\nProof. exact I. Qed.\n"
                      "Lemma bad : (( True.\nProof. exact I. Qed.\n", encoding="utf-8")
    run = provergym("coq", "hammer", str(source), "--tactic", "sauto")
    assert_error(run, 2, "1 of 2 lemmas could not be loaded", "bad")
    assert "good: proved" in run.out and "bad: error:" in run.out and "Syntax error" in run.out


@pytest.mark.slow
def test_coq_replay_refused_sentence_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "Broken.v"
    broken.write_text("Lemma x : True.\nProof.\n  exact 3.\nQed.\n", encoding="utf-8")
    run = provergym("coq", "replay", "--no-progress", str(broken))
    assert_error(run, 1, "1 of 1 files did not replay")
    assert f"{broken}:3:3:" in run.out


# -- import provergym ------------------------------------------------------------------------
OURS_AT_IMPORT = {"provergym", "provergym._register", "provergym.api", "provergym.errors"}


def test_import_is_cheap_and_registers_on_gymnasium_import() -> None:
    run = python("-W", "error", "-c", """if True:
        import sys
        import provergym
        ours = sorted(name for name in sys.modules if name.split(".")[0] in
                      ("provergym", "corpora", "agents", "gymnasium", "numpy", "torch"))
        print(" ".join(ours))
        import gymnasium
        print(gymnasium.spec("provergym/Metamath-v0").entry_point)
        print(gymnasium.spec("provergym/Coq-v0").entry_point)
        print("provergym.metamath.gym" in sys.modules)
    """)
    assert run.code == 0, run.err
    imported, metamath, coq, backend_loaded = run.out.splitlines()
    assert set(imported.split()) <= OURS_AT_IMPORT, imported
    assert metamath == "provergym.metamath.gym:MetamathGymEnv"
    assert coq == "provergym.coq.gym:CoqEnv"
    assert backend_loaded == "False"  # entry points are strings


def test_gymnasium_make_after_import_provergym() -> None:
    """The issue's one-liner, then the checker: no warning (they are errors here)."""
    run = python("-W", "error", "-c", """if True:
        import provergym, gymnasium
        from gymnasium.utils.env_checker import check_env
        environment = gymnasium.make("provergym/Metamath-v0")
        check_env(environment.unwrapped, skip_render_check=True)
        observation, info = environment.reset(seed=0, options={"theorem": "th1"})
        print(repr(observation), info["theorem"])
        environment.close()
        environment.close()
    """)
    assert run.code == 0, run.err
    assert run.out.strip() == "'|- t = t' th1"


def test_registering_again_or_after_gymnasium_does_not_warn() -> None:
    run = python("-W", "error", "-c", """if True:
        import gymnasium
        import provergym
        from provergym import _register
        _register.install()
        _register.register_environments()
        import provergym.metamath.gym, provergym.gym_env
        assert "provergym/Metamath-v0" in gymnasium.registry
        import sys
        assert not any(getattr(f, "provergym_hook", False) for f in sys.meta_path)
    """)
    assert run.code == 0, run.err


def test_our_cli_modules_import_nothing_heavy() -> None:
    """Building ``mm`` and ``coq``'s parsers loads no kernel, environment, search, corpus,
    Gymnasium or torch (the other subcommands' modules are checked by their own tests)."""
    run = python("-c", """if True:
        import sys, argparse
        from provergym.metamath import cli as mm_cli
        from provergym.coq import cli as coq_cli
        subparsers = argparse.ArgumentParser().add_subparsers()
        mm_cli.register(subparsers)
        coq_cli.register(subparsers)
        print(" ".join(sorted(sys.modules)))
    """)
    assert run.code == 0, run.err
    loaded = set(run.out.split())
    heavy = {name for name in loaded if name.split(".")[0] in
             ("corpora", "agents", "gymnasium", "numpy", "torch", "lark", "tqdm")}
    heavy |= {name for name in loaded if name.startswith("provergym.")
              and name not in OURS_AT_IMPORT | {"provergym.metamath", "provergym.coq",
                                                "provergym.metamath.cli",
                                                "provergym.metamath.commands",
                                                "provergym.coq.cli",
                                                "provergym.cliargs"}}
    assert not heavy, heavy


# -- provergym export, bench: the files they read --------------------------------------------
TH1_PROOF = ("tt tze tpl tt weq tt tt weq tt a2 tt tze tpl tt weq tt tze tpl tt weq tt tt weq "
             "wim tt a2 tt tze tpl tt tt a1 mp mp")


def result_line(method: str, proof: object = TH1_PROOF, theorem: str = "th1") -> str:
    return json.dumps({"method": method, "theorem": theorem,
                       "result": {"status": "proved", "proof": proof,
                                  "stats": {"expansions": 1, "seconds": 0.0}}}) + "\n"


def export(capsys, results: Path, out: Path) -> Run:
    code = cli.main(["export", "--results", str(results), "--out", str(out),
                     "--db", str(DEMO0)])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def test_export_reads_the_results_file_it_is_given(tmp_path: Path, capsys) -> None:
    (tmp_path / "results.jsonl").write_text(result_line("frequency", "tt tt weq"))
    other = tmp_path / "other.jsonl"
    other.write_text(result_line("uniform"))
    run = export(capsys, other, tmp_path / "out")
    assert run.code == 0, run.err
    exported = json.loads((tmp_path / "out" / "exported.json").read_text())
    assert list(exported["theorems"]) == ["th1"]
    assert exported["theorems"]["th1"]["method"] == "uniform"
    # th1's proof is the one demo0 has: nothing to patch
    assert exported["theorems"]["th1"]["reason"] == "the same proof as the one it has"


@pytest.mark.parametrize("line, problem", [
    ("[1, 2]\n", "a JSON list, not an object"),
    ('{"method": "uniform", "theorem": "th1"}\n', "no 'result' object"),
    ('{"method": "uniform", "theorem": "th1", "result": "proved"}\n', "no 'result' object"),
    (result_line("uniform", proof=["tt", "a1"]), "its proof is not a string"),
    ('{"method": "uniform", "theo\n', "not a JSON line"),
])
def test_export_names_the_line_that_is_not_a_result(tmp_path: Path, capsys, line: str,
                                                    problem: str) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(result_line("uniform") + line + result_line("frequency"))
    run = export(capsys, results, tmp_path / "out")
    assert run.code == 2
    assert run.err.startswith(f"provergym: error: {results}:2: "), run.err
    assert problem in run.err
    results.write_text(result_line("uniform") + line)  # a complete last line: the same
    assert export(capsys, results, tmp_path / "out").code == 2


def test_export_skips_a_last_line_cut_off_and_says_so(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(result_line("uniform")[:30])
    run = export(capsys, results, tmp_path / "out")
    assert run.code == 0, run.err
    assert "no proved theorem to export" in run.out
    assert f"{results}:1: skipped the last line, cut off" in run.err
    # one that ends inside a character, after complete lines
    results.write_bytes(result_line("uniform").encode()
                        + result_line("uniform", theorem="th1é").encode()[:-5])
    run = export(capsys, results, tmp_path / "out")
    assert run.code == 0, run.err
    assert f"{results}:2: skipped the last line" in run.err


def test_export_binary_results_or_config_is_an_error_naming_the_file(tmp_path: Path,
                                                                      capsys) -> None:
    results = tmp_path / "results.jsonl"
    results.write_bytes(result_line("uniform").encode() + b"\x89PNG\r\n\x1a\n\xff\xfe\x00\n")
    run = export(capsys, results, tmp_path / "out")
    assert (run.code, run.err.splitlines()) == (2, [
        f"provergym: error: {results}:2: not UTF-8 text (is it a results.jsonl written by "
        "provergym bench?)"])
    results.write_text(result_line("uniform"))
    config = tmp_path / "config.json"
    for text in (b"\xff\xfe{", b'{"backend": "metam', b'["metamath"]'):
        config.write_bytes(text)
        run = export(capsys, results, tmp_path / "out")
        assert run.code == 2
        assert run.err.startswith(f"provergym: error: {config}: not a readable bench "
                                  "config ("), run.err


@pytest.fixture()
def sigterm_restored():
    import signal

    handler = signal.getsignal(signal.SIGTERM)  # the bench command installs its own
    yield
    signal.signal(signal.SIGTERM, handler)


def test_bench_binary_theorems_file_is_an_error_naming_the_line(tmp_path: Path, capsys,
                                                                 sigterm_restored) -> None:
    names = tmp_path / "names.txt"
    names.write_bytes(b"th1\n# comment\n\x89\xff\n")
    code = cli.main(["bench", "--theorems", str(names), "--db", str(DEMO0),
                     "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert capsys.readouterr().err == (f"provergym: error: {names}:3: not UTF-8 text "
                                       "(expected theorem names, one a line)\n")


# -- --json: one object on stdout, for scripts ------------------------------------------------
HOL = "/usr/share/metamath/databases/hol.mm"


def test_prove_and_verify_json() -> None:
    run = provergym("prove", "jca", "--db", HOL, "--json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["status"] == "proved" and result["checks"]["metamath-exe"] == "ok"
    assert result["theorem"] == "jca" and result["proof"]
    run = provergym("mm", "verify", HOL, "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["ok"] and report["verified"] == report["checked"] > 100
    assert report["failures"] == []


def test_corpus_stats_json(tmp_path: Path) -> None:
    from corpora.metamath import build_corpus

    out = tmp_path / "hol"
    build_corpus(HOL, out, jobs=1, progress=False)
    run = provergym("corpus", "stats", str(out), "--json")
    assert run.code == 0, run.err
    stats = json.loads(run.out)
    assert set(stats["splits"]) == {"train", "valid", "test"}
    assert sum(stats["splits"].values()) == stats["counts"]["steps"]
