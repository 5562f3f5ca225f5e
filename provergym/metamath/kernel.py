"""The proof checker: normal and compressed proofs, with ``$d`` conditions enforced.

A proof may cite only the theorem's active hypotheses and assertions that come *before*
it in the database, never itself or a later one. ``?`` steps make a proof *incomplete*,
which is never reported as verified.

Data layout (what makes it fast; measured on set.mm):

- a stack entry is a tuple ``(typecode, body)``, the typecode interned and the body every
  symbol followed by one space (``"( ph -> ps ) "``), so comparing expressions is one
  string comparison;
- every assertion is compiled once into a :class:`Frame`: its conclusion and ``$e``
  hypotheses become ``str.format`` templates indexed by hypothesis position, so one
  ``zip(*args)`` splits the popped entries into typecodes (checked with one tuple
  comparison) and bodies (fed straight to ``format``); typecodes are interned, so the
  unrolled syntax steps compare them by identity;
- a proof runs as compressed *numbers* (normal proofs are numbered the same way): the
  letters of many compressed proofs are decoded at once, vectorised with numpy (5x the
  regex split), into ints that index one list, ``Z`` at 0, then what each table entry
  does, a pushed entry (a tuple) or a frame to apply (a list); ``Z`` appends the saved
  entry to that list, so it gets the next number;
- two loops run proofs: a fast one that only accepts or rejects (syntax frames with 1 to 3
  ``$f`` hypotheses unrolled, no step counting), and the reference loop, run only on a
  rejected proof, which makes the same checks one step at a time and says which step
  failed and why. It substitutes symbol by symbol, independently of the templates. A
  test checks that the two loops agree on corrupted proofs.
"""

from __future__ import annotations

import functools
import gc
import mmap
import os
import pickle
import re
import select
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from provergym.metamath.database import Database, Statement

COMPRESSED_STEP = re.compile(r"[U-Y]*[A-T]|Z|\?")
_find_codes = COMPRESSED_STEP.findall


class ProofError(Exception):
    """A proof that does not check; the message says which step and why."""


class IncompleteProof(ProofError):
    """A proof with unknown (``?``) steps."""


@dataclass(frozen=True)
class Failure:
    label: str
    line: int
    reason: str
    incomplete: bool = False
    file: str = ""


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    failures: tuple[Failure, ...]
    seconds: float

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if not f.incomplete]

    @property
    def incomplete(self) -> list[Failure]:
        return [f for f in self.failures if f.incomplete]


# -- compressed numbers -------------------------------------------------------------------
def compressed_code(number: int) -> str:
    """The letters of ``number`` (1-based) in a compressed proof: 1 -> A, 20 -> T, 21 -> UA."""
    number -= 1
    letters = [chr(65 + number % 20)]  # A..T end a number
    number //= 20
    while number:
        number -= 1
        letters.append(chr(85 + number % 5))  # U..Y are the leading digits
        number //= 5
    return "".join(reversed(letters))


_CODES: list[str] = [""]  # _CODES[n] is compressed_code(n); grown on demand


def _codes_upto(n: int) -> list[str]:
    codes = _CODES
    if len(codes) <= n:
        codes.extend([compressed_code(i) for i in range(len(codes), 2 * n + 64)])
    return codes


def compressed_number(code: str) -> int:
    """The number (1-based) a compressed-proof code stands for: A -> 1, T -> 20, UA -> 21."""
    number = 0
    for char in code[:-1]:
        number = number * 5 + (ord(char) - 84)  # U=1 .. Y=5
    return number * 20 + (ord(code[-1]) - 64)  # A=1 .. T=20


# The fast loop's decoding of compressed letters into numbers, vectorised: every character
# but the leading digits U-Y ends a code, so no character is skipped. A-T end a number, Z
# is 0, and anything else that ends a code (?, a bad character, Z or ? after leading
# digits) is BAD, a number beyond any table, so the fast loop's lookup fails on it.
BAD = 1 << 40
MAX_LEADING = 10  # more leading digits than this: a number beyond any table (BAD)
_ENDS_IN_LEADING = frozenset("UVWXY")


@functools.cache
def _decoding_tables():
    """numpy and its tables, imported on first use: with two jobs, the first worker
    imports it while the parse goes on."""
    import numpy as np

    final = np.full(256, BAD, dtype=np.int64)
    final[65:85] = np.arange(1, 21)  # A..T
    final[ord("Z")] = 0
    leading = np.zeros(256, dtype=np.int64)
    leading[85:90] = np.arange(1, 6)  # U..Y
    powers = 5.0 ** np.arange(MAX_LEADING)  # exact in float64 (bincount's weights)
    return np, final, leading, powers


def _letters_of(numbers: list[int]) -> str:
    """The compressed letters of numbers we made ourselves (each one Z or a valid code)."""
    codes = _codes_upto(max(numbers, default=0))
    return "".join(["Z" if n == 0 else codes[n] for n in numbers])


