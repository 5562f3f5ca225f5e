"""-Q/-R/-I on every Coq command: a project without a _CoqProject, where B.v imports A.v
through a logical path given on the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from provergym import cli
from provergym.bench.runner import read_results


@pytest.fixture()
def project(tmp_path: Path, coq) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "A.v").write_text("Definition two := 2.\nLemma two_eq : two = 2.\n"
                             "Proof. reflexivity. Qed.\n", encoding="utf-8")
    (lib / "B.v").write_text("Require Import MyLib.A.\nLemma use_two : two + 0 = 2.\n"
                             "Proof. simpl. apply two_eq. Qed.\n", encoding="utf-8")
    subprocess.run(["coqc", "-Q", str(lib), "MyLib", str(lib / "A.v")], check=True,
                   capture_output=True)
    return lib


@pytest.mark.slow
def test_prove_bench_and_corpus_take_load_paths(project: Path, tmp_path: Path, monkeypatch,
                                               capsys, no_leftover_coq) -> None:
    monkeypatch.setenv("PROVERGYM_HOME", str(tmp_path / "home"))
    b = str(project / "B.v")
    # without the load path, B.v cannot load: a clear error naming the file
    assert cli.main(["prove", "use_two", "--backend", "coq", "--file", b]) == 2
    assert "B.v" in capsys.readouterr().err
    assert cli.main(["prove", "use_two", "--backend", "coq", "--file", b,
                     "-Q", str(project), "MyLib", "--out", str(tmp_path / "p")]) == 0
    assert "proved" in capsys.readouterr().out
    names = tmp_path / "names.txt"
    names.write_text(f"{b}:use_two\n", encoding="utf-8")
    out = tmp_path / "bench"
    assert cli.main(["bench", "--backend", "coq", "--theorems", str(names), "--method",
                     "fixed", "--budget", "4", "--out", str(out), "--no-progress",
                     "-Q", str(project), "MyLib"]) == 0
    [line] = read_results(out)
    assert line["result"]["status"] == "proved", line["result"]
    corpus = tmp_path / "corpus"
    assert cli.main(["corpus", "build", "coq", "--files", b, "--out", str(corpus),
                     "-Q", str(project), "MyLib"]) == 0
    from corpora.common import load_corpus

    records = [r for split in load_corpus(corpus).values() for r in split]
    assert {r["lemma"] for r in records} == {"use_two"} and len(records) == 2
    # without --out, the corpus is named after the files' folder (not coq-files)
    assert cli.main(["corpus", "build", "coq", "--files", b, "--no-progress",
                     "-Q", str(project), "MyLib"]) == 0
    assert (tmp_path / "home" / "corpora" / "coq-lib" / "dataset_dict.json").is_file()
