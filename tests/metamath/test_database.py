"""The database parser: statements, frames and scopes, includes, and precise errors for
malformed input (file and line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provergym.metamath.database import MetamathError, parse_database
from provergym.metamath.verify import verify_database
from tests.metamath.conftest import DATABASES, metamath_errors, replace_once

MINI = """$( a tiny database $)
$c |- wff ( -> ) $.
$v ph ps ch $.
wph $f wff ph $.
wps $f wff ps $.
wi $a wff ( ph -> ps ) $.
${
  $v x $.
  wx $f wff x $.
  $d ph x $.
  ax.1 $e |- ph $.
  ax $a |- ( ps -> ph ) $.
  th $p |- ( ps -> ph ) $= wph wps ax.1 ax $.
$}
last $p |- ( ph -> ph ) $= ? $.
"""


def parse_text(tmp_path: Path, text: str, name: str = "db.mm"):
    path = tmp_path / name
    path.write_text(text)
    return parse_database(path)


def error_of(tmp_path: Path, text: str) -> MetamathError:
    with pytest.raises(MetamathError) as caught:
        parse_text(tmp_path, text)
    return caught.value


# -- what a parse gives -----------------------------------------------------------------
def test_statements_frames_and_scopes(tmp_path: Path) -> None:
    db = parse_text(tmp_path, MINI)
    assert list(db.statements) == ["wph", "wps", "wi", "wx", "ax.1", "ax", "th", "last"]
    assert db.constants == {"|-", "wff", "(", "->", ")"}
    assert db.variables == {"ph", "ps", "ch", "x"}
    ax = db["ax"]
    assert (ax.kind, ax.typecode, ax.body) == ("a", "|-", "( ps -> ph ) ")
    assert ax.hypotheses == ("wph", "wps", "ax.1")  # database order, $f then $e
    assert ax.disjoint == frozenset()  # x is not mandatory for ax
    th = db["th"]
    assert th.scope is not None and th.proof.split() == ["wph", "wps", "ax.1", "ax"]
    assert th.scope.hypotheses == ("wph", "wps", "wx", "ax.1")
    assert th.scope.disjoint == frozenset({("ph", "x")})
    assert [db.line_of(db[label]) for label in ("wph", "th", "last")] == [4, 13, 15]
    assert db["th"].index < db["last"].index
    # $e and $f of the block are no longer active after its $}
    assert db["ax.1"].active_until == db["last"].index
    assert db["wph"].active_until > db["last"].index
    report = verify_database(db)
    assert [(f.label, f.incomplete) for f in report.failures] == [("last", True)]


def test_empty_body_and_mandatory_disjoint(tmp_path: Path) -> None:
    db = parse_database(DATABASES / "miu.mm")
    assert any(s.body == "" for s in db.statements.values())
    db = parse_text(tmp_path, "$c |- set $. $v x y $. vx $f set x $. vy $f set y $.\n"
                              "${ $d y x $. ax $a |- x y $. $}\n")
    assert db["ax"].disjoint == frozenset({("x", "y")})


def test_nested_includes_are_relative_and_read_once(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "symbols.mm").write_text("$c |- wff ( -> ) $.\n$v ph ps $.\n")
    # Relative to the including file (sub/), and included a second time from the top:
    (tmp_path / "sub" / "syntax.mm").write_text(
        "$[ symbols.mm $]\nwph $f wff ph $.\nwps $f wff ps $.\nwi $a wff ( ph -> ps ) $.\n")
    main = tmp_path / "main.mm"
    main.write_text("$[ sub/syntax.mm $]\n$[ sub/symbols.mm $]\n"
                    "${ min $e |- ph $. maj $e |- ( ph -> ps ) $. mp $a |- ps $. $}\n"
                    "${ h $e |- ph $. th $p |- ph $= h $. $}\n")
    db = parse_database(main)
    assert list(db.statements)[:3] == ["wph", "wps", "wi"]
    assert db["wph"].file == str(tmp_path / "sub" / "syntax.mm")
    assert db.line_of(db["wi"]) == 4
    assert verify_database(db).failures == ()
    # (metamath-exe 0.195 resolves includes against its working directory instead, so it
    # is no oracle here.)


def test_include_of_missing_file(tmp_path: Path) -> None:
    error = error_of(tmp_path, "$c a $.\n$[ nowhere.mm $]\n")
    assert error.file == str(tmp_path / "nowhere.mm") and "cannot read" in error.message


# -- malformed input: the error names the file and the line -------------------------------
@pytest.mark.parametrize("old, new, line, message", [
    ("wi $a wff ( ph -> ps ) $.", "wi $a wff ( ph => ps ) $.", 6,
     "$a 'wi': symbol '=>' is not declared (or not active)"),
    ("last $p |- ( ph -> ph )", "last $p |- ( ph -> x )", 15,
     "$p 'last': symbol 'x' is not declared (or not active)"),
    ("last $p", "wi $p", 15, "label 'wi' is reused (first defined at"),
    ("wps $f wff ps $.", "wps $f wff qq $.", 5, "$f 'wps': 'qq' is not an active variable"),
    ("$( a tiny database $)", "$( a tiny database", 1, "unterminated comment"),
    ("last $p |- ( ph -> ph ) $= ? $.", "last $p |- ( ph -> ph ) $= ?", 15,
     "unterminated $p statement"),
    ("$d ph x $.", "$d ph x", 10, "unterminated $d statement (found $e)"),
    ("$}\nlast", "\nlast", 16, "unclosed ${ scope at end of database"),
    ("$v x $.", "$v ph $.", 8, "variable 'ph' is declared twice"),
    ("$d ph x $.", "$d ph y $.", 10, "$d names 'y', which is not an active variable"),
    ("ax $a", "ax$a", 12, "keyword $a must be preceded by whitespace"),
    ("ax $a", "ax $x", 12, "unknown keyword $x"),
])
def test_malformed_database(tmp_path: Path, old: str, new: str, line: int,
                            message: str) -> None:
    error = error_of(tmp_path, replace_once(MINI, old, new))
    assert error.file == str(tmp_path / "db.mm")
    assert error.line == line, error
    assert message in error.message, error
    assert str(error).startswith(f"{tmp_path / 'db.mm'}:{line}: ")


def test_unterminated_statement_in_set_mm_excerpt(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, "( ax-5 eximdh ) ABCDADFEG $.",
                                          "( ax-5 eximdh ) ABCDADFEG"))
    with pytest.raises(MetamathError) as caught:
        parse_database(path)
    assert caught.value.line == 25958 and "unterminated $p statement" in caught.value.message


def test_undeclared_symbol_in_set_mm_excerpt(excerpt) -> None:
    path = excerpt(lambda t: replace_once(t, "nfv $p |- F/ x ph $=", "nfv $p |- F/ x qqq $="))
    with pytest.raises(MetamathError) as caught:
        parse_database(path)
    assert (caught.value.line, caught.value.message) == (
        25935, "$p 'nfv': symbol 'qqq' is not declared (or not active)")
    assert metamath_errors(path)
