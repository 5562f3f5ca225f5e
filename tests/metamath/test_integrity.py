"""The clean subset: restatements of an earlier assertion and discouraged theorems are
found, and a benchmark summary reports its pass rates on all theorems and on the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from provergym.metamath.database import parse_database
from provergym.metamath.integrity import integrity

SMALL = """$c ( ) -> wff |- $.
$v p q $.
wp $f wff p $.
wq $f wff q $.
wi $a wff ( p -> q ) $.
${ min $e |- p $.  maj $e |- ( p -> q ) $.  mp $a |- q $. $}
ax-1 $a |- ( p -> ( q -> p ) ) $.
$( A theorem of its own. $)
th1 $p |- ( p -> ( q -> p ) ) $= wp wq ax-1 $.
$( The same statement again: one citation proves it.
   (Proof modification is
   discouraged.) $)
th1OLD $p |- ( p -> ( q -> p ) ) $= wp wq ax-1 $.
${ h1 $e |- p $.
   $( Same conclusion, but a hypothesis: not a restatement. $)
   th2 $p |- ( p -> ( q -> p ) ) $= wp wq ax-1 $.
$}
$( (New usage is discouraged.) $)
th3 $p |- ( q -> ( p -> q ) ) $= wq wp ax-1 $.
"""


def test_restatements_and_discouraged_on_a_small_database(tmp_path: Path) -> None:
    path = tmp_path / "small.mm"
    path.write_text(SMALL, encoding="ascii")
    facts = integrity(parse_database(str(path)))
    assert facts.restates == {"th1": "ax-1", "th1OLD": "ax-1"}
    assert facts.reasons("th1OLD") == ["restates ax-1", "proof modification discouraged"]
    assert facts.reasons("th2") == []  # a hypothesis makes it another statement
    assert facts.reasons("th3") == ["new usage discouraged"]
    assert facts.clean(["th1", "th1OLD", "th2", "th3"]) == ["th2"]
    assert facts.counts(["th1", "th2", "th3"]) == {"theorems": 3, "clean": 1,
                                                    "restatements": 1, "discouraged": 1}


@pytest.mark.slow
def test_set_mm_twins_and_discouraged() -> None:
    facts = integrity(parse_database("/usr/share/metamath/databases/set.mm"))
    assert facts.restates["trubifalOLD"] == "trubifal"
    assert facts.restates["luklem7"] == "pm2.04"
    assert "mercolem5" in facts.discouraged and "mercolem5" not in facts.restates
    for clean in ("a1i", "syl", "vjust", "3an1rs"):
        assert facts.reasons(clean) == [], clean
    test = Path(__file__).resolve().parents[2] / "corpora" / "splits" / "metamath" / "test.txt"
    counts = facts.counts(test.read_text().split())
    assert counts["theorems"] == 3824 and counts["restatements"] == 98
    assert counts["discouraged"] == 515 and counts["clean"] == 3289