def decode_numbers(proofs: Sequence[str]) -> list[list[int]]:
    """The numbers of the codes of each compressed proof in ``proofs`` (letters only, no
    spaces): ``Z`` is 0, a code that is not a number or ``Z`` is :data:`BAD`, and so is a
    number cut short at the end. One vectorised pass over all of them."""
    np, final_of, leading_of, powers = _decoding_tables()
    # A proof ending in leading digits gets a bad character, so they stay its own.
    texts = [text + "!" if text[-1:] in _ENDS_IN_LEADING else text for text in proofs]
    chars = np.frombuffer("".join(texts).encode("latin-1", "replace"), dtype=np.uint8)
    leading = leading_of[chars]
    ends = leading == 0
    where_ends = np.flatnonzero(ends)
    numbers = final_of[chars[where_ends]]
    digits = np.flatnonzero(~ends)
    if len(digits):
        code = np.cumsum(ends)[digits]  # each leading digit's code: the codes ended before
        power = where_ends[code] - digits - 1
        weights = leading[digits] * powers[np.minimum(power, MAX_LEADING - 1)]
        values = np.bincount(code, weights=weights, minlength=len(numbers)).astype(np.int64)
        too_long = np.bincount(code, weights=power >= MAX_LEADING, minlength=len(numbers)) > 0
        prefixed = values > 0
        numbers = np.where(prefixed & (numbers > 0) & (numbers < BAD) & ~too_long,
                           values * 20 + numbers, np.where(prefixed, BAD, numbers))
    flat = numbers.tolist()
    bounds = np.searchsorted(where_ends, np.cumsum([len(t) for t in texts])).tolist()
    return [flat[start:end] for start, end in zip([0, *bounds], bounds)]


# -- frames ------------------------------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _template(body: str, placeholder: dict[str, str]) -> str:
    """``"( ph -> ps ) "`` with ph, ps the hypotheses 0 and 1 becomes ``"( {0}-> {1}) "``:
    a substitution already ends in a space (or is empty), so none follows a placeholder."""
    if "{" in body or "}" in body:
        body = _escape(body)  # placeholder's keys are escaped variable names too
    symbols = body.split()
    if not symbols:
        return ""
    # Placeholders end in NUL (never in a .mm file) so the space after them can be dropped.
    return (" ".join(map(placeholder.get, symbols, symbols)) + " ").replace("\0 ", "")


def _substitute(body: str, substitution: dict[str, str]) -> str:
    """The reference substitution, symbol by symbol (the explaining loop uses it, so the
    two loops check each other's substitutions)."""
    return "".join([substitution.get(symbol, symbol + " ") for symbol in body.split()])


_Z = object()  # the code Z: save the top of the stack


class Frame:
    """An assertion compiled for application: what its hypotheses expect and what it gives.

    ``essentials`` holds ``(position, body, label)`` of each ``$e``, ``disjoint`` the
    positions of each ``$d`` pair's ``$f``. ``compiled`` is what the fast loop unpacks,
    and its class says how: a tuple is an entry to push (an assertion without hypotheses
    always pushes the same one); a list is a frame to apply, ``[n, typecode_1, ...,
    typecode_n, fill, typecode, frame]`` for 1 to 3 ``$f`` hypotheses and no ``$d``
    (syntax axioms: most steps), or ``[0, n, typecodes, ((position, fill), ...) for the
    $e, disjoint, fill, typecode, frame]`` for the general case; fills are bound
    ``str.format`` methods of templates numbering the hypotheses by position.
    """

    __slots__ = ("label", "index", "typecode", "body", "typecodes", "variables", "floats",
                 "essentials", "disjoint", "compiled")

    def __init__(self, db: Database, statement: Statement):
        statements = db.statements
        self.label = statement.label
        self.index = statement.index
        self.typecode = typecode = sys.intern(statement.typecode)
        self.body = statement.body
        hyps = [statements[h] for h in statement.hypotheses]
        self.typecodes = typecodes = tuple([sys.intern(h.typecode) for h in hyps])
        placeholder: dict[str, str] = {}
        floats: list[int] = []
        variables: list[str] = []
        essentials: list[tuple[int, str, str]] = []
        for pos, hyp in enumerate(hyps):
            if hyp.kind == "f":
                var = hyp.body[:-1]
                floats.append(pos)
                variables.append(var)
                placeholder[_escape(var) if "{" in var or "}" in var else var] = f"{{{pos}}}\0"
            else:
                essentials.append((pos, hyp.body, hyp.label))
        self.floats = tuple(floats)
        self.variables = tuple(variables)
        self.essentials = tuple(essentials)
        if statement.disjoint:
            position = dict(zip(variables, floats))
            self.disjoint = tuple([(position[x], position[y])
                                   for x, y in sorted(statement.disjoint)])
        else:
            self.disjoint = ()
        self.compiled: list | tuple
        # Fills are bound str.format methods of templates, so the fast loop calls them
        # without an attribute lookup. (Functions compiled per shape, one f-string each,
        # were measured: their loop gain was eaten by the cost of building them.)
        if not hyps:
            self.compiled = (typecode, statement.body)
        elif len(hyps) <= 3 and not essentials and not self.disjoint:
            self.compiled = [len(hyps), *typecodes, _template(statement.body, placeholder).format,
                             typecode, self]
        else:
            self.compiled = [0, len(hyps), typecodes,
                             tuple([(pos, _template(body, placeholder).format)
                                    for pos, body, _ in essentials]),
                             self.disjoint, _template(statement.body, placeholder).format,
                             typecode, self]

    @property
    def n_hyps(self) -> int:
        return len(self.typecodes)

    @property
    def n_vars(self) -> int:
        return len(self.floats)

    def substitution(self, bodies: Sequence[str]) -> dict[str, str]:
        """Each variable of the frame -> its body among the popped ``bodies``."""
        return {var: bodies[pos] for var, pos in zip(self.variables, self.floats)}

    def __repr__(self) -> str:
        return f"Frame({self.label})"


