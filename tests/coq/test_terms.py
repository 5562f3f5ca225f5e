"""The term grammar: unit tests of each construct, round trips (S-expressions and text) on a
fixture of goals harvested from the stdlib and mathcomp, and (slow) goals printed live by
coqidetop for a file that exercises every construct."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from provergym.coq.terms import (
    App,
    Branch,
    Case,
    CaseItem,
    Cast,
    Delimited,
    Evar,
    Fix,
    Hole,
    HypothesisTerms,
    Lambda,
    LetIn,
    Num,
    PatConstructor,
    PatOr,
    PatVar,
    PatWild,
    Prod,
    Proj,
    Ref,
    Sort,
    Str,
    TermParseError,
    Var,
    parse_hypothesis,
    parse_term,
    sexp_to_term,
    term_to_sexp,
    term_to_text,
)

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def read_fixture(path: Path) -> list[tuple[str, str]]:
    """(kind, text) records of a ``terms_*.txt`` fixture (written by coq_ast_coverage.py)."""
    records = []
    for chunk in path.read_text(encoding="utf-8").split("\n\f\n"):
        if not chunk.strip():
            continue
        header, text = chunk.split("\n", 1)
        records.append((header.split("\t")[0], text))
    return records


GOALS = read_fixture(FIXTURES / "terms_goals.txt")


def nat(name: str = "nat") -> Ref:
    return Ref(name)


def test_fixture_is_a_real_sample() -> None:
    kinds = {kind for kind, _ in GOALS}
    assert len(GOALS) >= 300 and kinds == {"hyp", "goal"}
    # Printing All output: implicit arguments shown, arrows as products, no notations.
    texts = [text.replace("\xa0", " ") for _, text in GOALS]
    assert any("@eq " in text for text in texts)
    assert any("match" in text and "\n" in text for text in texts)
    assert any("fix " in text for text in texts)


@pytest.mark.parametrize(("kind", "text"), GOALS, ids=range(len(GOALS)))
def test_fixture_parses_and_round_trips(kind: str, text: str) -> None:
    if kind == "hyp":
        entry = parse_hypothesis(text)
        assert sexp_to_term(term_to_sexp(entry)) == entry
        terms = [entry.type] + ([entry.body] if entry.body is not None else [])
    else:
        terms = [parse_term(text)]
    for term in terms:
        assert sexp_to_term(term_to_sexp(term)) == term
        assert parse_term(term_to_text(term)) == term


def test_application_explicit_and_products() -> None:
    term = parse_term("forall (A : Type) (x y : A) (_ : @eq A x y), @eq A y x")
    expected_body = App(Ref("eq", explicit=True), (Var("A"), Var("y"), Var("x")))
    assert term == Prod("A", Sort("Type"), Prod("x", Var("A"), Prod("y", Var("A"), Prod(
        "_", App(Ref("eq", explicit=True), (Var("A"), Var("x"), Var("y"))), expected_body))))
    # One group without parentheses, and a qualified global name.
    assert parse_term("forall n m : nat, Nat.le n m") == Prod("n", nat(), Prod(
        "m", nat(), App(Ref("Nat.le"), (Var("n"), Var("m")))))


def test_lambda_let_and_shadowing() -> None:
    term = parse_term("fun (n : nat) (f : forall _ : nat, nat) => let n : nat := f n in n")
    assert term == Lambda("n", nat(), Lambda("f", Prod("_", nat(), nat()), LetIn(
        "n", nat(), App(Var("f"), (Var("n"),)), Var("n"))))
    assert parse_term("fun x => x") == Lambda("x", None, Var("x"))
    # A name bound nowhere in the term is a reference (a global or a hypothesis).
    assert parse_term("fun y : nat => x") == Lambda("y", nat(), Ref("x"))


def test_match_with_as_in_return_and_patterns() -> None:
    text = ("match v as w in (vec _ m) return (P m w) with\n"
            "   | vnil _ => tt\n   | vcons _ n0 x _ => f x n0 m\n   end")
    term = parse_term(text)
    assert isinstance(term, Case)
    (item,) = term.items
    assert item == CaseItem(Ref("v"), "w", PatConstructor(Ref("vec"), (PatWild(), PatVar("m"))))
    # The as-name and the in-variables are bound in the return type only.
    assert term.return_type == App(Ref("P"), (Var("m"), Var("w")))
    assert term.branches[1] == Branch(
        ((PatConstructor(Ref("vcons"), (PatWild(), PatVar("n0"), PatVar("x"), PatWild())),),),
        App(Ref("f"), (Var("x"), Var("n0"), Ref("m"))))
    # A bare name at the top of a pattern is a constructor.
    assert parse_term("match n with O => a | S _ => b end").branches[0].alternatives == (
        (PatConstructor(Ref("O")),),)


def test_nested_or_and_as_patterns_and_several_items() -> None:
    term = parse_term("match a, b with | pair x (S _ | O) as p, _ | _, y => g x y end")
    assert isinstance(term, Case) and len(term.items) == 2
    (branch,) = term.branches
    first, second = branch.alternatives
    assert first[1] == PatWild() and second == (PatWild(), PatConstructor(Ref("y")))
    assert first[0].name == "p"
    # Below the top a bare name reads as a variable (the text cannot tell; see terms.py),
    # and a qualified one as a constructor.
    assert first[0].pattern.args[1] == PatOr((PatConstructor(Ref("S"), (PatWild(),)),
                                              PatVar("O")))
    nested = parse_term("match p with pair Logic.eq_refl x => x end").branches[0]
    assert nested.alternatives[0][0].args[0] == PatConstructor(Ref("Logic.eq_refl"))
    assert parse_term("match x with end") == Case((CaseItem(Ref("x")),), None, ())


def test_fix_struct_mutual_and_cofix() -> None:
    term = parse_term("fix g (a m : nat) {struct m} : nat := match m return nat with\n"
                      "  | O => a\n  | S k => g a k\n  end")
    assert isinstance(term, Fix) and not term.cofix and term.chosen == "g"
    (function,) = term.functions
    assert function.struct == "m" and [b.name for b in function.binders] == ["a", "m"]
    assert function.body.branches[1].body == App(Var("g"), (Var("a"), Var("k")))
    mutual = parse_term("fix ev (n : nat) : bool := match n with O => true | S k => od k end "
                        "with od (n : nat) : bool := match n with O => false | S k => ev k end "
                        "for od")
    assert [f.name for f in mutual.functions] == ["ev", "od"] and mutual.chosen == "od"
    assert mutual.functions[0].body.branches[1].body == App(Var("od"), (Var("k"),))
    cofix = parse_term("cofix z : stream := Cons O z")
    assert cofix.cofix and cofix.functions[0].body == App(Ref("Cons"), (Ref("O"), Var("z")))


def test_sorts_casts_evars_projections_literals() -> None:
    assert parse_term("Prop") == Sort("Prop")
    assert parse_term("Type@{Coq.Init.Logic.8}") == Sort("Type", "Coq.Init.Logic.8")
    assert parse_term("@eq@{u} nat") == App(Ref("eq", True, "u"), (nat(),))
    assert parse_term("(S O : nat)") == Cast(App(Ref("S"), (Ref("O"),)), ":", nat())
    assert parse_term("(x <: nat)") == Cast(Ref("x"), "<:", nat())
    assert parse_term("(x <<: nat)") == Cast(Ref("x"), "<<:", nat())
    assert parse_term("?n") == Evar("n")
    assert parse_term("?x@{a:=S O; b:=y}") == Evar(
        "x", (("a", App(Ref("S"), (Ref("O"),))), ("b", Ref("y"))))
    assert parse_term("p.(fst_p)") == Proj(Ref("p"), Ref("fst_p"))
    assert parse_term("f 0x1.8p+0 12 0x3%uint63") == App(Ref("f"), (
        Num("0x1.8p+0"), Num("12"), Delimited(Num("0x3"), "uint63")))
    assert parse_term('"a""b"') == Str('a"b')
    assert parse_term("fst_p _ _ p") == App(Ref("fst_p"), (Hole(), Hole(), Ref("p")))
    # Printing All puts no-break spaces and line breaks between tokens.
    assert parse_term("@eq\xa0nat\n   x\r\n x") == App(Ref("eq", True), (nat(), Ref("x"),
                                                                   Ref("x")))


def test_unicode_identifiers() -> None:
    assert parse_term("forall α' : nat, le α' α'") == Prod("α'", nat(), App(
        Ref("le"), (Var("α'"), Var("α'"))))


def test_hypotheses_grouped_and_let_bound() -> None:
    assert parse_hypothesis("n, m : nat") == HypothesisTerms(("n", "m"), nat())
    assert parse_hypothesis("y := Nat.add x x : nat") == HypothesisTerms(
        ("y",), nat(), App(Ref("Nat.add"), (Ref("x"), Ref("x"))))
    # A cast inside the body needs no parentheses; the type is the last ': T'.
    entry = parse_hypothesis("f := fun a : A => g a : C : forall _ : A, C")
    assert entry.type == Prod("_", Ref("A"), Ref("C"))
    assert entry.body == Lambda("a", Ref("A"), Cast(App(Ref("g"), (Var("a"),)), ":", Ref("C")))


@pytest.mark.parametrize(("text", "position"), [
    ("f (x", 4),
    ("f ) x", 2),
    ("forall (x : nat) x", 17),
    ("a $ b", 2),
    ("", 0),
])
def test_syntax_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(TermParseError) as caught:
        parse_term(text)
    assert caught.value.position == position
    assert f"character {position}" in str(caught.value)


def test_bad_binders_are_errors() -> None:
    for text in ["fun (Nat.x : nat) => x", "forall x, x"]:
        with pytest.raises(TermParseError):
            parse_term(text)
    with pytest.raises(TermParseError, match="needs ': type'"):
        parse_hypothesis("x := O")


def test_sexp_format_is_readable_and_strict() -> None:
    term = parse_term("@eq nat (fun t : nat => t) nil")
    sexp = term_to_sexp(term)
    assert sexp.startswith('(App (Ref "eq" true None) ((Ref "nat" false None) (Lambda "t"')
    # The symbols sexpdata treats specially (t, nil) are plain names here.
    tricky = App(Ref("t"), (Ref("nil"), Str('q"\\')))
    assert sexp_to_term(term_to_sexp(tricky)) == tricky
    with pytest.raises(ValueError):
        sexp_to_term("(Ref \"x\")")  # wrong number of fields


def test_deep_terms_parse() -> None:
    # coqidetop elides past 50 nested boxes ("..."), so printed goals stay shallower.
    depth = 150
    text = "S (" * depth + "O" + ")" * depth
    term = parse_term(text)
    assert sexp_to_term(term_to_sexp(term)) == term


# ---------------------------------------------------------------------------------------

def load_harvester():
    spec = importlib.util.spec_from_file_location(
        "coq_ast_coverage", ROOT / "benchmarks" / "coq_ast_coverage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_live_goals_of_every_construct_parse() -> None:
    """coqidetop prints the goals of a file built to show every construct; all parse."""
    if shutil.which("coqidetop.opt") is None:
        pytest.fail("coqidetop.opt missing: install the Debian package coq")
    harvester = load_harvester()
    records, error = harvester.harvest(FIXTURES / "terms_constructs.v")
    assert error == ""
    assert len(records) > 30
    parsed = []
    for record in records:
        if record["kind"] == "hyp":
            entry = parse_hypothesis(record["text"])
            parsed.extend([entry.type] + ([entry.body] if entry.body is not None else []))
        else:
            parsed.append(parse_term(record["text"]))
    sexps = " ".join(term_to_sexp(t) for t in parsed)
    for node in ["(Fix ", "(Case ", "(CaseItem (Ref \"v\" false None) None (PatConstructor",
                 "(LetIn ", "(Cast ", "(Evar ", "(Delimited (Num \"0x3\") \"uint63\")",
                 "(Sort \"SProp\"", "(Lambda ", "true)"]:
        assert node in sexps, node
    assert any(isinstance(t, Fix) and t.cofix for t in _subterms(parsed))
    assert any(isinstance(t, Fix) and len(t.functions) == 2 for t in _subterms(parsed))


def _subterms(terms: list) -> list:
    """Every node under the given terms (through dataclass fields and tuples)."""
    import dataclasses

    found, stack = [], list(terms)
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
        elif dataclasses.is_dataclass(node):
            found.append(node)
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
    return found
