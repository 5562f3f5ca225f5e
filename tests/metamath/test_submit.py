"""A patch a maintainer would accept: proofs of `?` statements go in; a stored proof is
replaced only by a strictly shorter one, never for a discouraged theorem, never by one
resting on more axioms; metamath-exe formats the proofs itself (a re-save changes nothing),
verifies the patched database, and the patch applies to the clean file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from provergym.metamath.database import parse_database
from provergym.metamath.env import MetamathEnv
from provergym.metamath.export import run_metamath
from provergym.metamath.policies import FrequencyPolicy, training_label_counts
from provergym.metamath.submit import submit
from provergym.search.bestfirst import SearchConfig, best_first_search

HOL = Path("/usr/share/metamath/databases/hol.mm")
OPEN = ("idt", "ct2", "axgen")  # their proofs become `?`; no other proof cites them


def _problems(folder: Path) -> Path:
    text = HOL.read_text(encoding="ascii")
    for label in OPEN:
        text, count = re.subn(rf"(\s{re.escape(label)} \$p [^$]*\$=)[^$]*\$\.", r"\1 ? $.", text)
        assert count == 1
    path = folder / "hol.mm"
    path.write_text(text, encoding="ascii")
    return path


def _found(path: Path) -> dict[str, list[str]]:
    env = MetamathEnv(str(path))
    train = [t.label for t in env.db.theorems() if t.label not in OPEN]
    policy = FrequencyPolicy(env, training_label_counts(env.db, train, env.syntax_typecodes))
    found = {}
    for label in OPEN:
        result = best_first_search(env, label, policy, SearchConfig(expansions=16))
        assert result.status == "proved", label
        found[label] = result.proof.split()
    return found


@pytest.mark.slow
def test_open_statements_get_their_proofs_as_a_patch_that_applies(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    source = _problems(tmp_path / "src")
    db = parse_database(str(source))
    report = submit(db, _found(source), tmp_path / "out", write_copy=True)
    assert [d.label for d in report.replaced] == list(OPEN) and report.verified
    assert all(d.reason == "its proof was ?" for d in report.decisions)
    # the patch applies to the clean file and gives the verified copy
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copyfile(source, clean / "hol.mm")
    subprocess.run(["patch", "-p1", "-i", str(report.patch)], cwd=clean, check=True,
                   capture_output=True)
    assert (clean / "hol.mm").read_bytes() == report.copy.read_bytes()
    assert "?" not in re.findall(r"idt \$p [^$]*\$=([^$]*)\$\.", report.copy.read_text())[0]
    # metamath-exe's own formatting: saving the proofs again changes nothing
    resaved = tmp_path / "resaved.mm"
    run_metamath(report.copy, [*(f"save proof {label} /compressed" for label in OPEN),
                               f'write source "{resaved}"'], 300)
    assert resaved.read_bytes() == report.copy.read_bytes()


@pytest.mark.slow
def test_set_mm_only_shorter_proofs_of_theorems_not_discouraged_with_no_new_axiom(
        tmp_path: Path) -> None:
    db = parse_database("/usr/share/metamath/databases/set.mm")
    # proofs the demo's search found (2026-12-07): pm2.25's is longer than set.mm's;
    # vjust's is shorter but rests on ax-10 and ax-11; trubifalOLD is discouraged
    proofs = {
        "pm2.25": ("wph wn wph wps wo wps wi wi wph wph wps wo wps wi wo wph wps orel1 wph wph "
                   "wps wo wps wi pm2.54 ax-mp").split(),
        "vjust": ("vx cv vx cv wceq vy cv vy cv wceq vx vy vx vy nfequid vy vx nfequid vx cv "
                  "vy cv wceq vx cv vx cv wceq vy cv vy cv wceq vx cv vx cv wceq vy cv vy cv "
                  "wceq wi vx cv vy cv wceq vx cv vx cv wceq vy cv eqidd a1i vy cv vy cv wceq "
                  "vx cv vx cv wceq wi vx cv vy cv wceq vy cv vy cv wceq vx cv eqidd a1i "
                  "impbid cbvab").split(),
        "trubifalOLD": ["trubifal"],
    }
    report = submit(db, proofs, tmp_path / "strict")
    reasons = {d.label: d.reason for d in report.decisions}
    assert not report.replaced and report.patch is None
    assert reasons["pm2.25"] == "not shorter than the proof it has"
    assert reasons["trubifalOLD"].startswith("discouraged")
    assert reasons["vjust"].startswith("uses axioms the original does not: ax-10 ax-11")
    lenient = submit(db, {"pm2.25": proofs["pm2.25"]}, tmp_path / "lenient",
                     allow_longer=True)
    assert [d.label for d in lenient.replaced] == ["pm2.25"] and lenient.verified
    patch = lenient.patch.read_text()
    assert patch.startswith("--- a/set.mm\n+++ b/set.mm\n") and patch.count("\n@@ ") == 1
