"""The GPT-f-style backward environment over a Metamath database.

A goal is a statement such as ``|- ( ph -> ph )``. An action is a label plus a
substitution for the label's variables; the label's conclusion is unified (as syntax
trees) with the goal, and the result is the label's ``$e`` hypotheses, instantiated, as
new goals. Syntactic hypotheses (``wff``/``class``/``setvar``) are closed by the grammar.

Soundness rules enforced here: only statements *before* the theorem may be used (never
the theorem itself or a later one), only the theorem's own active ``$e`` hypotheses may
be cited, every ``$d`` condition of the label must hold in the theorem's ``$d`` set, and
a proof is reported as :class:`~provergym.api.Proved` only after our kernel accepts it.

Speed (``benchmarks/mm_env_steps.py``): each label is compiled once into flat programs, a
pre-order matching program for its conclusion and a post-order building program per
``$e`` hypothesis (sub-trees without variables are shared, not rebuilt), plus a text
template per hypothesis, so a step walks no pattern tree and prints no sub-goal from its
tree.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from provergym.api import Goal, Hypothesis, InitError, Progress, ProofState, Proved, Rejected
from provergym.metamath.database import Database, Statement, parse_database
from provergym.metamath.grammar import Grammar, GrammarError, Node
from provergym.metamath.kernel import Kernel, ProofError
from provergym.metamath.prooftree import unproved_theorems

# The pieces of an action's text, each one run of one kind of character: parse_action
# scans with them left to right, so no pattern backtracks over another's match.
_SPACE = re.compile(r"\s*")
_LABEL = re.compile(r"[A-Za-z0-9._-]+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Action:
    """A label and an explicit substitution ``(variable, expression)``; variables fixed
    by unifying the label's conclusion with the goal may be left out."""

    label: str
    substitution: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        parts = [self.label] + [f"{{{{ {var} : {expr} }}}}".replace("  }}", " }}")
                                for var, expr in self.substitution]
        return " ".join(parts)


def parse_action(text: str) -> Action:
    """``"ax-mp {{ ph : ( ps -> ch ) }} {{ ps : ps }}"`` -> :class:`Action`. Raises
    ``ValueError`` with the reason for anything else.

    One scan, left to right, in time linear in the text (a regex with a lazy ``.*?``
    inside a repeated group took seconds to reject 24 groups and a stray word, and
    doubled with each group). Inside ``{{ ... }}`` the variable is the longest start of
    the first word that a ``:`` follows (``{{ ph:( ps ) }}`` binds ``ph``), and the
    expression runs to the first ``}}`` after that ``:``, with its whitespace normalised."""
    if not isinstance(text, str):  # (bytes would make the patterns raise TypeError)
        raise ValueError(f"an action must be a str, not {type(text).__name__}")
    label = _LABEL.match(text, _SPACE.match(text).end())
    start = _SPACE.match(text, label.end()).end() if label is not None else 0
    end = len(text.rstrip())
    # After the label: nothing, or text from a "{{" to a "}}" (checked group by group below).
    if label is None or (start < end and not (text.startswith("{{", start)
                                              and text.endswith("}}", start + 2, end))):
        raise ValueError(f"not an action (want 'label {{{{ var : expr }}}} ...'): {text[:80]!r}")
    substitution = []
    last_close = text.rfind("}}", start)  # every expression ends at a "}}" before this one
    position = start
    while position < end:
        if not text.startswith("{{", position):
            raise ValueError(f"malformed substitution in {text[:80]!r}")
        word = _WORD.match(text, _SPACE.match(text, position + 2).end())
        if word is None:
            raise ValueError(f"malformed substitution in {text[:80]!r}")
        after = _SPACE.match(text, word.end()).end()
        if text.startswith(":", after) and after < last_close:  # "{{ ph : ..."
            var, colon = word.group(), after
        else:  # "{{ ph:..." (the last ":" inside the word that a "}}" still follows)
            colon = text.rfind(":", word.start() + 1, min(word.end(), last_close))
            if colon < 0:
                raise ValueError(f"malformed substitution in {text[:80]!r}")
            var = text[word.start():colon]
        close = text.find("}}", colon + 1)
        substitution.append((var, " ".join(text[colon + 1:close].split())))
        position = _SPACE.match(text, close + 2).end()
    return Action(label.group(), tuple(substitution))


