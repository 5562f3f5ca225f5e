"""Parse a Metamath ``.mm`` database into statements with their frames.

The parser scans for ``$`` keywords with one compiled regex and splits the text between
them, which is much faster than tokenising every symbol. Labels, symbols and scopes are
checked while parsing, so a database that parses is well formed; proofs are kept as text
and checked by :mod:`provergym.metamath.kernel`.

Expressions are held as a typecode plus a *body*: every symbol followed by one space
(``"( ph -> ps ) "``). Empty bodies are legal (miu.mm needs them).
"""

from __future__ import annotations

import gc
import os
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from provergym.errors import UserError

KEYWORD = re.compile(r"\$(.)")
CHECKPOINT_CHARS = 1 << 20
# One ordinary construct, with the whitespace before it: a comment, a labelled $f $e $a
# or $p (no comment inside), a $c $v $d, or a brace. Keywords stand between whitespace.
_FAST = re.compile(r"""\s*(?:
    \$\((?=\s).*?\$\)(?=\s|\Z)
  | (?P<label>[^\s$]+)\s+\$(?P<kind>[feap])(?P<math>\s[^$]*)(?<=\s)
      (?:\$=(?P<proof>\s[^$]*)(?<=\s))?\$\.(?=\s|\Z)
  | \$(?P<decl>[cvd])(?P<symbols>\s[^$]*)(?<=\s)\$\.(?=\s|\Z)
  | \$(?P<open>\{)(?=\s|\Z)
  | \$(?P<close>\})(?=\s|\Z)
)""", re.S | re.X)
KEYWORDS = frozenset("cvfeapd={}[].()")
def _nested_comment(text: str, start: int, end: int) -> int:
    """Where ``$(`` stands as a token in ``text[start:end]`` (a comment's inside), or -1:
    comments do not nest (metamath-exe refuses it). ``str.find`` first: set.mm is mostly
    comments, and a regex over all of them cost a third of the parse."""
    found = text.find("$(", start, end)
    while found >= 0:
        if (found == 0 or text[found - 1].isspace()) and (
                found + 2 >= len(text) or text[found + 2].isspace()):
            return found
        found = text.find("$(", found + 2, end)
    return -1
# Characters allowed by the Metamath spec in labels, and printable ASCII for math symbols.
LABEL_RE = re.compile(r"[A-Za-z0-9._-]+\Z")
MATH_RE = re.compile(r"[!-#%-~]+\Z")


