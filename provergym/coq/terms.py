"""Coq terms as a kernel-like AST, parsed from what Coq 8.16 prints under ``Set Printing All``.

Under ``Set Printing All`` (and a huge ``Printing Width``) Coq prints goals without
notations, with every implicit argument (``@eq nat x y``) and with arrows as products
(``forall _ : A, B``). The LALR grammar ``terms.lark`` reads that text into frozen
dataclasses:

- ``Ref`` (a global name or a hypothesis of the context), ``Var`` (a name bound inside the
  term itself), ``App``, ``Lambda``, ``Prod``, ``LetIn`` (one binder per node, as in the
  kernel), ``Case`` with its ``as``/``in``/``return`` clauses and branches, ``Fix`` (fix and
  cofix, mutual ones too), ``Sort``, ``Cast``, ``Evar``, ``Proj`` (``x.(p)``), and the
  literals ``Num``/``Str`` with ``Delimited`` (``1%uint63``) and ``Hole`` (``_``);
- patterns: ``PatConstructor``, ``PatVar``, ``PatWild``, ``PatAs``, ``PatOr``, ``PatNum``.
  The printed text does not say whether a bare name in a pattern is a constructor or a
  variable: a bare name at the top of a pattern is read as a constant constructor (``O``,
  ``nil``), and one in argument position as a variable (kernel branches bind variables).

``term_to_sexp``/``sexp_to_term`` round-trip exactly through S-expressions (``sexpdata``),
and ``term_to_text`` prints a term back in the same syntax, so that
``parse_term(term_to_text(t)) == t``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sexpdata
from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

__all__ = [
    "App", "Binder", "Branch", "Case", "CaseItem", "Cast", "Delimited", "Evar", "Fix",
    "FixFunction", "Hole", "HypothesisTerms", "Lambda", "LetIn", "Num", "PatAs",
    "PatConstructor", "PatNum", "PatOr", "PatVar", "PatWild", "Pattern", "Prod", "Proj",
    "Ref", "Sort", "Str", "Term", "TermParseError", "Var", "parse_hypothesis",
    "parse_term", "sexp_to_term", "term_to_sexp", "term_to_text",
]

SORTS = ("Prop", "Set", "SProp", "Type")


# --- The AST ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    """A global reference or a context hypothesis; ``explicit`` is the ``@`` of ``@f``."""

    name: str
    explicit: bool = False
    universes: str | None = None  # the text inside ``@{...}`` (Printing Universes)


@dataclass(frozen=True)
class Var:
    """A variable bound by a binder of the same term (forall, fun, let, pattern, fix)."""

    name: str


@dataclass(frozen=True)
class App:
    head: Term
    args: tuple[Term, ...]


@dataclass(frozen=True)
class Lambda:
    name: str
    type: Term | None  # None when Coq prints ``fun x => ...`` without the type
    body: Term


@dataclass(frozen=True)
class Prod:
    name: str  # "_" for a non-dependent product (an arrow)
    type: Term
    body: Term


@dataclass(frozen=True)
class LetIn:
    name: str
    type: Term | None
    value: Term
    body: Term


@dataclass(frozen=True)
class Sort:
    kind: str  # Prop, Set, SProp or Type
    universe: str | None = None  # ``Type@{u}``: the text inside the braces


@dataclass(frozen=True)
class Cast:
    term: Term
    kind: str  # ":", "<:" (vm_compute) or "<<:" (native_compute)
    type: Term


@dataclass(frozen=True)
class Evar:
    name: str  # without the "?"
    instance: tuple[tuple[str, Term], ...] | None = None


@dataclass(frozen=True)
class Proj:
    """A primitive projection printed as ``term.(projection)``."""

    term: Term
    projection: Term


@dataclass(frozen=True)
class Num:
    text: str


@dataclass(frozen=True)
class Str:
    value: str  # unquoted: ``""`` in the text is one ``"`` here


@dataclass(frozen=True)
class Delimited:
    term: Term
    key: str  # ``1%uint63`` -> Delimited(Num("1"), "uint63")


@dataclass(frozen=True)
class Hole:
    pass


@dataclass(frozen=True)
class PatConstructor:
    constructor: Ref
    args: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class PatVar:
    name: str


@dataclass(frozen=True)
class PatWild:
    pass


@dataclass(frozen=True)
class PatNum:
    text: str


@dataclass(frozen=True)
class PatAs:
    pattern: Pattern
    name: str


@dataclass(frozen=True)
class PatOr:
    alternatives: tuple[Pattern, ...]


@dataclass(frozen=True)
class CaseItem:
    term: Term
    as_name: str | None = None
    in_pattern: Pattern | None = None


@dataclass(frozen=True)
class Branch:
    """``| p1, q1 | p2, q2 => body``: alternatives, each one pattern per case item."""

    alternatives: tuple[tuple[Pattern, ...], ...]
    body: Term


@dataclass(frozen=True)
class Case:
    items: tuple[CaseItem, ...]
    return_type: Term | None
    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class Binder:
    name: str
    type: Term | None
    value: Term | None = None  # a let-binder ``(x := v : T)``


@dataclass(frozen=True)
class FixFunction:
    name: str
    binders: tuple[Binder, ...]
    struct: str | None  # the ``{struct x}`` argument (fix only)
    type: Term | None
    body: Term


@dataclass(frozen=True)
class Fix:
    """``fix f ... with g ... for f`` (or ``cofix``): ``chosen`` names the one returned."""

    functions: tuple[FixFunction, ...]
    chosen: str
    cofix: bool = False


Term = (Ref | Var | App | Lambda | Prod | LetIn | Sort | Cast | Evar | Proj | Num | Str
        | Delimited | Hole | Case | Fix)
Pattern = PatConstructor | PatVar | PatWild | PatNum | PatAs | PatOr


@dataclass(frozen=True)
class HypothesisTerms:
    """A context entry as printed (``n, m : nat`` or ``x := v : T``), split and parsed."""

    names: tuple[str, ...]
    type: Term
    body: Term | None = None


class TermParseError(ValueError):
    """The text is not a term of the grammar; ``position`` is a character offset."""

    def __init__(self, message: str, text: str, position: int | None) -> None:
        where = f" at character {position}" if position is not None else ""
        excerpt = ""
        if position is not None:
            excerpt = f": ...{text[max(0, position - 40):position]!r} >>> " \
                      f"{text[position:position + 40]!r}"
        super().__init__(f"{message}{where}{excerpt}")
        self.message = message
        self.text = text
        self.position = position


# --- Parsing ------------------------------------------------------------------------------

class _Binding(Exception):
    """A name where only an unqualified identifier may stand (raised inside the parser)."""


def _name(token: Token | str) -> str:
    name = str(token)
    if "." in name or "@" in name:
        raise _Binding(f"{name!r} cannot be bound")
    return name


def _reference(text: str, explicit: bool) -> Term:
    universes = None
    if "@{" in text:
        text, universes = text[:-1].split("@{", 1)
    if not explicit and text in SORTS:
        return Sort(text, universes)
    return Ref(text, explicit, universes)


class _Builder(Transformer):
    """Builds the AST while the LALR parser reduces (no parse tree is kept)."""

    # Terms.
    def start(self, children: list) -> Term:
        return children[0]

    def prod(self, children: list) -> Term:
        binders, body = children
        return _wrap(binders, body, product=True)

    def fun(self, children: list) -> Term:
        binders, body = children
        return _wrap(binders, body, product=False)

    def let_in(self, children: list) -> Term:
        name, type_, value, body = children
        return LetIn(name, type_, value, body)

    def fix(self, children: list) -> Term:
        *functions, chosen = children
        return Fix(tuple(functions), chosen or functions[0].name, cofix=False)

    def cofix(self, children: list) -> Term:
        *functions, chosen = children
        return Fix(tuple(functions), chosen or functions[0].name, cofix=True)

    def app(self, children: list) -> Term:
        head, *args = children
        return App(head, tuple(args))

    def reference(self, children: list) -> Term:
        return _reference(str(children[0]), explicit=False)

    def explicit_reference(self, children: list) -> Term:
        return _reference(str(children[0])[1:], explicit=True)

    def cast(self, children: list) -> Term:
        return Cast(children[0], ":", children[1])

    def vm_cast(self, children: list) -> Term:
        return Cast(children[0], "<:", children[1])

    def native_cast(self, children: list) -> Term:
        return Cast(children[0], "<<:", children[1])

    def evar(self, children: list) -> Term:
        token, instance = children
        return Evar(str(token)[1:], instance)

    def evar_instance(self, children: list) -> tuple:
        return tuple(children)

    def evar_assignment(self, children: list) -> tuple:
        return (children[0], children[1])

    def case(self, children: list) -> Term:
        *items, return_type, branches = children
        return Case(tuple(items), return_type, branches)

    def number(self, children: list) -> Term:
        return Num(str(children[0]))

    def string(self, children: list) -> Term:
        return Str(str(children[0])[1:-1].replace('""', '"'))

    def hole(self, children: list) -> Term:
        return Hole()

    def projection(self, children: list) -> Term:
        return Proj(children[0], children[1])

    def delimited(self, children: list) -> Term:
        return Delimited(children[0], _name(children[1]))

    # Pieces.
    def type_annot(self, children: list) -> Term:
        return children[0]

    def for_clause(self, children: list) -> str:
        return children[0]

    def name(self, children: list) -> str:
        return _name(children[0]) if children else "_"

    def binders(self, children: list) -> list[Binder]:
        return [binder for group in children for binder in group]

    def open_binder(self, children: list) -> list[Binder]:
        *names, type_ = children
        return [Binder(name, type_) for name in names]

    def typed_binder(self, children: list) -> list[Binder]:
        *names, type_ = children
        return [Binder(name, type_) for name in names]

    def let_binder_typed(self, children: list) -> list[Binder]:
        *names, type_, value = children
        if len(names) != 1:
            raise _Binding("a let-binder binds one name")
        return [Binder(names[0], type_, value)]

    def let_binder(self, children: list) -> list[Binder]:
        return [Binder(children[0], None, children[1])]

    def fix_decl(self, children: list) -> FixFunction:
        name, *groups, struct, type_, body = children
        binders = tuple(binder for group in groups for binder in group)
        return FixFunction(name, binders, struct, type_, body)

    def cofix_decl(self, children: list) -> FixFunction:
        name, *groups, type_, body = children
        binders = tuple(binder for group in groups for binder in group)
        return FixFunction(name, binders, None, type_, body)

    def struct_annot(self, children: list) -> str:
        return children[0]

    def case_item(self, children: list) -> CaseItem:
        term, as_name, in_pattern = children
        return CaseItem(term, as_name, None if in_pattern is None else _top(in_pattern))

    def as_clause(self, children: list) -> str:
        return children[0]

    def in_clause(self, children: list) -> Pattern:
        return children[0]

    def return_clause(self, children: list) -> Term:
        return children[0]

    def branches(self, children: list) -> tuple:
        return tuple(children)

    def branch(self, children: list) -> Branch:
        *alternatives, body = children
        return Branch(tuple(tuple(_top(p) for p in alt) for alt in alternatives), body)

    def multi_pattern(self, children: list) -> tuple:
        return tuple(children)

    def pattern(self, children: list) -> Pattern:
        core, as_name = children
        return core if as_name is None else PatAs(core, as_name)

    def pattern_app(self, children: list) -> Pattern:
        head, *args = children
        return PatConstructor(head, tuple(args))

    def pattern_head(self, children: list) -> Ref:
        text = str(children[0])
        reference = _reference(text[1:] if text.startswith("@") else text, text.startswith("@"))
        if not isinstance(reference, Ref):
            raise _Binding(f"{text!r} is not a constructor")
        return reference

    def pattern_name(self, children: list) -> Pattern:
        name = str(children[0])
        if "." in name or "@{" in name:  # a qualified name cannot be a variable
            return PatConstructor(self.pattern_head(children))
        return PatVar(name)

    def pattern_explicit(self, children: list) -> Pattern:
        return PatConstructor(self.pattern_head(children))

    def pattern_wild(self, children: list) -> Pattern:
        return PatWild()

    def pattern_number(self, children: list) -> Pattern:
        return PatNum(str(children[0]))

    def pattern_group(self, children: list) -> Pattern:
        return children[0] if len(children) == 1 else PatOr(tuple(children))

    # Hypotheses.
    def hyp_names(self, children: list) -> tuple[str, ...]:
        return tuple(children)

    def hyp_assumption(self, children: list) -> HypothesisTerms:
        return HypothesisTerms(children[0], children[1])

    def hyp_definition(self, children: list) -> HypothesisTerms:
        body, type_ = _split_last_cast(children[1])
        return HypothesisTerms((children[0],), type_, body)


def _split_last_cast(term: Term) -> tuple[Term, Term]:
    """``x := v : T`` parses as ``x := (v : T)``, and a cast inside ``v`` needs no
    parentheses either (``fun a => t : A``): the type is the last ``: T`` of the text,
    which is the innermost cast down the right-hand spine of the term."""
    if isinstance(term, Cast) and term.kind == ":":
        try:
            inner_body, inner_type = _split_last_cast(term.type)
        except _Binding:
            return term.term, term.type
        return Cast(term.term, term.kind, inner_body), inner_type
    if isinstance(term, (Lambda, Prod)):
        body, type_ = _split_last_cast(term.body)
        return type(term)(term.name, term.type, body), type_
    if isinstance(term, LetIn):
        body, type_ = _split_last_cast(term.body)
        return LetIn(term.name, term.type, term.value, body), type_
    if isinstance(term, Cast):  # a <: or <<: cast: its type is at level 200 too
        body, type_ = _split_last_cast(term.type)
        return Cast(term.term, term.kind, body), type_
    if isinstance(term, Fix) and len(term.functions) == 1 and term.chosen == term.functions[0].name:
        function = term.functions[0]
        body, type_ = _split_last_cast(function.body)
        return Fix((dataclasses.replace(function, body=body),), term.chosen, term.cofix), type_
    raise _Binding("a let-bound hypothesis needs ': type' after its value")


def _wrap(binders: list[Binder], body: Term, product: bool) -> Term:
    """One Prod/Lambda/LetIn per binder, innermost last, as in the kernel."""
    for binder in reversed(binders):
        if binder.value is not None:
            body = LetIn(binder.name, binder.type, binder.value, body)
        elif product:
            if binder.type is None:
                raise _Binding(f"forall {binder.name} needs a type")
            body = Prod(binder.name, binder.type, body)
        else:
            body = Lambda(binder.name, binder.type, body)
    return body


def _top(pattern: Pattern) -> Pattern:
    """At the top of a branch (or an ``in`` clause) a bare name is a constructor."""
    if isinstance(pattern, PatVar):
        return PatConstructor(Ref(pattern.name))
    if isinstance(pattern, PatAs):
        return PatAs(_top(pattern.pattern), pattern.name)
    if isinstance(pattern, PatOr):
        return PatOr(tuple(_top(p) for p in pattern.alternatives))
    return pattern


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("terms.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", start=["start", "hypothesis"], maybe_placeholders=True,
                transformer=_Builder(), propagate_positions=False, cache=False)


def _parse(text: str, start: str) -> object:
    try:
        return _parser().parse(text, start=start)
    except UnexpectedCharacters as error:
        position = error.pos_in_stream
        if text.startswith("...", position):
            raise TermParseError("Coq elided a subterm as '...' (raise Printing Depth)", text,
                                 position) from None
        raise TermParseError("unexpected character", text, position) from None
    except UnexpectedToken as error:
        token = error.token
        position = getattr(token, "start_pos", None)
        if token.type == "$END":
            raise TermParseError("unexpected end of text", text, len(text)) from None
        raise TermParseError(f"unexpected {str(token)!r}", text, position) from None
    except UnexpectedInput as error:
        raise TermParseError("cannot parse", text, getattr(error, "pos_in_stream", None)) \
            from None
    except _Binding as error:  # raised by a callback of _Builder while parsing
        raise TermParseError(str(error), text, None) from None
    except LarkError as error:
        raise TermParseError(str(error), text, None) from None


# Goals repeat from one proof step to the next (the same hypotheses, the same side goals),
# and terms are immutable, so a parsed term can be shared.
@lru_cache(maxsize=1 << 16)
def parse_term(text: str) -> Term:
    """Parse one term printed under ``Set Printing All``; raises :class:`TermParseError`.
    Results are cached by text (terms are immutable)."""
    term = _parse(text, "start")
    return _resolve_checked(term, frozenset(), text)


@lru_cache(maxsize=1 << 16)
def parse_hypothesis(text: str) -> HypothesisTerms:
    """Parse a context entry: ``n, m : nat`` or ``x := v : T`` (as coqidetop prints it).
    Results are cached by text."""
    entry = _parse(text, "hypothesis")
    assert isinstance(entry, HypothesisTerms)
    body = None if entry.body is None else _resolve_checked(entry.body, frozenset(), text)
    return HypothesisTerms(entry.names, _resolve_checked(entry.type, frozenset(), text), body)


# --- Bound names: Ref -> Var --------------------------------------------------------------

@contextmanager
def _deep_recursion(limit: int = 20000) -> Iterator[None]:
    """The walks over a term recurse once per level (sexpdata's too); goals nest a few
    hundred levels at most (unary numbers), so lift Python's default limit of 1000 while
    one runs, and put it back after."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _resolve_checked(term: Term, bound: frozenset[str], text: str) -> Term:
    try:
        with _deep_recursion():
            return _resolve(term, bound)
    except RecursionError:
        raise TermParseError("term nested too deeply", text, None) from None


def _pattern_names(pattern: Pattern) -> set[str]:
    if isinstance(pattern, PatVar):
        return {pattern.name}
    if isinstance(pattern, PatConstructor):
        return set().union(*(_pattern_names(p) for p in pattern.args))
    if isinstance(pattern, PatAs):
        return _pattern_names(pattern.pattern) | {pattern.name}
    if isinstance(pattern, PatOr):  # every alternative binds the same names
        return _pattern_names(pattern.alternatives[0])
    return set()


def _resolve(term: Term, bound: frozenset[str]) -> Term:
    """Turn the references to names bound inside the term into ``Var``."""
    kind = type(term)
    if kind is Ref:
        if term.name in bound and not term.explicit and term.universes is None:
            return Var(term.name)
        return term
    if kind is App:
        return App(_resolve(term.head, bound), tuple(_resolve(a, bound) for a in term.args))
    if kind is Prod:
        return Prod(term.name, _resolve(term.type, bound), _resolve(term.body, bound | {term.name}))
    if kind is Lambda:
        type_ = None if term.type is None else _resolve(term.type, bound)
        return Lambda(term.name, type_, _resolve(term.body, bound | {term.name}))
    if kind is LetIn:
        type_ = None if term.type is None else _resolve(term.type, bound)
        return LetIn(term.name, type_, _resolve(term.value, bound),
                     _resolve(term.body, bound | {term.name}))
    if kind is Case:
        items = []
        return_bound = set(bound)
        for item in term.items:
            items.append(CaseItem(_resolve(item.term, bound), item.as_name, item.in_pattern))
            if item.as_name:
                return_bound.add(item.as_name)
            if item.in_pattern is not None:
                return_bound |= _pattern_names(item.in_pattern)
        return_type = None if term.return_type is None else _resolve(
            term.return_type, frozenset(return_bound))
        branches = []
        for branch in term.branches:
            names = set().union(*(_pattern_names(p) for p in branch.alternatives[0]))
            branches.append(Branch(branch.alternatives, _resolve(branch.body, bound | names)))
        return Case(tuple(items), return_type, tuple(branches))
    if kind is Fix:
        names = frozenset(f.name for f in term.functions)
        functions = []
        for function in term.functions:
            inner = bound
            binders = []
            for binder in function.binders:
                binders.append(Binder(
                    binder.name,
                    None if binder.type is None else _resolve(binder.type, inner),
                    None if binder.value is None else _resolve(binder.value, inner)))
                inner = inner | {binder.name}
            type_ = None if function.type is None else _resolve(function.type, inner)
            body = _resolve(function.body, inner | names)
            functions.append(FixFunction(function.name, tuple(binders), function.struct, type_,
                                         body))
        return Fix(tuple(functions), term.chosen, term.cofix)
    if kind is Cast:
        return Cast(_resolve(term.term, bound), term.kind, _resolve(term.type, bound))
    if kind is Evar:
        if term.instance is None:
            return term
        return Evar(term.name, tuple((n, _resolve(v, bound)) for n, v in term.instance))
    if kind is Proj:
        return Proj(_resolve(term.term, bound), _resolve(term.projection, bound))
    if kind is Delimited:
        return Delimited(_resolve(term.term, bound), term.key)
    return term  # Var, Sort, Num, Str, Hole


# --- S-expressions ------------------------------------------------------------------------

_NODES = {cls.__name__: cls for cls in (
    Ref, Var, App, Lambda, Prod, LetIn, Sort, Cast, Evar, Proj, Num, Str, Delimited, Hole,
    PatConstructor, PatVar, PatWild, PatNum, PatAs, PatOr, CaseItem, Branch, Case, Binder,
    FixFunction, Fix, HypothesisTerms)}
_NONE, _TRUE, _FALSE = sexpdata.Symbol("None"), sexpdata.Symbol("true"), sexpdata.Symbol("false")


def _to_data(value: object) -> object:
    if value is None:
        return _NONE
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return [_to_data(item) for item in value]
    if type(value).__name__ in _NODES:
        return [sexpdata.Symbol(type(value).__name__),
                *(_to_data(getattr(value, f.name)) for f in dataclasses.fields(value))]
    raise TypeError(f"cannot write {value!r} as an S-expression")


def _from_data(data: object) -> object:
    if isinstance(data, sexpdata.Symbol):
        symbol = data.value()
        if symbol in ("None", "true", "false"):
            return {"None": None, "true": True, "false": False}[symbol]
        raise ValueError(f"unknown symbol {symbol!r}")
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        if data and isinstance(data[0], sexpdata.Symbol) and data[0].value() in _NODES:
            cls = _NODES[data[0].value()]
            values = [_from_data(item) for item in data[1:]]
            if len(values) != len(dataclasses.fields(cls)):
                raise ValueError(f"{cls.__name__} takes {len(dataclasses.fields(cls))} fields")
            return cls(*values)
        return tuple(_from_data(item) for item in data)  # a tuple field
    raise ValueError(f"unexpected S-expression item {data!r}")


def term_to_sexp(term: Term | Pattern | HypothesisTerms) -> str:
    """The term as an S-expression: ``(App (Ref "eq" true None) ((Var "x") ...))``.

    Each node is ``(ClassName field ...)`` in field order; strings are quoted, tuples are
    lists, and None/True/False are the symbols ``None``/``true``/``false``."""
    try:
        with _deep_recursion():
            return sexpdata.dumps(_to_data(term))
    except RecursionError:
        raise ValueError("term nested too deeply to write") from None


def sexp_to_term(text: str) -> Term:
    """The inverse of :func:`term_to_sexp`."""
    # nil/true=None: sexpdata must not turn the symbols ``nil`` or ``t`` into Python values.
    with _deep_recursion():
        return _from_data(sexpdata.loads(text, nil=None, true=None))  # type: ignore[return-value]


# --- Printing back ------------------------------------------------------------------------

def _atomic(term: Term) -> bool:
    return isinstance(term, (Ref, Var, Sort, Evar, Num, Str, Hole, Case, Cast, Proj,
                             Delimited))


def _arg(term: Term) -> str:
    text = term_to_text(term)
    return text if _atomic(term) else f"({text})"


def _pattern_text(pattern: Pattern, top: bool = True) -> str:
    if isinstance(pattern, PatConstructor):
        head = ("@" if pattern.constructor.explicit else "") + pattern.constructor.name
        if not pattern.args:  # nested, a bare name reads back as a variable: unavoidable
            return head
        text = " ".join([head, *(_pattern_text(a, top=False) for a in pattern.args)])
        return text if top else f"({text})"
    if isinstance(pattern, PatVar):
        return pattern.name
    if isinstance(pattern, PatWild):
        return "_"
    if isinstance(pattern, PatNum):
        return pattern.text
    if isinstance(pattern, PatAs):
        text = f"{_pattern_text(pattern.pattern, top=True)} as {pattern.name}"
        return text if top else f"({text})"
    text = " | ".join(_pattern_text(a, top=True) for a in pattern.alternatives)
    return f"({text})"


def _binder_text(binder: Binder) -> str:
    if binder.value is not None:
        type_ = "" if binder.type is None else f" : {term_to_text(binder.type)}"
        return f"({binder.name}{type_} := {term_to_text(binder.value)})"
    if binder.type is None:
        return binder.name
    return f"({binder.name} : {term_to_text(binder.type)})"


def term_to_text(term: Term) -> str:
    """Print a term in the ``Set Printing All`` syntax that :func:`parse_term` reads."""
    kind = type(term)
    if kind is Ref:
        universes = "" if term.universes is None else f"@{{{term.universes}}}"
        return ("@" if term.explicit else "") + term.name + universes
    if kind is Var:
        return term.name
    if kind is App:
        return " ".join([_arg(term.head), *(_arg(a) for a in term.args)])
    if kind is Prod:
        return f"forall {term.name} : {term_to_text(term.type)}, {term_to_text(term.body)}"
    if kind is Lambda:
        binder = term.name if term.type is None else f"{term.name} : {term_to_text(term.type)}"
        return f"fun {binder} => {term_to_text(term.body)}"
    if kind is LetIn:
        type_ = "" if term.type is None else f" : {term_to_text(term.type)}"
        return f"let {term.name}{type_} := {term_to_text(term.value)} in {term_to_text(term.body)}"
    if kind is Sort:
        return term.kind + ("" if term.universe is None else f"@{{{term.universe}}}")
    if kind is Cast:
        return f"({term_to_text(term.term)} {term.kind} {term_to_text(term.type)})"
    if kind is Evar:
        if term.instance is None:
            return f"?{term.name}"
        inner = "; ".join(f"{n} := {term_to_text(v)}" for n, v in term.instance)
        return f"?{term.name}@{{{inner}}}"
    if kind is Proj:
        return f"{_arg(term.term)}.({term_to_text(term.projection)})"
    if kind is Num:
        return term.text
    if kind is Str:
        return '"' + term.value.replace('"', '""') + '"'
    if kind is Delimited:
        return f"{_arg(term.term)}%{term.key}"
    if kind is Hole:
        return "_"
    if kind is Case:
        items = []
        for item in term.items:
            text = term_to_text(item.term)
            if item.as_name is not None:
                text += f" as {item.as_name}"
            if item.in_pattern is not None:
                text += f" in {_pattern_text(item.in_pattern)}"
            items.append(text)
        text = "match " + ", ".join(items)
        if term.return_type is not None:
            text += f" return {term_to_text(term.return_type)}"
        text += " with"
        for branch in term.branches:
            alternatives = " | ".join(", ".join(_pattern_text(p) for p in alt)
                                      for alt in branch.alternatives)
            text += f" | {alternatives} => {term_to_text(branch.body)}"
        return text + " end"
    if kind is Fix:
        declarations = []
        for function in term.functions:
            text = " ".join([function.name, *(_binder_text(b) for b in function.binders)])
            if function.struct is not None:
                text += f" {{struct {function.struct}}}"
            if function.type is not None:
                text += f" : {term_to_text(function.type)}"
            declarations.append(f"{text} := {term_to_text(function.body)}")
        keyword = "cofix" if term.cofix else "fix"
        text = f"{keyword} " + " with ".join(declarations)
        if len(term.functions) > 1 or term.chosen != term.functions[0].name:
            text += f" for {term.chosen}"
        return text
    raise TypeError(f"not a term: {term!r}")
