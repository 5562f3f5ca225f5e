"""The import structure of agents/ and corpora/: no cycles, and cheap command modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("agents", "corpora")


def _imports(path: Path) -> set[str]:
    """The agents/corpora modules that ``path`` imports anywhere (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in PACKAGES)
    return found


def test_no_import_cycles_in_agents_and_corpora():
    modules = {f"{package}.{path.stem}": path for package in PACKAGES
               for path in (REPO / package).glob("*.py") if path.stem != "__init__"}
    graph = {name: sorted((_imports(path) & modules.keys()) - {name})
             for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", "import cycle: " + " -> ".join([*trail, name])
        state[name] = "open"
        for target in graph[name]:
            visit(target, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        visit(name, [])


def test_command_modules_import_no_heavy_library():
    # agents.cli and corpora.cli are imported to build `provergym`'s parser (--help)
    code = ("import sys, agents.cli, corpora.cli\n"
            "heavy = {'torch', 'transformers', 'datasets', 'accelerate', 'sklearn'}\n"
            "sys.exit(sorted(heavy & {m.split('.')[0] for m in sys.modules}) or 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
