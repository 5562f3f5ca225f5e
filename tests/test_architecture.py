"""The layers hold: import contracts (pyproject.toml) and no reach into private members."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    linter = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _private_env_members(path: Path, root: Path = ROOT) -> list[str]:
    """``<something env>._name`` in ``path``: a reach into an environment's private state."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and ast.unparse(node.value).split(".")[-1].endswith("env")):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_outside_the_metamath_backend_touches_its_environment_privately():
    files = [p for folder in ("provergym", "agents", "corpora", "benchmarks")
             for p in (ROOT / folder).rglob("*.py")
             if "metamath" not in p.relative_to(ROOT).parts[:2]]
    assert len(files) > 20
    found = [hit for path in files for hit in _private_env_members(path)]
    assert not found, "\n".join(found)


def test_the_private_member_check_finds_a_reach(tmp_path):
    sample = tmp_path / "reach.py"
    sample.write_text("def f(self, env):\n    env.step(1)\n    return self.env._instantiate(1)\n")
    assert _private_env_members(sample, tmp_path) == ["reach.py:3: self.env._instantiate"]
