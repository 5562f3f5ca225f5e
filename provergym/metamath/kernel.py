"""The proof checker: normal and compressed proofs, with ``$d`` conditions enforced.

A proof may cite only the theorem's active hypotheses and assertions that come *before*
it in the database, never itself or a later one. ``?`` steps make a proof *incomplete*,
which is never reported as verified. Only a proof that is otherwise well formed is
incomplete (:class:`IncompleteProof`): as in metamath-exe, a ``?`` is an entry that
matches any hypothesis (a step that pops one pushes one), and a proof with ``?`` that
still errs (entries left on the stack, a known hypothesis that matches no value of the
unknown variables) fails with a plain :class:`ProofError`. Checking a whole database, in
parallel or while it is parsed, is :mod:`provergym.metamath.verify`.

Data layout (what makes it fast; measured on set.mm):

- a stack entry is a tuple ``(typecode, body)``, the typecode interned and the body every
  symbol followed by one space (``"( ph -> ps ) "``), so comparing expressions is one
  string comparison;
- every assertion is compiled once into a :class:`~provergym.metamath.frames.Frame`: its
  conclusion and ``$e`` hypotheses become ``str.format`` templates indexed by hypothesis
  position, so one ``zip(*args)`` splits the popped entries into typecodes (checked with
  one tuple comparison) and bodies (fed straight to ``format``); typecodes are interned,
  so the unrolled syntax steps compare them by identity;
- a proof runs as compressed *numbers* (normal proofs are numbered the same way): the
  letters of many compressed proofs are decoded at once (:mod:`provergym.metamath.codec`)
  into ints that index one list, ``Z`` at 0, then what each table entry does, a pushed
  entry (a tuple) or a frame to apply (a list); ``Z`` appends the saved entry to that
  list, so it gets the next number;
- two loops run proofs: a fast one that only accepts or rejects (syntax frames with 1 to 3
  ``$f`` hypotheses unrolled, no step counting), and the reference loop, run only on a
  rejected proof, which makes the same checks one step at a time and says which step
  failed and why. It substitutes symbol by symbol, independently of the templates. A
  test checks that the two loops agree on corrupted proofs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from operator import itemgetter

from provergym.metamath.codec import (
    BAD,
    codes_upto,
    compressed_number,
    decode_numbers,
    find_codes,
    letters_of,
)
from provergym.metamath.database import Database, Statement
from provergym.metamath.frames import Frame, substitute


class ProofError(Exception):
    """A proof that does not check; the message says which step and why."""


class IncompleteProof(ProofError):
    """A proof with unknown (``?``) steps."""


_Z = object()  # the code Z: save the top of the stack
# The entry a ``?`` step pushes, and what a step that pops one pushes (metamath-exe's
# rule): its expression is unknown. Told apart by identity, never by value.
_UNKNOWN = ("?", "?")


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

    def _normal(self, theorem: Statement, tokens: list[str]
                ) -> tuple[list, str | None, list[int]]:
        """A normal proof as a table of its distinct labels and the codes citing them (with
        ``?`` steps, the letters too: the fast loop fails on them, the explaining loop
        checks the rest of the proof)."""
        if not tokens:
            raise ProofError("empty proof")
        number_of: dict[str, int] = {}
        for token in tokens:
            if token not in number_of and token != "?":
                number_of[token] = len(number_of) + 1
        table = self._table(theorem, list(number_of))
        if "?" in tokens:
            codes = codes_upto(len(number_of))
            letters = "".join(["?" if token == "?" else codes[number_of[token]]
                               for token in tokens])
            return table, letters, [number_of.get(token, BAD) for token in tokens]
        return table, None, list(map(number_of.__getitem__, tokens))

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
            letters = letters_of(numbers)
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
        codes = find_codes(letters)
        if sum(map(len, codes)) != len(letters):
            self._bad_letters(letters)
        numbers = codes_upto(len(table) + len(codes) + 1)
        lookup: dict = dict(zip(numbers[1:len(table) + 1], table))
        lookup["Z"] = _Z
        lookup["?"] = _UNKNOWN
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
                if any(entry is _UNKNOWN for entry in args):
                    self._check_known(theorem, frame, args, codes, steps)
                    push(_UNKNOWN)
                    continue
                types, bodies = zip(*args)
                if types != typecodes:
                    raise self._bad_typecode(codes, steps, frame, args)
                substitution = frame.substitution(bodies)
                for pos, hypothesis, label in frame.essentials:
                    wanted = substitute(hypothesis, substitution)
                    if bodies[pos] != wanted:
                        raise self._step_error(
                            codes, steps, f"{frame.label}: hypothesis {label} wants "
                            f"'{_show((typecodes[pos], wanted))}', got '{_show(args[pos])}'")
                if frame.disjoint:
                    self._check_disjoint(theorem, frame, bodies, codes, steps)
                push((frame.typecode, substitute(frame.body, substitution)))
            elif step is _Z:
                if not stack:
                    raise self._step_error(codes, steps, "Z with an empty stack")
                lookup[numbers[next_saved]] = stack[-1]
                next_saved += 1
            else:
                raise self._bad_code(codes, steps, len(table), next_saved)
        unknown = "?" in codes
        if len(stack) != 1:
            raise ProofError(f"the proof leaves {len(stack)} entries on the stack, not 1"
                             + ("; it also has unknown steps (?)" if unknown else ""))
        if stack[0] is _UNKNOWN:
            raise IncompleteProof("the proof has unknown steps (?)")
        if stack[0][1] != theorem.body or stack[0][0] != theorem.typecode:
            raise ProofError(f"the proof proves '{_show(stack[0])}', not the statement "
                             f"'{theorem.expression()}'")
        if unknown:  # (a step that pops a ? pushes one: the last entry is unknown already)
            raise IncompleteProof("the proof has unknown steps (?)")

    def _check_known(self, theorem: Statement, frame: Frame, args: list,
                     codes: list[str], steps: Iterator) -> None:
        """What can be checked of applying ``frame`` to ``args`` when some of them are
        unknown (``?``): the typecodes of the known ones, their ``$d`` conditions, and
        that the known ``$e`` entries match their hypotheses for some value of the
        variables whose ``$f`` entry is unknown (metamath-exe unifies them the same way)."""
        for pos, (want, entry) in enumerate(zip(frame.typecodes, args)):
            if entry is not _UNKNOWN and entry[0] != want:
                raise self._step_error(codes, steps, f"{frame.label}: hypothesis {pos + 1} "
                                       f"wants typecode {want}, got '{_show(entry)}'")
        known = {var: args[pos][1] for var, pos in zip(frame.variables, frame.floats)
                 if args[pos] is not _UNKNOWN}
        pattern: list = []  # the known $e hypotheses, in a row, to match ``target``
        target: list = []
        for pos, hypothesis, label in frame.essentials:
            if args[pos] is _UNKNOWN:
                continue
            if len(known) == len(frame.variables):
                wanted = substitute(hypothesis, known)
                if args[pos][1] != wanted:
                    raise self._step_error(
                        codes, steps, f"{frame.label}: hypothesis {label} wants "
                        f"'{_show((frame.typecodes[pos], wanted))}', got '{_show(args[pos])}'")
                continue
            for symbol in hypothesis.split():
                if symbol in known:
                    pattern.extend(known[symbol].split())
                elif symbol in frame.variables:
                    pattern.append((symbol,))  # a variable to find: told apart by its type
                else:
                    pattern.append(symbol)
            pattern.append(None)  # the end of one hypothesis: no variable spans it
            target.extend(args[pos][1].split())
            target.append(None)
        if pattern and not _matchable(pattern, target):
            raise self._step_error(
                codes, steps, f"{frame.label}: its hypotheses match the steps given for no "
                f"value of the variables whose step is unknown (?)")
        if frame.disjoint:  # an unknown expression has no variables to check yet
            bodies = tuple("" if entry is _UNKNOWN else entry[1] for entry in args)
            self._check_disjoint(theorem, frame, bodies, codes, steps)

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
            letters = letters_of(numbers or [])
        tokens = (theorem.proof or "").split()
        if tokens[0] == "(":
            labels = [*theorem.hypotheses, *tokens[1:tokens.index(")")]]
        else:
            # distinct, in order, without "?": how _normal numbers them
            labels = list(dict.fromkeys(token for token in tokens if token != "?"))
        steps: list = []
        for code in find_codes(letters):
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
MATCH_BUDGET = 100_000  # steps of _matchable before it gives up (and does not fail a proof)


def _matchable(pattern: list, target: list) -> bool:
    """Whether ``pattern`` (symbols, and variables as 1-tuples) matches ``target`` (symbols)
    for some value of each variable: a run of symbols, maybe empty, the same at each of
    its places. ``None`` ends a hypothesis in both and only matches itself. A search with
    backtracking, so it has a budget; past it, the answer is yes (no error is made up)."""
    budget = MATCH_BUDGET
    choices: list[tuple[int, int, dict]] = [(0, 0, {})]
    while choices:
        i, j, values = choices.pop()
        while budget > 0:
            budget -= 1
            if i == len(pattern):
                if j == len(target):
                    return True
                break
            symbol = pattern[i]
            if symbol.__class__ is not tuple:  # a constant, or the end of a hypothesis
                if j < len(target) and target[j] == symbol:
                    i, j = i + 1, j + 1
                    continue
                break
            value = values.get(symbol)
            if value is not None:
                if tuple(target[j:j + len(value)]) != value:
                    break
                i, j = i + 1, j + len(value)
                continue
            end = j  # every value up to the end of this hypothesis is a choice
            while end < len(target) and target[end] is not None:
                end += 1
            budget -= end - j
            for stop in range(end, j - 1, -1):  # the empty value is tried first
                choices.append((i + 1, stop, {**values, symbol: tuple(target[j:stop])}))
            break
        else:
            return True
    return False


def _disjoint_map(pairs: frozenset[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Each variable of ``pairs`` -> the variables it is ``$d`` with (never itself)."""
    partners: dict[str, set[str]] = {}
    for x, y in pairs:
        partners.setdefault(x, set()).add(y)
        partners.setdefault(y, set()).add(x)
    return {var: frozenset(others) for var, others in partners.items()}