def _checked_action(action: object) -> Action | str:
    """``action`` as an :class:`Action`, or why it is not one (a message naming its type)."""
    if isinstance(action, str):
        try:
            return parse_action(action)
        except ValueError as error:
            return str(error)
    if not isinstance(action, Action):
        return f"an action must be a str or an Action, not {type(action).__name__}: {action!r:.80}"
    if not isinstance(action.label, str):
        return f"malformed Action: its label must be a str, not {type(action.label).__name__}"
    substitution = action.substitution
    if not (isinstance(substitution, (tuple, list))
            and all(isinstance(pair, (tuple, list)) and len(pair) == 2
                    and isinstance(pair[0], str) and isinstance(pair[1], str)
                    for pair in substitution)):
        return (f"malformed Action {action.label!r}: its substitution must be (variable, "
                f"expression) pairs of str, not {substitution!r:.80}")
    return action


class _Goal(NamedTuple):  # a tuple: immutable, and cheaper to build than a frozen dataclass
    typecode: str
    tree: Node
    text: str  # "typecode symbols"
    public: Goal  # what the ProofState shows, built once


_text_of, _public_of = itemgetter(2), itemgetter(3)  # of a _Goal

# Compiled pattern trees (see _match_program and _build_program).
_VAR, _NODE, _TREE = 0, 1, 2


def _match_program(tree: Node, var_of_float: dict[str, str]) -> tuple[tuple[str, str | None], ...]:
    """``tree`` as a flat matching program: per node in pre-order, last child first (the
    order in which a stack of target nodes pops them), ``(label, variable or None)``."""
    program = []
    stack = [tree]
    while stack:
        node = stack.pop()
        var = var_of_float.get(node.label)
        program.append((node.label, var))
        if var is None:
            stack.extend(node.children)
    return tuple(program)


def _build_program(tree: Node, var_of_float: dict[str, str]) -> tuple[tuple[int, Any, int], ...]:
    """``tree`` as a flat instantiation program, in post-order: ``(_VAR, variable, 0)``
    pushes its value, ``(_TREE, subtree, 0)`` a sub-tree without variables as it is, and
    ``(_NODE, label, arity)`` replaces the top ``arity`` entries by a new node."""
    program: list[tuple[int, Any, int]] = []

    def walk(node: Node) -> bool:  # whether the sub-tree has variables
        var = var_of_float.get(node.label)
        if var is not None:
            program.append((_VAR, var, 0))
            return True
        start = len(program)
        has_vars = False
        for child in node.children:
            has_vars = walk(child) or has_vars
        if has_vars:
            program.append((_NODE, node.label, len(node.children)))
        else:
            del program[start:]
            program.append((_TREE, node, 0))
        return has_vars

    walk(tree)
    return tuple(program)


class _Pattern:
    """A label compiled for backward application."""

    __slots__ = ("statement", "conclusion", "hyps", "var_of_float", "float_typecode",
                 "variables", "disjoint", "match_program", "steps")

    def __init__(self, env: MetamathEnv, statement: Statement):
        db, grammar = env.db, env.grammar
        self.statement = statement
        floats = {}
        self.var_of_float: dict[str, str] = {}
        self.float_typecode: dict[str, str] = {}
        self.variables: list[str] = []
        for label in statement.hypotheses:
            hyp = db.statements[label]
            if hyp.kind == "f":
                var = hyp.body.strip()
                floats[var] = label
                self.var_of_float[label] = var
                self.float_typecode[var] = hyp.typecode
                self.variables.append(var)
        self.conclusion = grammar.parse(statement.typecode, statement.body.split(), floats)
        # Per hypothesis: ("f", var) or ("e", typecode, pattern tree, label)
        # Per hypothesis: ("f", var) or ("e", typecode, pattern tree, text template); the
        # template prints the instantiated hypothesis in one str.format call.
        self.hyps: list[tuple[Any, ...]] = []
        index = {var: i for i, var in enumerate(self.variables)}
        for label in statement.hypotheses:
            hyp = db.statements[label]
            if hyp.kind == "f":
                self.hyps.append(("f", hyp.body.strip()))
            else:
                template = "".join("{" + str(index[sym]) + "}" if sym in index
                                   else sym.replace("{", "{{").replace("}", "}}") + " "
                                   for sym in hyp.body.split())
                self.hyps.append(("e", hyp.typecode,
                                  grammar.parse(hyp.typecode, hyp.body.split(), floats), template))
        self.disjoint = sorted(statement.disjoint)
        self.match_program = _match_program(self.conclusion, self.var_of_float)
        # What _apply does per hypothesis, precompiled: (None, variable, False, "") for a
        # $f, else (build program, typecode, syntactic?, template).
        self.steps = tuple([(None, hyp[1], False, "") if hyp[0] == "f" else
                            (_build_program(hyp[2], self.var_of_float), hyp[1],
                             hyp[1] in env.syntax_typecodes, hyp[3]) for hyp in self.hyps])


