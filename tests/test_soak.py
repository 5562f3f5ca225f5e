"""benchmarks/soak.py at a tiny size: it runs both backends to the end, kills coqidetop and
sees the session recover, leaves no process behind, and writes its figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provergym.paths import SET_MM

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_tiny_soak_runs_both_backends_and_leaves_nothing_behind(tmp_path):
    # a missing prover is a broken install (make apt), not a reason to skip
    assert shutil.which("coqidetop.opt") and Path(SET_MM).is_file()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--steps", "60",
         "--mm-theorems", "5", "--mm-first", "300", "--coq-lemmas", "3",
         "--coq-files", "Bool/Bool.v", "--loops", "1", "--kills", "2", "--seed", "3",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads((tmp_path / "soak.json").read_text())
    assert done.returncode == (0 if report["ok"] else 1), done.stdout[-3000:] + done.stderr[-3000:]
    assert report["leftovers"]["orphans"] == []
    metamath, coq = report["metamath"], report["coq"]
    assert metamath["steps"] == 60 and metamath["failures"] == 0, metamath["failure_details"]
    assert coq["steps"] >= 60  # a kill re-takes a step to check the recovery
    # Every failure (an exception the backend does not document) is kept with its traceback.
    assert all(f["traceback"] for f in coq["failure_details"])
    assert coq["failures"] == 0, coq["failure_details"]
    assert report["ok"] and done.returncode == 0
    assert len(coq["kills"]) == 2 and all(k["recovered"] for k in coq["kills"]), coq["kills"]
    assert coq["restarts"] >= 2
    kinds = {m["when"]: {p["kind"] for p in m["processes"]} for m in report["memory"]}
    assert kinds["end, everything closed"] == {"driver"}
    assert "slowest step" in done.stdout and "orphans after close: 0" in done.stdout
