"""Syntax trees from the database's own syntax axioms.

The grammar's rules are the ``$a`` statements whose typecode is not the provable one
(``|-``), with variables standing for the typecodes of their ``$f`` hypotheses. Parsing
is packrat-style over one trie of rule bodies per typecode: constants are matched
symbol by symbol, a variable slot parses a sub-expression of its typecode, and every
(typecode, position) result is memoised. A tree is a :class:`Node`; its post-order
labels are the syntax proof of the expression, which is how syntactic goals are closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from provergym.metamath.database import Database, Statement

# More partial parses than this for one (typecode, start) means a hopelessly ambiguous
# grammar (miu.mm's ``wff x y`` with an empty ``wff``): stop rather than explode.
MAX_PARSES = 256
# Sub-expressions nested deeper than this are refused (a GrammarError), not parsed: the
# parser recurses a few Python frames per level, and so do the walks over trees (printing,
# comparing, pickling). The deepest statement of set.mm nests 34 levels (quartfull).
MAX_DEPTH = 100


class GrammarError(Exception):
    """An expression that has no parse, or more than one."""


class Node:
    """A syntax tree: a syntax axiom applied to sub-trees, or a variable's ``$f``.

    ``children`` follow the rule's mandatory ``$f`` order (the order its proof needs), not
    the left-to-right order in which they print. Immutable; the hash is computed once, so
    trees are cheap dictionary keys and unequal trees are usually told apart in O(1).
    """

    __slots__ = ("label", "children", "_hash", "_text", "_rpn", "meta")

    def __init__(self, label: str, children: tuple[Node, ...] = ()):
        # The slots' own setters (defined below the class): what object.__setattr__ does,
        # without its attribute look-up; many trees are built per environment step.
        _set_label(self, label)
        _set_children(self, children)
        _set_hash(self, hash((label, children)))
        _set_text(self, None)  # printed form, filled by Grammar.text
        _set_rpn(self, None)
        # whether the tree has a metavariable (a leaf labelled "?...", which no Metamath
        # label is): candidate generators unify such trees, and skip the sub-trees without
        _set_meta(self, label[0] == "?" if not children else
                  any([child.meta for child in children]))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Node is immutable")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Node):
            return NotImplemented
        return (self._hash == other._hash and self.label == other.label
                and self.children == other.children)

    def __repr__(self) -> str:
        if not self.children:
            return f"Node({self.label!r})"
        return f"Node({self.label!r}, {self.children!r})"

    def __reduce__(self):
        return (Node, (self.label, self.children))

    def rpn(self) -> tuple[str, ...]:
        """The syntax proof: labels in post-order (cached: sub-trees are widely shared)."""
        found = self._rpn
        if found is None:
            if self.children:
                parts: list[str] = []
                for child in self.children:
                    parts.extend(child.rpn())
                parts.append(self.label)
                found = tuple(parts)
            else:
                found = (self.label,)
            _set_rpn(self, found)
        return found

    def size(self) -> int:
        return 1 + sum(child.size() for child in self.children)


_set_label, _set_children = Node.label.__set__, Node.children.__set__  # type: ignore[attr-defined]
_set_hash, _set_text, _set_rpn = (Node._hash.__set__, Node._text.__set__,  # type: ignore[attr-defined]
                                  Node._rpn.__set__)  # type: ignore[attr-defined]
_set_meta = Node.meta.__set__  # type: ignore[attr-defined]


@dataclass
class _TrieNode:
    constants: dict[str, _TrieNode] = field(default_factory=dict)
    slots: dict[str, _TrieNode] = field(default_factory=dict)  # typecode -> next node
    complete: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    label: str
    typecode: str
    symbols: tuple[str, ...]
    # For each symbol: the index of the rule variable it is, or -1 for a constant.
    slot_of: tuple[int, ...]
    variables: tuple[str, ...]  # the rule's variables in $f order


class Grammar:
    """The parser for one database. ``provable`` typecodes (``|-``) parse as ``wff``."""

    def __init__(self, db: Database, provable: str = "|-", provable_as: str | None = None):
        self.db = db
        self.provable = provable
        self.rules: dict[str, Rule] = {}
        self.tries: dict[str, _TrieNode] = {}
        # variable symbol -> typecode, from every $f (a variable keeps its typecode).
        self.var_typecode: dict[str, str] = {}
        self.var_float: dict[str, dict[str, str]] = {}  # var -> {typecode: $f label}
        for statement in db.statements.values():
            if statement.kind == "f":
                var = statement.body.strip()
                self.var_typecode.setdefault(var, statement.typecode)
        self.syntax_typecodes = set(self.var_typecode.values())
        for statement in db.statements.values():
            if statement.kind == "a" and statement.typecode != provable:
                self._add_rule(statement)
        if provable_as is None:
            provable_as = "wff" if "wff" in self.tries or "wff" in self.syntax_typecodes else ""
        self.provable_as = provable_as

    def _add_rule(self, statement: Statement) -> None:
        statements = self.db.statements
        variables = tuple(statements[h].body.strip() for h in statement.hypotheses
                          if statements[h].kind == "f")
        index = {v: i for i, v in enumerate(variables)}
        symbols = tuple(statement.body.split())
        slot_of = tuple(index.get(s, -1) for s in symbols)
        rule = Rule(statement.label, statement.typecode, symbols, slot_of, variables)
        self.rules[statement.label] = rule
        node = self.tries.setdefault(statement.typecode, _TrieNode())
        hyp_typecode = {statements[h].body.strip(): statements[h].typecode
                        for h in statement.hypotheses if statements[h].kind == "f"}
        slots = []
        for sym, slot in zip(symbols, slot_of):
            if slot < 0:
                node = node.constants.setdefault(sym, _TrieNode())
            else:
                node = node.slots.setdefault(hyp_typecode[sym], _TrieNode())
                slots.append(slot)
        node.complete.append((statement.label, tuple(slots)))

    # -- parsing ------------------------------------------------------------------------
    def parse_typecode(self, typecode: str) -> str:
        return self.provable_as if typecode == self.provable else typecode

    def parse(self, typecode: str, symbols: tuple[str, ...] | list[str],
              floats: dict[str, str] | None = None) -> Node:
        """The unique syntax tree of ``typecode symbols``.

        ``floats`` maps each variable to its ``$f`` label in the current scope (labels
        of variables differ between scopes, e.g. ``vx.cv``); by default the variable's
        first ``$f`` is used.
        """
        symbols = tuple(symbols)
        target = self.parse_typecode(typecode)
        floats = floats if floats is not None else self.default_floats
        try:
            results = _Parse(self, symbols, floats).parse(target, 0)
        except RecursionError:  # a long rule nested under MAX_DEPTH levels can get here
            raise GrammarError(f"nested too deeply to parse as {target} "
                               f"({len(symbols)} symbols)") from None
        full = [tree for end, tree in results if end == len(symbols)]
        if not full:
            text = " ".join(symbols)
            raise GrammarError(f"no parse as {target}: {text!r}")
        if len(full) > 1:
            raise GrammarError(f"ambiguous as {target} ({len(full)} parses): {' '.join(symbols)!r}")
        return full[0]

    @property
    def default_floats(self) -> dict[str, str]:
        cached = getattr(self, "_default_floats", None)
        if cached is None:
            cached = {}
            for statement in self.db.statements.values():
                if statement.kind == "f":
                    cached.setdefault(statement.body.strip(), statement.label)
            self._default_floats = cached
        return cached

    def floats_for(self, theorem: Statement) -> dict[str, str]:
        """Variable -> ``$f`` label as seen from ``theorem``'s scope."""
        out = dict(self.default_floats)
        if theorem.scope is not None:
            for label in theorem.scope.hypotheses:
                hyp = self.db.statements[label]
                if hyp.kind == "f":
                    out[hyp.body.strip()] = label
        return out

    # -- printing -----------------------------------------------------------------------
    def remember_text(self, tree: Node, text: str) -> None:
        """Cache a tree's printed form that the caller computed another way."""
        if tree._text is None:
            _set_text(tree, text)

    def text(self, tree: Node) -> str:
        """The expression a tree derives, symbols joined by single spaces (cached)."""
        text = tree._text
        if text is None:
            rule = self.rules.get(tree.label)
            if rule is None:  # a variable's $f
                text = self.db.statements[tree.label].body.strip()
            else:
                parts = [sym if slot < 0 else self.text(tree.children[slot])
                         for sym, slot in zip(rule.symbols, rule.slot_of)]
                text = " ".join([part for part in parts if part])
            _set_text(tree, text)
        return text

    def symbols_of(self, tree: Node) -> list[str]:
        """The expression a tree derives (without its typecode)."""
        rule = self.rules.get(tree.label)
        if rule is None:  # a variable's $f
            return self.db.statements[tree.label].body.split()
        out: list[str] = []
        for sym, slot in zip(rule.symbols, rule.slot_of):
            if slot < 0:
                out.append(sym)
            else:
                out.extend(self.symbols_of(tree.children[slot]))
        return out