class _Theorem:
    """What one theorem's proof may use."""

    __slots__ = ("statement", "floats", "essentials", "disjoint", "var_of_float",
                 "hypotheses", "active_vars", "opening")

    def __init__(self, env: MetamathEnv, statement: Statement):
        db = env.db
        self.statement = statement
        scope = statement.scope
        self.floats: dict[str, str] = {}
        self.essentials: dict[str, _Goal] = {}
        hyp_list = []
        for label in scope.hypotheses if scope else ():
            hyp = db.statements[label]
            if hyp.kind == "f":
                self.floats[hyp.body.strip()] = label
        for label in scope.hypotheses if scope else ():
            hyp = db.statements[label]
            if hyp.kind == "e":
                self.essentials[label] = env._goal(hyp.typecode, hyp.body.split(), self.floats)
                hyp_list.append(Hypothesis(label, self.essentials[label].text))
        self.hypotheses = tuple(hyp_list)
        self.var_of_float = {label: var for var, label in self.floats.items()}
        self.active_vars = frozenset(self.floats)
        self.disjoint = scope.disjoint if scope else frozenset()
        self.opening: _Goal | None = None  # the statement as a goal, once open() built it


def _match(program: tuple[tuple[str, str | None], ...], tree: Node,
           sigma: dict[str, Node]) -> bool:
    """Run a :func:`_match_program` on ``tree``, extending ``sigma``."""
    stack = [tree]
    pop, extend, bind = stack.pop, stack.extend, sigma.setdefault
    for label, var in program:
        node = pop()
        if var is None:
            if node.label != label:
                return False
            extend(node.children)  # same label: same arity
        else:
            bound = bind(var, node)
            if bound is not node and bound != node:
                return False
    return True


def _build(program: tuple[tuple[int, Any, int], ...], sigma: dict[str, Node]) -> Node:
    """Run a :func:`_build_program` with ``sigma``."""
    stack: list[Node] = []
    push = stack.append
    for kind, value, arity in program:
        if kind == _VAR:
            push(sigma[value])
        elif kind == _TREE:
            push(value)
        elif arity == 1:
            stack[-1] = Node(value, (stack[-1],))
        else:
            children = tuple(stack[-arity:])
            del stack[-arity:]
            push(Node(value, children))
    return stack[0]


# A step taken, for proof assembly: the label, and per hypothesis of the label either
# the syntax tree of its substitution or None for a logical sub-goal proved later.
_Entry = tuple[str, tuple[Node | None, ...]]


MAX_REASON = 2_000  # characters of a rejection's reason (it may quote the action)


def _short(reason: str) -> str:
    """A rejection's reason, cut when it quotes a huge action (a 64 KB label, say)."""
    if len(reason) <= MAX_REASON:
        return reason
    return f"{reason[:MAX_REASON]}... ({len(reason):,} characters in all)"