class _Rejected(Exception):
    """Raised by the fast proof loop, which does not say why: the explaining loop does."""


_first, _second, _third = itemgetter(0), itemgetter(1), itemgetter(2)


def _show(entry: tuple[str, str]) -> str:
    return f"{entry[0]} {entry[1]}".rstrip()


class Kernel:
    """Checks proofs of one database. Frames are compiled on first use and cached."""

    def __init__(self, db: Database):
        self.db = db
        self.statements = db.statements
        self.frames: dict[str, Frame] = {}
        self.variables = db.variables
        # label -> (index, active_until, what citing it does); see _resolve
        self._citable: dict[str, tuple[int, int, tuple | list]] = {}
        self._variables_of: dict[str, tuple[str, ...]] = {}  # substitution -> its variables
        self._symmetric: dict[frozenset, set] = {}  # a scope's $d pairs, both orders
        self._disjoint_with: dict[frozenset, dict[str, frozenset[str]]] = {}  # see _disjoint_ok

    def frame(self, label: str) -> Frame:
        frame = self.frames.get(label)
        if frame is None:
            frame = self.frames[label] = Frame(self.db, self.statements[label])
        return frame

    # -- resolution ---------------------------------------------------------------------
    def _citation(self, label: str) -> tuple[int, int, tuple | list]:
        """Where ``label`` may be cited (statements with index strictly between the two
        numbers) and what citing it does: push an entry, or apply a compiled frame."""
        found = self._citable.get(label)
        if found is None:
            statement = self.statements.get(label)
            if statement is None:
                raise ProofError(f"unknown label {label!r}")
            if statement.kind in "fe":
                item: tuple | list = (sys.intern(statement.typecode), statement.body)
                # Active: after it, and before its ${ $} block closes.
                found = (statement.index, statement.active_until, item)
            else:
                found = (statement.index, 1 << 62, self.frame(label).compiled)
            self._citable[label] = found
        return found

    def _cannot_cite(self, theorem: Statement, label: str) -> ProofError:
        statement = self.statements[label]
        if statement.kind in "fe":
            return ProofError(f"hypothesis {label!r} is not active in this scope")
        which = "itself" if label == theorem.label else f"{label!r}, which comes later"
        return ProofError(f"the proof cites {which}")

    def _table(self, theorem: Statement, labels: Sequence[str]) -> list:
        """What each of ``labels`` does, checking that ``theorem`` may cite it."""
        citable = self._citable
        try:
            found = list(map(citable.__getitem__, labels))
        except KeyError:  # first citation of some label: compile it
            found = [citable.get(label) or self._citation(label) for label in labels]
        at = theorem.index
        if found and not max(map(_first, found)) < at < min(map(_second, found)):
            bad = next(label for label, (start, end, _) in zip(labels, found)
                       if not start < at < end)
            raise self._cannot_cite(theorem, bad)
        return list(map(_third, found))

    # -- checking -----------------------------------------------------------------------
    def verify(self, label: str) -> None:
        """Raise :class:`ProofError` unless ``label``'s proof proves its statement."""
        theorem = self._theorem(label)
        self._run(theorem, *self._program(theorem))

    def _theorem(self, label: str) -> Statement:
        theorem = self.statements[label]
        if theorem.kind != "p":
            raise ProofError(f"{label!r} is a ${theorem.kind}, not a $p")
        return theorem

    def verify_many(self, labels: Sequence[str]) -> Iterator[tuple[str, Exception | None]]:
        """Check the proofs of ``labels`` and yield ``(label, None)`` for each proof that
        checks, ``(label, error)`` for each that does not: a :class:`ProofError`, or any
        other exception, a kernel bug that must still never pass a proof. The compressed
        proofs of a batch are decoded together, in one vectorised pass."""
        for start in range(0, len(labels), VERIFY_BATCH):
            batch = labels[start:start + VERIFY_BATCH]
            programs: dict[str, tuple] = {}
            errors: dict[str, Exception] = {}
            for label in batch:
                try:
                    theorem = self._theorem(label)
                    programs[label] = (theorem, *self._program(theorem))
                except Exception as error:  # noqa: BLE001 - reported, never passed
                    errors[label] = error
            compressed = [label for label, program in programs.items() if program[3] is None]
            decoded = dict(zip(compressed, decode_numbers([programs[label][2]
                                                           for label in compressed])))
            for label in batch:
                error = errors.get(label)
                if error is None:
                    theorem, table, letters, numbers = programs[label]
                    try:
                        self._run(theorem, table, letters,
                                  decoded[label] if numbers is None else numbers)
                    except Exception as failure:  # noqa: BLE001 - reported, never passed
                        error = failure
                yield label, error

    def verify_normal(self, label: str, proof: Sequence[str]) -> None:
        """Check a proof given as a list of labels (normal format, no ``?``) for the
        statement ``label``, citing only what ``label`` may cite. Stable API used by the
        environment and export."""
        theorem = self.statements[label]
        if theorem.kind not in "ap":
            raise ProofError(f"{label!r} is a ${theorem.kind}, not an assertion")
        self._run(theorem, *self._normal(theorem, list(proof)))

    def _program(self, theorem: Statement) -> tuple[list, str | None, list[int] | None]:
        """What running ``theorem``'s proof needs: the table of what its labels do, and its
        codes, as compressed letters (a compressed proof: numbers still to decode) or as
        numbers (a normal proof: letters made only if it fails)."""
        proof = theorem.proof or ""
        head, close, rest = proof.partition(")")
        labels = head.split()
        if not labels or labels[0] != "(":
            return self._normal(theorem, proof.split())
        if close and head[-1].isspace() and not rest[:1].strip():  # ")" is a token
            return self._compressed_parts(theorem, labels[1:], rest)
        return self._compressed(theorem, proof.split())

    def _normal(self, theorem: Statement, tokens: list[str]) -> tuple[list, None, list[int]]:
        """A normal proof as a table of its distinct labels and the codes citing them."""
        if not tokens:
            raise ProofError("empty proof")
        if "?" in tokens:
            raise IncompleteProof("the proof has unknown steps (?)")
        number_of: dict[str, int] = {}
        for token in tokens:
            if token not in number_of:
                number_of[token] = len(number_of) + 1
        return self._table(theorem, list(number_of)), None, list(map(number_of.__getitem__,
                                                                      tokens))

    def _compressed(self, theorem: Statement, tokens: list[str]) -> tuple[list, str, None]:
        """A compressed proof's table (mandatory hypotheses, then its labels) and letters."""
        try:
            close = tokens.index(")")
        except ValueError:
            raise ProofError("compressed proof: the label list has no ')'") from None
        return self._compressed_parts(theorem, tokens[1:close], " ".join(tokens[close + 1:]))

    def _compressed_parts(self, theorem: Statement, labels: list[str], rest: str
                          ) -> tuple[list, str, None]:
        """The table and letters of a compressed proof: ``labels`` between the parentheses
        and the text after them."""
        mandatory = theorem.hypotheses
        if not frozenset(mandatory).isdisjoint(labels):
            bad = next(label for label in labels if label in mandatory)
            raise ProofError(f"compressed proof lists mandatory hypothesis {bad!r}")
        table = self._table(theorem, [*mandatory, *labels])
        letters = "".join(rest.split())
        if not letters:
            raise ProofError("compressed proof has no steps")
        return table, letters, None

    def _run(self, theorem: Statement, table: list, letters: str | None,
             numbers: list[int] | None = None) -> None:
        """Run a proof: number n <= len(table) does what ``table[n - 1]`` says; ``Z`` (0)
        saves the top of the stack as the next number. Either the letters or the numbers
        may be missing (see :meth:`_program`). The fast loop only accepts or rejects; a
        rejected proof is run again by :meth:`_explain`, which says why."""
        if numbers is None:
            assert letters is not None
            numbers = decode_numbers([letters])[0]
        try:
            self._fast(theorem, table, numbers)
            return
        except Exception:  # noqa: BLE001 - any surprise in the fast loop is a rejection
            pass
        if letters is None:
            letters = _letters_of(numbers)
        self._explain(theorem, table, letters)
        raise ProofError("internal error: the fast loop rejected a proof that the explaining "
                         "loop accepts")

    def _fast(self, theorem: Statement, table: list, numbers: list[int]) -> None:
        """Accept the proof or raise (anything): the hot loop, with no bookkeeping for
        error messages. Every check of :meth:`_explain` is made here too. A bad number
        (BAD, or beyond the entries so far) fails the lookup: an IndexError."""
        lookup: list = [_Z, *table]
        save = lookup.append
        stack: list[tuple[str, str]] = []
        push, pop = stack.append, stack.pop
        # map() is lazy: an entry saved by Z is in ``lookup`` by the time it is cited.
        for step in map(lookup.__getitem__, numbers):
            kind = step.__class__
            if kind is tuple:  # a hypothesis, a saved entry, or an assertion without hypotheses
                push(step)
            elif kind is list:  # a frame: pop its hypotheses, push its conclusion
                arity = step[0]
                # Typecodes are interned (hypotheses, conclusions): compare identities.
                if arity == 2:
                    _, want_0, want_1, fill, typecode, _ = step
                    second = pop()
                    first = stack[-1]
                    if first[0] is not want_0 or second[0] is not want_1:
                        raise _Rejected
                    stack[-1] = (typecode, fill(first[1], second[1]))
                elif arity == 1:
                    _, want_0, fill, typecode, _ = step
                    first = stack[-1]
                    if first[0] is not want_0:
                        raise _Rejected
                    stack[-1] = (typecode, fill(first[1]))
                elif arity == 3:
                    _, want_0, want_1, want_2, fill, typecode, _ = step
                    third = pop()
                    second = pop()
                    first = stack[-1]
                    if first[0] is not want_0 or second[0] is not want_1 \
                            or third[0] is not want_2:
                        raise _Rejected
                    stack[-1] = (typecode, fill(first[1], second[1], third[1]))
                else:
                    _, n_hyps, typecodes, essentials, disjoint, fill, typecode, frame = step
                    base = len(stack) - n_hyps
                    if base < 0:
                        raise _Rejected
                    types, bodies = zip(*stack[base:])
                    del stack[base:]
                    if types != typecodes:
                        raise _Rejected
                    for pos, hypothesis in essentials:
                        if bodies[pos] != hypothesis(*bodies):
                            raise _Rejected
                    if disjoint and not self._disjoint_ok(theorem, frame, bodies):
                        raise _Rejected
                    push((typecode, fill(*bodies)))
            else:  # _Z
                save(stack[-1])
        if len(stack) != 1 or stack[0][1] != theorem.body or stack[0][0] != theorem.typecode:
            raise _Rejected

    def _explain(self, theorem: Statement, table: list, letters: str) -> None:
        """The reference loop: the same checks as :meth:`_fast`, one step at a time, and a
        :class:`ProofError` that names the step and the reason."""
        codes = _find_codes(letters)
        if sum(map(len, codes)) != len(letters):
            self._bad_letters(letters)
        numbers = _codes_upto(len(table) + len(codes) + 1)
        lookup: dict = dict(zip(numbers[1:len(table) + 1], table))
        lookup["Z"] = _Z
        next_saved = len(table) + 1
        stack: list[tuple[str, str]] = []
        push = stack.append
        steps = map(lookup.get, codes)
        for step in steps:
            kind = step.__class__
            if kind is tuple:
                push(step)
            elif kind is list:
                frame = step[-1]
                typecodes = frame.typecodes
                base = len(stack) - len(typecodes)
                if base < 0:
                    raise self._short_stack(codes, steps, stack, frame)
                args = stack[base:]
                del stack[base:]
                types, bodies = zip(*args)
                if types != typecodes:
                    raise self._bad_typecode(codes, steps, frame, args)
                substitution = frame.substitution(bodies)
                for pos, hypothesis, label in frame.essentials:
                    wanted = _substitute(hypothesis, substitution)
                    if bodies[pos] != wanted:
                        raise self._step_error(
                            codes, steps, f"{frame.label}: hypothesis {label} wants "
                            f"'{_show((typecodes[pos], wanted))}', got '{_show(args[pos])}'")
                if frame.disjoint:
                    self._check_disjoint(theorem, frame, bodies, codes, steps)
                push((frame.typecode, _substitute(frame.body, substitution)))
            elif step is _Z:
                if not stack:
                    raise self._step_error(codes, steps, "Z with an empty stack")
                lookup[numbers[next_saved]] = stack[-1]
                next_saved += 1
            else:
                raise self._bad_code(codes, steps, len(table), next_saved)
        if len(stack) != 1:
            raise ProofError(f"the proof leaves {len(stack)} entries on the stack, not 1")
        if stack[0][1] != theorem.body or stack[0][0] != theorem.typecode:
            raise ProofError(f"the proof proves '{_show(stack[0])}', not the statement "
                             f"'{theorem.expression()}'")

    # -- error messages (slow path) -------------------------------------------------------
    @staticmethod
    def _failing(codes: list[str], steps: Iterator) -> tuple[int, str]:
        """The number and code of the step that failed: the loop does not count steps, so
        count what is left of its (lazy) iterator."""
        number = len(codes) - sum(1 for _ in steps)
        return number, codes[number - 1]

    def _step_error(self, codes: list[str], steps: Iterator, message: str) -> ProofError:
        number, code = self._failing(codes, steps)
        return ProofError(f"step {number}: {message}")

    def _bad_letters(self, letters: str) -> None:
        bad = re.sub(r"[A-Z?]", "", letters)[:1]
        if bad:
            raise ProofError(f"compressed proof: bad character {bad!r}")
        raise ProofError(f"compressed proof: bad or truncated number near the end "
                         f"({letters[-4:]!r})")

    def _bad_code(self, codes: list[str], steps: Iterator, n_table: int,
                  next_saved: int) -> ProofError:
        number, code = self._failing(codes, steps)
        if code == "?":
            return IncompleteProof("the proof has unknown steps (?)")
        return ProofError(f"step {number}: code {code} is number {compressed_number(code)}, "
                          f"but the proof has {n_table} labels and "
                          f"{next_saved - n_table - 1} saved steps so far")

    def _short_stack(self, codes: list[str], steps: Iterator, stack: list,
                     frame: Frame) -> ProofError:
        return self._step_error(codes, steps, f"{frame.label} needs {frame.n_hyps} "
                                f"hypotheses, the stack has {len(stack)}")

    def _bad_typecode(self, codes: list[str], steps: Iterator, frame: Frame,
                      args: list) -> ProofError:
        number, _ = self._failing(codes, steps)
        for pos, (want, entry) in enumerate(zip(frame.typecodes, args)):
            if entry[0] != want:
                return ProofError(f"step {number}: {frame.label}: hypothesis {pos + 1} "
                                  f"wants typecode {want}, got '{_show(entry)}'")
        raise AssertionError("no typecode mismatch")

    def _check_disjoint(self, theorem: Statement, frame: Frame, bodies: tuple[str, ...],
                        codes: list[str], steps: Iterator) -> None:
        dv = theorem.scope.disjoint if theorem.scope else theorem.disjoint
        allowed = self._symmetric.get(dv)
        if allowed is None:
            allowed = self._symmetric[dv] = {*dv, *((y, x) for x, y in dv)}
        for i, j in frame.disjoint:
            left, right = self._body_variables(bodies[i]), self._body_variables(bodies[j])
            for x in left:
                for y in right:
                    if (x, y) not in allowed:
                        first, second = frame.variables[frame.floats.index(i)], \
                            frame.variables[frame.floats.index(j)]
                        if x == y:
                            raise self._step_error(
                                codes, steps, f"{frame.label}: $d {first} {second} violated: "
                                f"both substitutions contain {x}")
                        raise self._step_error(
                            codes, steps, f"{frame.label}: its $d {first} {second} requires "
                            f"$d {x} {y} after substitution, which {theorem.label} "
                            "does not have")

    def _body_variables(self, body: str):
        """The variables of a substituted expression (cached per expression)."""
        found = self._variables_of.get(body)
        return found if found is not None else self._variables_in(body)

    def _disjoint_ok(self, theorem: Statement, frame: Frame, bodies: tuple[str, ...]) -> bool:
        """Whether ``frame``'s ``$d`` pairs hold after substituting ``bodies``: every variable
        of one substitution must be ``$d`` (in ``theorem``'s scope, dummies included) with
        every variable of the other, and so must differ from it."""
        dv = theorem.scope.disjoint if theorem.scope else theorem.disjoint
        disjoint_with = self._disjoint_with.get(dv)
        if disjoint_with is None:
            disjoint_with = self._disjoint_with[dv] = _disjoint_map(dv)
        for i, j in frame.disjoint:
            left, right = self._body_variables(bodies[i]), self._body_variables(bodies[j])
            for x in left:
                if not disjoint_with.get(x, _NOTHING).issuperset(right):
                    return False
        return True

    def _variables_in(self, body: str) -> tuple[str, ...]:
        variables = self.variables
        if len(self._variables_of) > 100_000:  # a cache, not a record: keep memory flat
            self._variables_of.clear()
        found = self._variables_of[body] = tuple([s for s in body.split() if s in variables])
        return found

    # -- steps as data (for the environment and tools) ------------------------------------
    def decode(self, theorem: Statement) -> list:
        """The proof as a list of steps: a hypothesis entry ``(typecode, body)``, a
        :class:`Frame`, ``("Z",)`` to save the top of the stack (compressed proofs), or an
        ``int`` k meaning "push saved entry k". Checks labels, not the proof itself."""
        table, letters, numbers = self._program(theorem)
        if letters is None:
            letters = _letters_of(numbers or [])
        tokens = (theorem.proof or "").split()
        if tokens[0] == "(":
            labels = [*theorem.hypotheses, *tokens[1:tokens.index(")")]]
        else:
            labels = list(dict.fromkeys(tokens))  # distinct, in order: how _normal numbers them
        steps: list = []
        for code in _find_codes(letters):
            if code == "Z":
                steps.append(("Z",))
            elif code == "?":
                raise IncompleteProof("the proof has unknown steps (?)")
            else:
                number = compressed_number(code)
                if number > len(table):
                    steps.append(number - len(table) - 1)
                elif table[number - 1].__class__ is list or \
                        self.statements[labels[number - 1]].kind in "ap":
                    steps.append(self.frame(labels[number - 1]))
                else:
                    steps.append(table[number - 1])
        return steps

    def check_steps(self, theorem: Statement, steps: Sequence) -> None:
        """Check steps in :meth:`decode`'s format."""
        table: list = []
        number_of: dict = {}
        for step in steps:  # first pass: the table, so saved entries can be numbered after it
            if step.__class__ is Frame:
                key, item = ("frame", step.label), step.compiled
            elif step.__class__ is tuple and len(step) == 2:
                key, item = ("entry", step), (sys.intern(step[0]), step[1])
            else:
                continue
            if key not in number_of:
                number_of[key] = len(table) + 1
                table.append(item)
        numbers = []
        for step in steps:
            if step.__class__ is Frame:
                numbers.append(number_of["frame", step.label])
            elif step.__class__ is tuple and len(step) == 2:
                numbers.append(number_of["entry", step])
            elif step.__class__ is tuple:
                numbers.append(0)  # Z
            else:
                numbers.append(len(table) + 1 + step)
        self._run(theorem, table, None, numbers)


