"""`provergym coq build`: a _CoqProject project compiled in dependency order by Coq's own
coq_makefile, and the hint the other commands give when it was not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provergym import cli

PROJECT = Path(__file__).parent / "fixtures" / "proj"


@pytest.mark.slow
def test_build_then_open_a_file_that_imports_another(tmp_path, capsys, coq,
                                                     no_leftover_coq) -> None:
    project = tmp_path / "proj"
    shutil.copytree(PROJECT, project)
    use = str(project / "theories" / "Use.v")
    # not built: a clear error that says what to run
    assert cli.main(["coq", "replay", "--no-progress", use]) == 1
    assert f"provergym coq build {project}" in capsys.readouterr().out
    assert cli.main(["prove", "triple_one", "--backend", "coq", "--file", use]) == 2
    assert f"provergym coq build {project}" in capsys.readouterr().err
    assert cli.main(["coq", "build", str(project / "theories")]) == 0  # any folder inside
    assert "with coq_makefile" in capsys.readouterr().out
    assert (project / "theories" / "Base.vo").is_file()
    assert cli.main(["prove", "triple_one", "--backend", "coq", "--file", use,
                     "--out", str(tmp_path / "out")]) == 0
    assert cli.main(["coq", "replay", "--no-progress", use]) == 0


@pytest.mark.slow
def test_a_file_coq_refuses_fails_the_build_naming_it(tmp_path, capsys, coq) -> None:
    project = tmp_path / "proj"
    shutil.copytree(PROJECT, project)
    (project / "theories" / "Base.v").write_text("Definition triple := oops.\n",
                                                 encoding="utf-8")
    assert cli.main(["coq", "build", str(project)]) == 1
    err = capsys.readouterr().err
    assert "Base.v" in err and "oops" in err


def test_no_project_is_an_error_saying_what_to_do(tmp_path, capsys) -> None:
    assert cli.main(["coq", "build", str(tmp_path)]) == 2
    assert "no _CoqProject" in capsys.readouterr().err