class MetamathError(UserError):
    """A database that cannot be read or is malformed; names the file and line (exit 2)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.message, self.file, self.line = message, file, line
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(f"{where}{message}")


@dataclass(eq=False, slots=True)
class Scope:
    """What a ``$p`` may use besides earlier assertions: its active hypotheses (``$f`` and
    ``$e`` labels in order) and every active ``$d`` pair. Snapshots are shared by all the
    theorems that see the same scope, so they cost almost nothing per theorem."""

    hypotheses: tuple[str, ...]
    disjoint: frozenset[tuple[str, str]]  # every active pair, as (x, y) with x < y


@dataclass(eq=False, slots=True)
class Statement:
    label: str
    kind: str  # "f", "e", "a" or "p"
    typecode: str
    body: str  # symbols, each followed by one space
    index: int  # position in database order; a proof may cite only smaller indices
    file: str
    offset: int  # character offset of the label in its file
    hypotheses: tuple[str, ...] = ()  # mandatory hypotheses, in order ($a/$p)
    disjoint: frozenset[tuple[str, str]] = frozenset()  # mandatory $d pairs, x < y
    scope: Scope | None = None  # $p only
    proof: str | None = None  # $p only: the raw proof text between $= and $.
    # $f/$e only: the index of the first statement after its ${ $} block closes; the
    # hypothesis is active for the statements with index in (index, active_until).
    active_until: int = 1 << 62

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.body.split())

    @property
    def is_assertion(self) -> bool:
        return self.kind in "ap"

    def expression(self) -> str:
        return f"{self.typecode} {self.body}".rstrip()


@dataclass
class Database:
    path: str
    statements: dict[str, Statement] = field(default_factory=dict)  # label -> statement, in order
    constants: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)  # every symbol ever declared $v
    files: dict[str, str] = field(default_factory=dict)  # path -> text (for line numbers)
    _newlines: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __getitem__(self, label: str) -> Statement:
        return self.statements[label]

    def __contains__(self, label: str) -> bool:
        return label in self.statements

    def theorems(self) -> list[Statement]:
        return [s for s in self.statements.values() if s.kind == "p"]

    def assertions(self) -> list[Statement]:
        return [s for s in self.statements.values() if s.kind in "ap"]

    def line_of(self, statement: Statement) -> int:
        return self.line_at(statement.file, statement.offset)

    def line_at(self, file: str, offset: int) -> int:
        newlines = self._newlines.get(file)
        if newlines is None:
            text = self.files[file]
            newlines = self._newlines[file] = [m.start() for m in re.finditer("\n", text)]
        return bisect_right(newlines, offset - 1) + 1


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


_NO_PAIRS: frozenset[tuple[str, str]] = frozenset()


class _Parser:
    def __init__(self, db: Database):
        self.db = db
        self.statements = db.statements
        self.constants = db.constants
        self.variables = db.variables
        self.active_vars: set[str] = set()
        self.active_symbols: set[str] = set()  # constants + active variables
        self.float_of: dict[str, str] = {}  # active variable -> its $f label
        self.active_hyps: list[str] = []  # active $f/$e labels in order
        self.active_ess: list[str] = []  # active $e labels in order
        self.active_dv: set[tuple[str, str]] = set()
        # One entry per open ${: what to undo at its $}.
        self.frames: list[tuple[int, int, list[str], list[str], set[tuple[str, str]]]] = []
        self.scope_cache: Scope | None = None
        self.hyps_cache: tuple[str, ...] | None = None  # tuple(active_hyps), shared
        self.dv_cache: frozenset[tuple[str, str]] | None = None  # frozenset(active_dv)
        self.hyp_index: dict[str, int] = {}  # $f/$e label -> its index (sort key)
        self.ess_vars_cache: set[str] | None = None  # variables of the active $e
        self.included: set[str] = set()
        # See parse_database's ``checkpoint``: called every CHECKPOINT_CHARS of text.
        self.checkpoint: Callable[[Database, list[Statement], int, int], None] | None = None
        self.theorems: list[Statement] = []  # the $p so far, in order
        self.chars_before = 0  # characters of the files finished before the current one
        self.chars_total = 0  # characters of every file read so far

    # -- helpers ------------------------------------------------------------------------
    def scope(self) -> Scope:
        # Most new scopes differ from the last one only in their $d (set.mm puts $d in
        # nearly every theorem's block): share the hypothesis tuple between them.
        if self.scope_cache is None:
            if self.hyps_cache is None:
                self.hyps_cache = tuple(self.active_hyps)
            if self.dv_cache is None:
                self.dv_cache = frozenset(self.active_dv)
            self.scope_cache = Scope(self.hyps_cache, self.dv_cache)
        return self.scope_cache

    def essential_vars(self) -> set[str]:
        if self.ess_vars_cache is None:
            found: set[str] = set()
            for ess in self.active_ess:
                found.update(self.active_vars.intersection(self.statements[ess].body.split()))
            self.ess_vars_cache = found
        return self.ess_vars_cache

    def error(self, message: str, file: str, text: str, offset: int) -> MetamathError:
        return MetamathError(message, file, _line(text, offset))

    # -- files --------------------------------------------------------------------------
    def parse_file(self, path: str, outermost: bool) -> None:
        real = os.path.realpath(path)
        if real in self.included:  # each file is included once
            return
        self.included.add(real)
        try:
            with open(path, encoding="ascii", errors="strict") as handle:
                text = handle.read()
        except UnicodeDecodeError as error:
            raise MetamathError(f"non-ASCII byte at offset {error.start}", path) from None
        except OSError as error:
            raise MetamathError(f"cannot read: {error.strerror}", path) from None
        self.db.files[path] = text
        self.chars_total += len(text)
        before = self.chars_before
        self.parse_text(path, text)
        self.chars_before = before + len(text)
        if outermost and self.frames:
            raise self.error("unclosed ${ scope at end of database", path, text, len(text))

    def parse_text(self, path: str, text: str) -> None:
        """Parse one file's text. Ordinary statements and comments go through one regex
        match each (the fast path); anything else (a comment inside a statement, an
        include, an error) is handed to the keyword-by-keyword parser for one construct."""
        fast = _FAST.match
        statements = self.statements
        pos = 0
        next_check = CHECKPOINT_CHARS if self.checkpoint is not None else len(text) + 1
        while True:
            if pos >= next_check:  # between two statements: the database is consistent
                next_check = pos + CHECKPOINT_CHARS
                self.checkpoint(self.db, self.theorems, self.chars_before + pos,
                                self.chars_total)
            match = fast(text, pos)
            if match is None:
                pos = self.parse_construct(path, text, pos)
                if pos is None:
                    return
                continue
            kind = match.lastgroup  # the last group that matched names the alternative
            if kind == "math" or kind == "proof":  # a labelled statement
                label, key, math, proof = match.group("label", "kind", "math", "proof")
                if (key == "p") != (proof is not None) or label in statements \
                        or not LABEL_RE.match(label):
                    pos = self.parse_construct(path, text, pos)  # for its precise error
                    continue
                offset = match.start("label")
                if key == "f":
                    self.add_float(label, math.split(), path, text, offset)
                else:
                    self.add_assertion(key, label, math.split(), path, text, offset, proof)
            elif kind == "symbols":
                key, symbols = match.group("decl", "symbols")
                start = match.start("decl") - 1
                if key == "d":
                    self.add_disjoint(symbols.split(), path, text, start)
                elif key == "c":
                    self.add_constants(symbols.split(), path, text, start)
                else:
                    self.add_variables(symbols.split(), path, text, start)
            elif kind is None and _nested_comment(  # a comment: from after its own $(
                    text, text.find("$(", match.start()) + 2, match.end() - 2) >= 0:
                pos = self.parse_construct(path, text, pos)  # for its precise error
                if pos is None:
                    return
                continue
            elif kind == "open":
                self.open_scope()
            elif kind == "close":
                if not self.frames:
                    pos = self.parse_construct(path, text, pos)
                    continue
                self.close_scope()
            pos = match.end()

    def parse_construct(self, path: str, text: str,  # noqa: C901 - one state machine
                        pos: int) -> int | None:
        """Parse from ``pos`` keyword by keyword up to the end of one statement, scope brace
        or include, and return where it ends (None at the end of the text)."""
        search = KEYWORD.search
        pending: list[str] = []  # text pieces of the statement in progress (comments removed)
        mode = ""  # keyword of the statement in progress, "" between statements
        label = ""
        label_offset = 0
        start = 0
        math = ""  # a $p's statement text while its proof is read
        while True:
            match = search(text, pos)
            if match is None:
                rest = text[pos:]
                if mode:
                    raise self.error(f"unterminated ${mode} statement", path, text, start)
                if rest.split():
                    raise self.error(f"text outside a statement: {rest.split()[0]!r}",
                                     path, text, pos + len(rest) - len(rest.lstrip()))
                return None
            key = match.group(1)
            kstart = match.start()
            kend = match.end()
            if key not in KEYWORDS:
                raise self.error(f"unknown keyword ${key}", path, text, kstart)
            if kend < len(text) and not text[kend].isspace():
                raise self.error(f"keyword ${key} must be followed by whitespace",
                                 path, text, kstart)
            if kstart > 0 and not text[kstart - 1].isspace():
                raise self.error(f"keyword ${key} must be preceded by whitespace",
                                 path, text, kstart)
            segment = text[pos:kstart]
            if key == "(":
                close = text.find("$)", kend)
                if close < 0:
                    raise self.error("unterminated comment", path, text, kstart)
                nested = _nested_comment(text, kend, close)
                if nested >= 0:
                    raise self.error("$( inside a comment: comments do not nest", path, text,
                                     nested)
                pending.append(segment)
                pos = close + 2
                continue
            if key == ")":
                raise self.error("$) outside a comment", path, text, kstart)
            if pending:
                pending.append(segment)
                segment = " ".join(pending)
                pending.clear()
            pos = kend
            if not mode:
                tokens = segment.split()
                if key in "feap":
                    if len(tokens) != 1:
                        what = "missing label" if not tokens else f"unexpected {tokens[0]!r}"
                        raise self.error(f"{what} before ${key}", path, text, kstart)
                    label = tokens[0]
                    label_offset = text.rfind(label, 0, kstart)
                    if not LABEL_RE.match(label):
                        raise self.error(f"bad label {label!r}", path, text, kstart)
                    if label in self.statements:
                        other = self.statements[label]
                        raise self.error(
                            f"label {label!r} is reused (first defined at "
                            f"{other.file}:{self.db.line_of(other)})", path, text, kstart)
                elif tokens:
                    raise self.error(f"unexpected {tokens[0]!r} before ${key}", path, text, kstart)
                if key in "cvfeapd[":
                    mode, start = key, kstart
                elif key == "{":
                    self.open_scope()
                elif key == "}":
                    if not self.frames:
                        raise self.error("$} without a matching ${", path, text, kstart)
                    self.close_scope()
                else:
                    raise self.error(f"unexpected ${key}", path, text, kstart)
                if not mode:
                    return pos
                continue
            # Inside a statement: only $. ends it ($= splits a $p, $] ends an include).
            if mode == "[":
                if key != "]":
                    raise self.error("unterminated $[ include", path, text, start)
                names = segment.split()
                if len(names) != 1:
                    raise self.error("$[ must name exactly one file", path, text, start)
                if self.frames:
                    raise self.error("$[ is allowed only in the outermost scope", path, text, start)
                target = os.path.join(os.path.dirname(path), names[0])
                self.parse_file(target, outermost=False)
                return pos
            if key == "=" and mode == "p" and not math:
                math = segment if segment.strip() else " "
                continue
            if key != ".":
                raise self.error(f"unterminated ${mode} statement (found ${key})", path, text, start)
            if mode == "p":
                if not math:
                    raise self.error(f"$p {label!r} has no proof ($=)", path, text, start)
                self.add_assertion("p", label, math.split(), path, text, label_offset, segment)
                math = ""
            elif mode in "ae":
                self.add_assertion(mode, label, segment.split(), path, text, label_offset, None)
            elif mode == "f":
                self.add_float(label, segment.split(), path, text, label_offset)
            elif mode == "c":
                self.add_constants(segment.split(), path, text, start)
            elif mode == "v":
                self.add_variables(segment.split(), path, text, start)
            elif mode == "d":
                self.add_disjoint(segment.split(), path, text, start)
            return pos

    # -- scopes -------------------------------------------------------------------------
    def open_scope(self) -> None:
        self.frames.append((len(self.active_hyps), len(self.active_ess), [], [], set(self.active_dv)))

    def close_scope(self) -> None:
        n_hyps, n_ess, new_vars, new_floats, dv = self.frames.pop()
        for var in new_vars:
            self.active_vars.discard(var)
            self.active_symbols.discard(var)
        for var in new_floats:
            del self.float_of[var]
        end = len(self.statements)
        statements = self.statements
        for label in self.active_hyps[n_hyps:]:
            statements[label].active_until = end
        if len(self.active_hyps) != n_hyps:
            del self.active_hyps[n_hyps:]
            self.hyps_cache = None
        if len(self.active_ess) != n_ess:
            del self.active_ess[n_ess:]
            self.ess_vars_cache = None
        if dv != self.active_dv:
            self.dv_cache = None
        self.active_dv = dv
        self.scope_cache = None

    # -- statements ---------------------------------------------------------------------
    def add_constants(self, symbols: list[str], path: str, text: str, offset: int) -> None:
        if self.frames:
            raise self.error("$c is allowed only in the outermost scope", path, text, offset)
        if not symbols:
            raise self.error("empty $c statement", path, text, offset)
        for sym in symbols:
            if not MATH_RE.match(sym):
                raise self.error(f"bad math symbol {sym!r}", path, text, offset)
            if sym in self.constants or sym in self.variables:
                raise self.error(f"symbol {sym!r} is declared twice", path, text, offset)
            if sym in self.statements:
                raise self.error(f"math symbol {sym!r} is also a label", path, text, offset)
            self.constants.add(sym)
            self.active_symbols.add(sym)

    def add_variables(self, symbols: list[str], path: str, text: str, offset: int) -> None:
        if not symbols:
            raise self.error("empty $v statement", path, text, offset)
        for sym in symbols:
            if not MATH_RE.match(sym):
                raise self.error(f"bad math symbol {sym!r}", path, text, offset)
            if sym in self.constants:
                raise self.error(f"{sym!r} is already a constant", path, text, offset)
            if sym in self.active_vars:
                raise self.error(f"variable {sym!r} is declared twice", path, text, offset)
            if sym in self.statements:
                raise self.error(f"math symbol {sym!r} is also a label", path, text, offset)
            self.variables.add(sym)
            self.active_vars.add(sym)
            self.active_symbols.add(sym)
            if self.frames:
                self.frames[-1][2].append(sym)

    def add_disjoint(self, symbols: list[str], path: str, text: str, offset: int) -> None:
        if not self.active_vars.issuperset(symbols):
            sym = next(sym for sym in symbols if sym not in self.active_vars)
            raise self.error(f"$d names {sym!r}, which is not an active variable",
                             path, text, offset)
        if len(set(symbols)) != len(symbols):
            raise self.error("$d repeats a variable", path, text, offset)
        if len(symbols) < 2:
            raise self.error("$d needs at least two variables", path, text, offset)
        symbols.sort()  # so each pair comes out as (x, y) with x < y
        self.active_dv.update([(x, y) for i, x in enumerate(symbols) for y in symbols[i + 1:]])
        self.scope_cache = None
        self.dv_cache = None

    def _check_label(self, label: str, path: str, text: str, offset: int) -> None:
        if label in self.constants or label in self.variables:
            raise self.error(f"label {label!r} is also a math symbol", path, text, offset)

    def add_float(self, label: str, symbols: list[str], path: str, text: str, offset: int) -> None:
        self._check_label(label, path, text, offset)
        if len(symbols) != 2:
            raise self.error(f"$f {label!r} must have a typecode and one variable",
                             path, text, offset)
        typecode, var = symbols
        if typecode not in self.constants:
            raise self.error(f"$f {label!r}: typecode {typecode!r} is not a declared constant",
                             path, text, offset)
        if var not in self.active_vars:
            raise self.error(f"$f {label!r}: {var!r} is not an active variable",
                             path, text, offset)
        if var in self.float_of:
            raise self.error(f"$f {label!r}: {var!r} already has an active $f "
                             f"({self.float_of[var]})", path, text, offset)
        self.float_of[var] = label
        if self.frames:
            self.frames[-1][3].append(var)
        self.active_hyps.append(label)
        self.hyp_index[label] = len(self.statements)
        self.scope_cache = None
        self.hyps_cache = None
        self.statements[label] = Statement(label, "f", typecode, var + " ", len(self.statements),
                                           path, offset)

    def add_assertion(self, kind: str, label: str, symbols: list[str], path: str, text: str,
                      offset: int, proof: str | None) -> None:
        self._check_label(label, path, text, offset)
        if not symbols:
            raise self.error(f"${kind} {label!r} has no typecode", path, text, offset)
        typecode = symbols[0]
        if typecode not in self.constants:
            raise self.error(f"${kind} {label!r}: typecode {typecode!r} is not a declared constant",
                             path, text, offset)
        if not self.active_symbols.issuperset(symbols):
            bad = next(s for s in symbols if s not in self.active_symbols)
            raise self.error(f"${kind} {label!r}: symbol {bad!r} is not declared (or not active)",
                             path, text, offset)
        body = " ".join(symbols[1:]) + " " if len(symbols) > 1 else ""
        if kind == "e":
            self.active_hyps.append(label)
            self.active_ess.append(label)
            self.hyp_index[label] = len(self.statements)
            self.scope_cache = None
            self.hyps_cache = None
            self.ess_vars_cache = None
            self.statements[label] = Statement(label, "e", typecode, body, len(self.statements),
                                               path, offset)
            return
        statements = self.statements
        mandatory = self.active_vars.intersection(symbols)
        if self.active_ess:
            mandatory |= self.essential_vars()
        float_of = self.float_of
        try:
            hyps = [float_of[var] for var in mandatory]
        except KeyError:
            var = next(var for var in mandatory if var not in float_of)
            raise self.error(f"${kind} {label!r}: variable {var!r} has no active $f",
                             path, text, offset) from None
        hyps += self.active_ess
        hyps.sort(key=self.hyp_index.__getitem__)  # database order
        active_dv = self.active_dv
        disjoint = frozenset([p for p in active_dv if p[0] in mandatory and p[1] in mandatory]
                             ) if active_dv else _NO_PAIRS
        statement = Statement(label, kind, typecode, body, len(statements), path, offset,
                              tuple(hyps), disjoint)
        if kind == "p":
            statement.scope = self.scope()
            statement.proof = proof
            self.theorems.append(statement)
        statements[label] = statement


def parse_database(path: str | os.PathLike[str], checkpoint: Callable[
        [Database, list[Statement], int, int], None] | None = None) -> Database:
    """Parse ``path`` (following ``$[ $]`` includes) into a :class:`Database`.

    Raises :class:`MetamathError` naming the file and line for anything malformed.
    ``checkpoint(db, theorems, chars_done, chars_total)``, if given, is called about every
    :data:`CHECKPOINT_CHARS` characters of a file, between two statements: ``db`` holds
    every statement so far (a proof cites only earlier ones, so the ``theorems`` parsed
    so far can already be checked) and ``chars_total`` counts the files read so far. The kernel uses it to start verifying while parsing goes on.
    """
    path = os.fspath(path)
    db = Database(path)
    parser = _Parser(db)
    parser.checkpoint = checkpoint
    enabled = gc.isenabled()
    gc.disable()  # millions of small objects and no cycles: the collector only costs time
    try:
        parser.parse_file(path, outermost=True)
    finally:
        if enabled:
            gc.enable()
    return db