_NOTHING: frozenset[str] = frozenset()
VERIFY_BATCH = 256  # proofs decoded together by Kernel.verify_many
CLAIM_BLOCK = 16  # early theorems claimed at a time while verifying during the parse


def _disjoint_map(pairs: frozenset[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Each variable of ``pairs`` -> the variables it is ``$d`` with (never itself)."""
    partners: dict[str, set[str]] = {}
    for x, y in pairs:
        partners.setdefault(x, set()).add(y)
        partners.setdefault(y, set()).add(x)
    return {var: frozenset(others) for var, others in partners.items()}


def _check_many(db: Database, labels: Iterable[str], kernel: Kernel | None = None
                ) -> list[Failure]:
    kernel = kernel or Kernel(db)
    failures = []
    for label, error in kernel.verify_many(list(labels)):
        if error is None:
            continue
        if isinstance(error, ProofError):
            failures.append(_failure(db, label, str(error), isinstance(error, IncompleteProof)))
        else:  # a kernel bug must still never pass a proof
            failures.append(_failure(db, label, f"internal error: {error!r}", False))
    return failures


def _failure(db: Database, label: str, reason: str, incomplete: bool) -> Failure:
    statement = db.statements[label]
    return Failure(label, db.line_of(statement), reason, incomplete, statement.file)


# Set in the parent before forking, so workers inherit the parsed database for free.
_SHARED_DB: Database | None = None


_WORKER_KERNEL: Kernel | None = None  # one per worker process: frames compiled once


def _worker(labels: list[str]) -> tuple[int, list[Failure]]:
    global _WORKER_KERNEL
    gc.disable()
    assert _SHARED_DB is not None
    if _WORKER_KERNEL is None or _WORKER_KERNEL.db is not _SHARED_DB:
        _WORKER_KERNEL = Kernel(_SHARED_DB)
    return len(labels), _check_many(_SHARED_DB, labels, _WORKER_KERNEL)


def verify_database(db: Database, labels: Sequence[str] | None = None, jobs: int = 1,
                    progress: bool = False) -> VerifyReport:
    """Check the proofs of ``labels`` (default: every ``$p``) with ``jobs`` processes
    (forked after parsing, so they share the database). ``progress`` shows a tqdm bar on
    a terminal."""
    global _SHARED_DB
    start = time.perf_counter()
    if labels is None:
        labels = [s.label for s in db.statements.values() if s.kind == "p"]
    labels = list(labels)
    enabled = gc.isenabled()
    gc.disable()  # millions of objects and no cycles: the collector only costs time
    try:
        if jobs <= 1 or len(labels) < 200 or not hasattr(os, "fork"):
            failures = _check_many(db, labels)
        else:
            failures = _check_parallel(db, labels, jobs, progress)
    finally:
        _SHARED_DB = None
        if enabled:
            gc.enable()
    return VerifyReport(len(labels), tuple(failures), time.perf_counter() - start)


def _check_parallel(db: Database, labels: list[str], jobs: int,
                    progress: bool) -> list[Failure]:
    global _SHARED_DB
    import multiprocessing

    from tqdm import tqdm

    _SHARED_DB = db
    gc.freeze()  # keep the inherited pages shared: no refcount-free gc walks
    try:
        context = multiprocessing.get_context("fork")
        # Interleaved chunks balance the load (late theorems have longer proofs); many
        # small ones keep both workers busy to the end.
        n_chunks = jobs * 16
        chunks = [labels[i::n_chunks] for i in range(n_chunks)]
        failures: list[Failure] = []
        with context.Pool(jobs) as pool, tqdm(
                total=len(labels), unit="proof", disable=not progress or None,
                leave=False) as bar:
            for done, part in pool.imap_unordered(_worker, chunks):
                failures += part
                bar.update(done)
    finally:
        gc.unfreeze()
    order = {label: i for i, label in enumerate(labels)}
    failures.sort(key=lambda f: order[f.label])
    return failures


# -- verifying while parsing ---------------------------------------------------------------
MIN_EARLY_THEOREMS = 200  # fewer theorems are not worth a fork


def parse_and_verify(path: str | os.PathLike[str], jobs: int = 1, progress: bool = False
                     ) -> tuple[Database, VerifyReport, float]:
    """Parse ``path`` and check every proof; return the database, the report and the
    seconds spent parsing. Raises :class:`MetamathError` like :func:`parse_database`.

    With ``jobs == 2`` the two overlap, as a relay: while this process parses, a worker
    forked at a checkpoint checks the theorems parsed so far (a proof cites only earlier
    statements, so the half-parsed database it inherits is enough); when it is done, the
    next one is forked for the theorems parsed since. Each takes about six times as long
    to check as to parse, so there are a few workers, and the second core is busy from
    the first checkpoint with MIN_EARLY_THEOREMS theorems on. After the parse, this
    process checks the theorems no worker took while the last worker runs on; once that
    worker is done, one more is forked for what is left of them, inheriting this process's
    compiled frames (see :meth:`_Relay.finish`). Two processes that share theorems take
    them from opposite ends, and a flag per theorem, in shared memory, makes them stop
    where they meet. A theorem a worker
    rejects is checked again here, with the whole database, for the exact message. With
    ``jobs > 2`` (or 1) the proofs are checked after the parse by :func:`verify_database`
    (``progress`` is its tqdm bar; the overlapped run shows none).
    """
    from provergym.metamath.database import parse_database

    start = time.perf_counter()
    if jobs != 2 or not hasattr(os, "fork"):
        db = parse_database(path)
        parsed = time.perf_counter()
        return db, verify_database(db, jobs=jobs, progress=progress), parsed - start
    enabled = gc.isenabled()
    gc.disable()  # millions of objects and no cycles: the collector only costs time
    relay = _Relay()
    try:
        db = parse_database(path, relay.checkpoint)
        parsed = time.perf_counter()
        failures = relay.finish(db)
    finally:
        relay.abandon()
        if enabled:
            gc.enable()
    report = VerifyReport(len(db.theorems()), tuple(failures), time.perf_counter() - parsed)
    return db, report, parsed - start


class _Worker(NamedTuple):
    pid: int
    read_end: int  # where its rejected labels come from
    labels: list[str]  # its theorems
    claimed: mmap.mmap  # one byte per theorem, shared: 1 once some process took it


class _Relay:
    """The workers of :func:`parse_and_verify` with two jobs: one at a time, each forked
    for the theorems parsed since the previous one was forked."""

    def __init__(self) -> None:
        self.handed = 0  # theorems (in parse order) handed to workers so far
        self.worker: _Worker | None = None  # the one running now
        self.rejected: set[str] = set()  # rejected by the workers done so far
        self.died: list[str] = []  # the theorems of workers that died: checked here

    @property
    def pid(self) -> int | None:
        return self.worker.pid if self.worker else None

    def _done(self) -> bool:
        """Whether the running worker has finished (it writes at the end, or dies)."""
        assert self.worker is not None
        return bool(select.select([self.worker.read_end], [], [], 0)[0])

    def checkpoint(self, db: Database, theorems: list[Statement], done: int,
                   total: int) -> None:
        if self.worker is not None:
            if not self._done():
                return
            self._collect()
        if len(theorems) - self.handed >= MIN_EARLY_THEOREMS:
            labels = [t.label for t in theorems[self.handed:]]
            self.handed = len(theorems)
            _decoding_tables()  # imported once here, not once per worker
            self._fork(db, labels)

    def _fork(self, db: Database, labels: list[str], kernel: Kernel | None = None) -> None:
        """Start a worker for ``labels``, from the last one backwards; it inherits
        ``kernel``'s compiled frames."""
        claimed = mmap.mmap(-1, len(labels))  # shared with the worker
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: check, send the failures, exit without cleanup
            code = 1
            try:
                os.close(read_end)
                failures = _check_claimed(db, labels, reversed(range(len(labels))), claimed,
                                          kernel)
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump([f.label for f in failures], pipe)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self.worker = _Worker(pid, read_end, labels, claimed)

    def _collect(self) -> None:
        """Read what the running worker rejected, and reap it."""
        worker, self.worker = self.worker, None
        assert worker is not None
        with os.fdopen(worker.read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(worker.pid, 0)
        if status == 0 and data:
            self.rejected.update(pickle.loads(data))
        else:  # it died: check everything it took here
            self.died += worker.labels

    def finish(self, db: Database) -> list[Failure]:
        """After the parse: check the theorems no worker took, while the running worker
        (if any) goes on; once it is done, one last worker is forked for what is left of
        them, with this process's compiled frames, and the two take them from opposite
        ends. If they run out first, this process takes the running worker's theorems
        from the front instead. Two processes all along, and they stop together."""
        kernel = Kernel(db)
        theorems = db.theorems()
        late = [t.label for t in theorems[self.handed:]]
        failures: list[Failure] = []
        done = 0
        while self.worker is not None and done < len(late):
            if self._done():
                self._collect()
                break
            failures += _check_many(db, late[done:done + CLAIM_BLOCK], kernel)
            done += CLAIM_BLOCK
        late = late[done:]
        if self.worker is None and len(late) >= MIN_EARLY_THEOREMS:
            self.handed = len(theorems)
            self._fork(db, late, kernel)
            late = []
        failures += _check_many(db, late, kernel)
        if self.worker is not None:
            worker = self.worker
            failures += _check_claimed(db, worker.labels, range(len(worker.labels)),
                                       worker.claimed, kernel)
            self._collect()
        mine = {f.label for f in failures}
        # A worker's database ended where it forked: messages come from the whole one.
        redo = [t.label for t in theorems[:self.handed]
                if (t.label in self.rejected or t.label in self.died) and t.label not in mine]
        failures += _check_many(db, redo, kernel)
        failures.sort(key=lambda f: db.statements[f.label].index)
        return failures

    def abandon(self) -> None:
        """Stop a worker still running (the parse failed, or an interrupt)."""
        worker, self.worker = self.worker, None
        if worker is not None:
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(worker.pid, 0)
            os.close(worker.read_end)


def _check_claimed(db: Database, labels: list[str], order: Iterable[int], claimed: mmap.mmap,
                   kernel: Kernel | None = None) -> list[Failure]:
    """Check ``labels`` in ``order`` until one is already claimed by the other process.
    A label is claimed before it is checked, so each is checked at least once (twice at
    most, where both processes claim it at the same moment)."""
    kernel = kernel or Kernel(db)
    failures: list[Failure] = []
    block: list[str] = []  # claimed, checked together (one decoding pass)
    for i in order:
        if claimed[i]:
            break
        claimed[i] = 1
        block.append(labels[i])
        if len(block) == CLAIM_BLOCK:
            failures += _check_many(db, block, kernel)
            block = []
    return failures + _check_many(db, block, kernel)