class _Parse:
    """One parse: memo of (typecode, start) -> [(end, tree)]."""

    __slots__ = ("grammar", "symbols", "floats", "memo", "active", "left_recursive", "depth")

    def __init__(self, grammar: Grammar, symbols: tuple[str, ...], floats: dict[str, str]):
        self.grammar = grammar
        self.symbols = symbols
        self.floats = floats
        self.memo: dict[tuple[str, int], list[tuple[int, Node]]] = {}
        self.active: set[tuple[str, int]] = set()
        self.left_recursive: set[tuple[str, int]] = set()
        self.depth = 0  # parse() calls in progress: how deeply the current path nests

    def parse(self, typecode: str, start: int) -> list[tuple[int, Node]]:
        key = (typecode, start)
        found = self.memo.get(key)
        if found is not None:
            if key in self.active:
                self.left_recursive.add(key)
            return found
        self.depth += 1
        if self.depth > MAX_DEPTH:  # (no need to unwind the count: the parse is abandoned)
            raise GrammarError(f"nested more than {MAX_DEPTH} levels deep (at symbol "
                               f"{start + 1} of {len(self.symbols)})")
        # Seed for left recursion: a recursive call on this key sees the results so far,
        # and the key is re-parsed while that grows the set of parses (at most once per
        # symbol, since each round must reach further).
        self.memo[key] = []
        self.active.add(key)
        mark = len(self.memo)  # entries added after this may depend on the seed
        results = self._alternatives(typecode, start)
        if key in self.left_recursive:
            for _ in range(len(self.symbols) + 1):
                if {end for end, _ in results} <= {end for end, _ in self.memo[key]}:
                    break
                self.memo[key] = results
                for k in list(self.memo)[mark:]:  # computed from the smaller seed: stale
                    if k not in self.active:
                        del self.memo[k]
                results = self._alternatives(typecode, start)
            if len(results) > MAX_PARSES:
                raise GrammarError(f"too ambiguous as {typecode} at symbol {start + 1}")
        self.active.discard(key)
        self.memo[key] = results
        self.depth -= 1
        return results

    def _alternatives(self, typecode: str, start: int) -> list[tuple[int, Node]]:
        results: list[tuple[int, Node]] = []
        symbols = self.symbols
        if start < len(symbols):
            sym = symbols[start]
            if self.grammar.var_typecode.get(sym) == typecode:
                label = self.floats.get(sym)
                if label is not None:
                    results.append((start + 1, Node(label)))
        trie = self.grammar.tries.get(typecode)
        if trie is not None:
            self._walk(trie, start, [], results)
            if len(results) > MAX_PARSES:
                raise GrammarError(f"too ambiguous as {typecode} at symbol {start + 1}")
        return results

    def _walk(self, node: _TrieNode, pos: int, args: list[Node],
              results: list[tuple[int, Node]]) -> None:
        for label, slots in node.complete:
            ordered = [None] * len(slots)
            for arg, slot in zip(args, slots):
                ordered[slot] = arg
            results.append((pos, Node(label, tuple(ordered))))  # type: ignore[arg-type]
        symbols = self.symbols
        if pos < len(symbols):
            child = node.constants.get(symbols[pos])
            if child is not None:
                self._walk(child, pos + 1, args, results)
        for typecode, child in node.slots.items():
            for end, tree in self.parse(typecode, pos):
                self._walk(child, end, [*args, tree], results)
