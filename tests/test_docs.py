"""The API reference builds (``make docs``, ``docs/build_api.py``): every module imports,
pdoc warns about nothing, and no docstring refers to an object that does not exist."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_API = REPO / "docs" / "build_api.py"


def load_builder():
    spec = importlib.util.spec_from_file_location("build_api", BUILD_API)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_api_reference_builds_with_no_broken_reference(tmp_path):
    out = tmp_path / "api"
    done = subprocess.run([sys.executable, str(BUILD_API), "--out", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    assert done.stderr.strip() == "", done.stderr[-5000:]  # not one warning line
    for page in ("index.html", "provergym.html", "provergym/metamath/env.html",
                 "provergym/search/bestfirst.html", "agents/train.html", "corpora/metamath.html"):
        assert (out / page).is_file(), page
    # a role in a docstring became a link: MetamathEnv.step's :class:`~provergym.api.Proved`
    env_page = (out / "provergym" / "metamath" / "env.html").read_text(encoding="utf-8")
    assert 'href="../../provergym.html#Proved"' in env_page


FIXTURE = {
    "__init__.py": '"""A package for the checker\'s own test."""\n',
    "good.py": '''"""Refers to :class:`Thing`, :func:`pkgdocfixture.good.make`, :class:`ValueError`,
:func:`os.path.join` and the private :func:`_helper`."""

import os


class Thing:
    """See :meth:`run` and :meth:`Thing.run`."""

    def run(self) -> None:
        """Runs."""


def make() -> Thing:
    """Makes a :class:`Thing` with ``pkgdocfixture.good.Thing``."""
    return Thing()


def _helper() -> None:
    os.getcwd()
''',
    "bad.py": '''"""Refers to :func:`missing_function` and ``pkgdocfixture.good.Gone``."""


def broken() -> None:
    """See :meth:`Thing.nothing`."""
''',
    "unimportable.py": 'raise ImportError("a module that cannot be imported")\n',
}


def test_the_checker_finds_broken_references_and_import_errors(tmp_path, monkeypatch):
    package = tmp_path / "src" / "pkgdocfixture"
    package.mkdir(parents=True)
    for name, text in FIXTURE.items():
        (package / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    builder = load_builder()
    problems = builder.build(tmp_path / "out", packages=("pkgdocfixture",))
    assert sorted(problems) == sorted([
        "pkgdocfixture.bad: broken reference :func:`missing_function`",
        "pkgdocfixture.bad: broken reference `pkgdocfixture.good.Gone`",
        "pkgdocfixture.bad.broken: broken reference :meth:`Thing.nothing`",
        "cannot import pkgdocfixture.unimportable: ImportError: a module that cannot be "
        "imported",
    ]), problems
    assert (tmp_path / "out" / "pkgdocfixture" / "good.html").is_file()
