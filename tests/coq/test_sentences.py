"""The sentence splitter: fast unit tests of the tricky cases, and slow tests against the
exact oracle, the ``Chars A - B`` ranges that ``coqc -time`` prints."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from provergym.coq.sentences import (
    Sentence,
    SentenceError,
    byte_offsets_to_chars,
    line_col,
    split_sentences,
)

FIXTURES = Path(__file__).parent / "fixtures"
COQ_LIB = Path("/usr/lib/ocaml/coq")


def texts(source: str) -> list[str]:
    return [s.text for s in split_sentences(source)]


def test_offsets_slice_the_source() -> None:
    source = "(* c *)  Lemma x : True.\n Proof. exact I. Qed."
    sentences = split_sentences(source)
    assert [s.text for s in sentences] == ["Lemma x : True.", "Proof.", "exact I.", "Qed."]
    for sentence in sentences:
        assert source[sentence.start:sentence.end] == sentence.text
    assert sentences[0] == Sentence("Lemma x : True.", 9, 24)


def test_dots_inside_names_numbers_and_projections_do_not_end() -> None:
    assert texts("exact (Nat.add_0_r n). apply p.(proj1).") == [
        "exact (Nat.add_0_r n).", "apply p.(proj1)."]
    assert texts("Check 1.5e3.\nCheck Nat.") == ["Check 1.5e3.", "Check Nat."]


def test_double_dot_is_a_notation_and_ellipsis_a_terminator() -> None:
    assert texts("Notation \"[ x ; .. ; y ]\" := (cons x .. (cons y nil) ..). auto...\nQed.") == [
        "Notation \"[ x ; .. ; y ]\" := (cons x .. (cons y nil) ..).", "auto...", "Qed."]


def test_dot_must_be_followed_by_blank_or_end() -> None:
    assert texts("intros.\tsimpl.\r\nauto.") == ["intros.", "simpl.", "auto."]
    with pytest.raises(SentenceError):
        split_sentences("exact x.y")  # never terminated


def test_nested_comments_and_strings_in_comments() -> None:
    source = '(* a (* b. *) c. "d *) e." *) Check 1. (* ( * ) *)(**)Check 2.'
    assert texts(source) == ["Check 1.", "Check 2."]
    assert texts("Check (* . *) 1 (* x. *).") == ["Check (* . *) 1 (* x. *)."]


def test_strings_with_doubled_quotes() -> None:
    assert texts('Definition s := "a"". (* b *)". Check s.') == [
        'Definition s := "a"". (* b *)".', "Check s."]


def test_bullets_repeat_and_only_between_commands() -> None:
    assert texts("- split. -- exact I. ++ + *** auto.") == [
        "-", "split.", "--", "exact I.", "++", "+", "***", "auto."]
    # Inside a sentence, - + * are ordinary symbols.
    assert texts("rewrite -plus_n_O. lia * 2.") == ["rewrite -plus_n_O.", "lia * 2."]
    assert texts("-+ auto.") == ["-", "+", "auto."]


def test_braces_and_selectors() -> None:
    assert texts("{ exact I. } 2:{ auto. } 1, 3-4 : {\nauto. }") == [
        "{", "exact I.", "}", "2:{", "auto.", "}", "1, 3-4 : {", "auto.", "}"]
    assert texts("[g]:{ auto. } [ g' ] : { auto. } all:{ auto. } !:{ auto. }") == [
        "[g]:{", "auto.", "}", "[ g' ] : {", "auto.", "}", "all:{", "auto.", "}",
        "!:{", "auto.", "}"]
    assert texts("all: auto. 2: exact I. [g]: auto. par: auto.") == [
        "all: auto.", "2: exact I.", "[g]: auto.", "par: auto."]
    # Braces inside a sentence belong to it.
    assert texts("Record r := { a : nat }. exists {x}.") == [
        "Record r := { a : nat }.", "exists {x}."]
    assert texts("{{ auto. }}") == ["{", "{", "auto.", "}", "}"]


def test_bullet_after_selector_brace_is_not_a_bullet() -> None:
    # coqc: after "1:{" the lexer is not between commands, so "-" is no bullet (Coq then
    # reports a syntax error); the sentence runs to the next terminator.
    assert texts("1:{ - auto. }") == ["1:{", "- auto.", "}"]


def test_ssreflect_tactics() -> None:
    assert texts("by case: n => [|n] //. elim: n => [//|n IHn] /=. move=> {}H. n.+1.") == [
        "by case: n => [|n] //.", "elim: n => [//|n IHn] /=.", "move=> {}H.", "n.+1."]


def test_unicode_offsets_are_characters() -> None:
    source = "Notation \"x ≤ y\" := (le x y). Lemma λx : 0 ≤ 0. Qed."
    sentences = split_sentences(source)
    assert [s.text for s in sentences] == [
        "Notation \"x ≤ y\" := (le x y).", "Lemma λx : 0 ≤ 0.", "Qed."]
    assert all(source[s.start:s.end] == s.text for s in sentences)
    table = byte_offsets_to_chars("aé≤b")
    assert table == [0, 1, 1, 2, 2, 2, 3, 4]


@pytest.mark.parametrize(("source", "message", "line", "column"), [
    ("Check 1.\n  (* open (* nested *) ", "unterminated comment", 2, 3),
    ('Check 1.\nCheck "abc. ', "unterminated string", 2, 7),
    ('(* "a *) *)', "unterminated string", 1, 4),
    ("Check 1.\nCheck 2", "without a terminating", 2, 1),
])
def test_errors_name_line_and_column(source: str, message: str, line: int, column: int) -> None:
    with pytest.raises(SentenceError) as caught:
        split_sentences(source)
    assert message in str(caught.value)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert line_col(source, caught.value.offset) == (line, column)


def test_allow_partial_returns_the_fragment() -> None:
    assert split_sentences("Check 1. exact I  \n", allow_partial=True)[-1] == Sentence(
        "exact I", 9, 16)
    assert split_sentences("  ", allow_partial=True) == []


def test_sentence_kinds() -> None:
    kinds = [(s.is_bullet, s.is_brace) for s in split_sentences("- { 2:{ } auto. }")]
    assert kinds == [(True, False), (False, True), (False, True), (False, True),
                     (False, False), (False, True)]


# ---------------------------------------------------------------------------------------
# Against coqc -time: the exact oracle.

_CHARS = re.compile(r"Chars (\d+) - (\d+) \[")


def coqc_sentence_ranges(path: Path, scratch: Path) -> list[tuple[int, int]]:
    """Compile a copy of ``path``; the character ranges coqc reports (it prints bytes)."""
    copy = scratch / path.name
    shutil.copyfile(path, copy)
    result = subprocess.run(["coqc", "-q", "-time", copy.name], cwd=scratch, text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    to_char = byte_offsets_to_chars(path.read_text(encoding="utf-8"))
    return [(to_char[int(m.group(1))], to_char[int(m.group(2))])
            for m in _CHARS.finditer(result.stdout)]


@pytest.mark.slow
@pytest.mark.parametrize("path", [
    FIXTURES / "sentences_tricky.v",
    COQ_LIB / "theories" / "Arith" / "PeanoNat.v",
    COQ_LIB / "theories" / "Logic" / "ClassicalFacts.v",  # UTF-8 text
    COQ_LIB / "theories" / "Relations" / "Operators_Properties.v",  # UTF-8 text
    COQ_LIB / "user-contrib" / "mathcomp" / "ssreflect" / "div.v",
], ids=lambda p: p.name)
def test_splitter_matches_coqc(path: Path, tmp_path: Path) -> None:
    if shutil.which("coqc") is None or not path.exists():
        pytest.fail(f"coqc or {path} missing: install coq and libcoq-mathcomp-ssreflect")
    oracle = coqc_sentence_ranges(path, tmp_path)
    ours = [(s.start, s.end) for s in split_sentences(path.read_text(encoding="utf-8"))]
    assert len(oracle) > 20
    assert ours == oracle