class MetamathEnv:
    """The backward environment (a :class:`~provergym.api.Backend`) for one database."""

    name = "metamath"

    def __init__(self, db: Database | str | os.PathLike[str], grammar: Grammar | None = None,
                 kernel: Kernel | None = None):
        if not isinstance(db, Database):
            db = parse_database(db)
        self.db = db
        self.grammar = grammar or Grammar(db)
        self.kernel = kernel or Kernel(db)
        self.syntax_typecodes = frozenset(self.grammar.syntax_typecodes)
        self._patterns: dict[str, _Pattern | str] = {}
        self._theorems: dict[str, _Theorem] = {}
        self._parse_cache: dict[tuple[str, str, int], Node | str] = {}

    # -- helpers ------------------------------------------------------------------------
    def _text(self, tree: Node) -> str:
        return self.grammar.text(tree)

    def _goal(self, typecode: str, symbols: list[str], floats: dict[str, str],
              hypotheses: tuple[Hypothesis, ...] = ()) -> _Goal:
        tree = self.grammar.parse(typecode, symbols, floats)
        return self._make_goal(typecode, tree, hypotheses)

    def _make_goal(self, typecode: str, tree: Node, hypotheses: tuple[Hypothesis, ...],
                   body: str | None = None) -> _Goal:
        """``body``, when known, is the tree's printed form (it is then cached on the tree)."""
        if body is None:
            body = self._text(tree)
        else:
            self.grammar.remember_text(tree, body)
        text = f"{typecode} {body}".rstrip()
        return _Goal(typecode, tree, text, Goal(text, hypotheses, data=tree))

    def theorem(self, label: str) -> _Theorem:
        found = self._theorems.get(label)
        if found is None:
            statement = self.db.statements.get(label)
            if statement is None:
                raise InitError(f"{self.db.path}: no statement labelled {label!r}")
            if statement.kind != "p":
                raise InitError(f"{self.db.path}: {label!r} is a ${statement.kind}, not a $p")
            try:
                found = self._theorems[label] = _Theorem(self, statement)
            except GrammarError as error:
                raise InitError(f"{label}: a hypothesis does not parse: {error}") from None
        return found

    @functools.cached_property
    def unproved(self) -> frozenset[str]:
        """The ``$p`` labels that may not be cited (:func:`unproved_theorems`)."""
        return unproved_theorems(self.db)

    def pattern(self, label: str) -> _Pattern | str:
        """The compiled label, or the reason it cannot be used backwards."""
        found = self._patterns.get(label)
        if found is None:
            statement = self.db.statements[label]
            try:
                found = _Pattern(self, statement)
            except GrammarError as error:
                found = f"{label}'s statement does not parse: {error}"
            self._patterns[label] = found
        return found

    def _state(self, theorem: _Theorem, goals: tuple[_Goal, ...], trail: Any,
               rooted: bool) -> ProofState:
        public = tuple(map(_public_of, goals))
        key = (theorem.statement.label, tuple(map(_text_of, goals)))
        return ProofState(theorem.statement.label, public, key, independent=True,
                          backend=self.name, data=(goals, trail, rooted))

    # -- the API ------------------------------------------------------------------------
    def open(self, theorem: str) -> ProofState:
        info = self.theorem(theorem)
        goal = info.opening
        if goal is None:
            statement = info.statement
            try:
                goal = self._goal(statement.typecode, statement.body.split(), info.floats,
                                  info.hypotheses)
            except GrammarError as error:
                raise InitError(f"{theorem}: its statement does not parse: {error}") from None
            info.opening = goal  # goals are immutable: every open() may share it
        return self._state(info, (goal,), None, True)

    def goal_state(self, theorem: str, goal: str) -> ProofState:
        """A state whose single goal is ``goal`` (text), in ``theorem``'s context."""
        info = self.theorem(theorem)
        symbols = goal.split()
        if not symbols:
            raise ValueError("empty goal")
        goal = self._goal(symbols[0], symbols[1:], info.floats, info.hypotheses)
        return self._state(info, (goal,), None, False)

    def split(self, state: ProofState) -> tuple[ProofState, ...]:
        """One state per open goal: Metamath goals are independent (an AND node)."""
        goals, trail, rooted = state.data
        if len(goals) == 1 and trail is None:
            return (state,)
        info = self.theorem(state.theorem)
        return tuple(self._state(info, (goal,), None, False) for goal in goals)

    def close(self) -> None:
        self._parse_cache.clear()

    def step(self, state: ProofState, action: str | Action) -> Progress | Proved | Rejected:
        """Apply ``action`` to the first goal of ``state``. Anything that is not a good
        action, whatever its type, is a :class:`Rejected`, never an exception."""
        if not state.goals:
            return Rejected("no goals left")
        action = _checked_action(action)
        if isinstance(action, str):
            return Rejected(_short(action))
        info = self._theorems.get(state.theorem) or self.theorem(state.theorem)
        goals, trail, rooted = state.data
        try:
            result = self._apply(info, goals[0], action)
            if isinstance(result, str):
                return Rejected(_short(result))
            new_goals, entry = result
            remaining = tuple(new_goals) + goals[1:]
            trail = (entry, trail)
            if remaining:
                return Progress(self._state(info, remaining, trail, rooted))
            return self._finish(info, trail, rooted)
        except RecursionError:
            # The grammar refuses expressions nested deeper than MAX_DEPTH; trees grown
            # deeper step by step can still exhaust Python's stack (printing, comparing).
            return Rejected(f"{action.label}: the goals of {state.theorem} would nest too "
                            f"deeply to handle")

    # -- applying a label -----------------------------------------------------------------
    def _apply(self, info: _Theorem, goal: _Goal, action: Action) -> tuple[list[_Goal], _Entry] | str:
        label = action.label
        statement = self.db.statements.get(label)
        if statement is None:
            return f"unknown label {label!r}"
        if statement.kind == "e":
            if label not in info.essentials:
                return f"hypothesis {label!r} is not one of {info.statement.label}'s hypotheses"
            if action.substitution:
                return f"hypothesis {label!r} takes no substitution"
            if info.essentials[label].text != goal.text:
                return f"hypothesis {label} states '{info.essentials[label].text}', not the goal"
            return [], (label, ())
        if statement.kind == "f":
            return f"{label!r} is a variable's type ($f); syntactic goals are closed automatically"
        if statement.index >= info.statement.index:
            if label == info.statement.label:
                return f"{label!r} is the theorem being proved"
            return f"{label!r} comes after {info.statement.label} in the database"
        if statement.kind == "p" and label in self.unproved:
            return (f"{label!r} has an incomplete proof, or its proof cites one: a proof "
                    f"may not rest on it")
        pattern = self._patterns.get(label) or self.pattern(label)
        if isinstance(pattern, str):
            return pattern
        if statement.typecode != goal.typecode:
            return f"{label} proves a '{statement.typecode}' statement, the goal is '{goal.typecode}'"
        sigma: dict[str, Node] = {}
        if not _match(pattern.match_program, goal.tree, sigma):
            return f"{label}'s conclusion does not unify with the goal"
        text = self.grammar.text
        for var, expression in action.substitution:
            typecode = pattern.float_typecode.get(var)
            if typecode is None:
                return f"{var!r} is not a variable of {label}"
            if var in sigma:
                if text(sigma[var]) != expression:
                    return (f"substitution {var} : {expression} contradicts the unifier "
                            f"({var} : {self._text(sigma[var])})")
                continue
            tree = self._parse_expression(typecode, expression, info)
            if isinstance(tree, str):
                return tree
            sigma[var] = tree
        if len(sigma) < len(pattern.variables):  # sigma holds only the label's variables
            missing = [v for v in pattern.variables if v not in sigma]
            return f"unbound variable(s) left: {', '.join(missing)} (give them as {{{{ var : expr }}}})"
        # $d: every pair the label requires must hold for the substituted expressions.
        if pattern.disjoint:
            var_sets = {}
            for x, y in pattern.disjoint:
                for v in (x, y):
                    if v not in var_sets:
                        var_sets[v] = self._variables(sigma[v], info)
                for a in var_sets[x]:
                    for b in var_sets[y]:
                        if a == b:
                            return f"$d {x} {y} of {label} is violated: both contain {a}"
                        if ((a, b) if a < b else (b, a)) not in info.disjoint:
                            return (f"$d {x} {y} of {label} needs $d {a} {b}, which "
                                    f"{info.statement.label} does not have")
        new_goals: list[_Goal] = []
        proofs: list[Node | None] = []  # syntax trees; their proofs are made at assembly
        texts: list[str] | None = None  # each variable's printed value, followed by a space
        for program, typecode, syntactic, template in pattern.steps:
            if program is None:  # a $f: ``typecode`` is its variable
                proofs.append(sigma[typecode])
                continue
            tree = _build(program, sigma)
            if syntactic:
                proofs.append(tree)  # a syntactic hypothesis: the grammar closes it
            else:
                if texts is None:
                    texts = []
                    for var in pattern.variables:
                        value = text(sigma[var])
                        texts.append(value + " " if value else "")
                body = template.format(*texts).rstrip()
                new_goals.append(self._make_goal(typecode, tree, info.hypotheses, body))
                proofs.append(None)
        return new_goals, (label, tuple(proofs))

    def match_pattern(self, pattern: _Pattern, p: Node, t: Node, sigma: dict[str, Node]) -> bool:
        """Whether pattern tree ``p`` (of label ``pattern``) matches ``t``, extending ``sigma``
        (label variable -> sub-tree of ``t``); ``p`` is ``pattern.conclusion`` at the top."""
        if p is pattern.conclusion:
            return _match(pattern.match_program, t, sigma)
        var = pattern.var_of_float.get(p.label)
        if var is not None:
            bound = sigma.get(var)
            if bound is None:
                sigma[var] = t
                return True
            return bound == t
        if p.label != t.label:
            return False
        for pc, tc in zip(p.children, t.children):  # same label: same arity
            if not self.match_pattern(pattern, pc, tc, sigma):
                return False
        return True

    def instantiate(self, pattern: _Pattern, p: Node, sigma: dict[str, Node]) -> Node:
        """Pattern tree ``p`` of label ``pattern`` (its conclusion or one of its hypotheses)
        with ``sigma`` (label variable -> tree) substituted; a variable not in ``sigma``
        stays as it is. For candidate generators (``step`` runs precompiled programs)."""
        return _build(_build_program(p, pattern.var_of_float), sigma)

    def _variables(self, tree: Node, info: _Theorem) -> set[str]:
        found = set()
        stack = [tree]
        while stack:
            node = stack.pop()
            if node.children:
                stack.extend(node.children)
            else:
                var = info.var_of_float.get(node.label)
                if var is not None:
                    found.add(var)
        return found

    def _parse_expression(self, typecode: str, expression: str, info: _Theorem) -> Node | str:
        key = (typecode, expression, id(info))
        found = self._parse_cache.get(key)
        if found is None:
            symbols = expression.split()
            unknown = [s for s in symbols if s in self.db.variables and s not in info.active_vars]
            if unknown:
                found = f"variable {unknown[0]!r} is not active in {info.statement.label}'s scope"
            else:
                try:
                    found = self.grammar.parse(typecode, symbols, info.floats)
                except GrammarError as error:
                    found = f"unparsable expression for a {typecode}: {error}"
            if len(self._parse_cache) > 100_000:
                self._parse_cache.clear()
            self._parse_cache[key] = found
        return found

    # -- assembling and checking ------------------------------------------------------------
    def assemble(self, trail: Any) -> list[str]:
        """The normal (RPN) proof from a trail of steps in pre-order."""
        entries: list[_Entry] = []
        while trail is not None:
            entries.append(trail[0])
            trail = trail[1]
        entries.reverse()
        out: list[str] = []
        # Pre-order rebuild without recursion: each entry's logical sub-goals are the next
        # entries; ``pending`` holds the entries whose hypotheses are not all emitted yet.
        if not entries:
            raise ProofError("the steps taken do not close every goal")
        label, proofs = entries[0]
        position = 1
        remaining = iter(proofs)
        pending: list[tuple[str, Any]] = []
        while True:
            for proof in remaining:
                if proof is None:  # a logical sub-goal: the next entry proves it
                    if position >= len(entries):
                        raise ProofError("the steps taken do not close every goal")
                    pending.append((label, remaining))
                    label, proofs = entries[position]
                    position += 1
                    remaining = iter(proofs)
                    break
                out.extend(proof.rpn())
            else:  # every hypothesis emitted: the label itself
                out.append(label)
                if not pending:
                    break
                label, remaining = pending.pop()
        if position != len(entries):
            raise ProofError("more steps than goals")
        return out

    def _finish(self, info: _Theorem, trail: Any, rooted: bool) -> Proved | Rejected:
        try:
            proof = self.assemble(trail)
            # Only a proof of the theorem's own statement can be checked by the kernel; a
            # sub-goal's proof is checked when the search replays it from the root.
            if rooted:
                self.kernel.verify_normal(info.statement.label, proof)
        except ProofError as error:
            return Rejected(f"internal error: the assembled proof fails the kernel: {error}")
        return Proved(" ".join(proof))

    def prove(self, theorem: str, actions: list[str | Action]) -> Proved | Rejected:
        """Run ``actions`` from ``open(theorem)``, always on the first goal."""
        state = self.open(theorem)
        for number, action in enumerate(actions, 1):
            result = self.step(state, action)
            if isinstance(result, Rejected):
                return Rejected(f"step {number} ({action}): {result.reason}")
            if isinstance(result, Proved):
                if number != len(actions):
                    return Rejected(f"proved after {number} of {len(actions)} steps")
                return result
            state = result.state
        return Rejected(f"{len(state.goals)} goal(s) left open")
