"""States as model inputs: text ready for the tokenizer, and tree tensors.

Text. Metamath goals are their symbols joined by single spaces, the goal first and then
each ``$e`` hypothesis after the marker ``$e`` (a math symbol can never contain ``$``):
``|- ( ph -> ps ) $e |- ph``. This is exactly ``agents.tasks.metamath_goal_text``; the
prompts wrap it as ``GOAL <text> PROOFSTEP`` / ``GOAL <text> VALUE`` (GPT-f). Coq goals
are the default-printed goals with runs of whitespace collapsed.

Trees. A tree is flattened in pre-order (a node, then its children left to right, depth
first) into three integer arrays of the same length ``N`` (the number of nodes):

- ``node_types``: ``int64[N]``, the node's label as an id of a :class:`Vocabulary`;
- ``parent``: ``int64[N]``, the index of the node's parent, ``-1`` for the root (index 0);
  since the order is pre-order, ``parent[i] < i`` and siblings keep their order;
- ``depth``: ``int64[N]``, 0 for the root, ``depth[parent[i]] + 1`` otherwise.

Labels. Metamath (``provergym.metamath.grammar.Node``): the syntax axiom's label (``wi``,
``cv``) or the variable's ``$f`` label (``wph``); children in the rule's ``$f`` order.
Coq (``provergym.coq.terms``): a node per AST dataclass labelled by its class name
(``App``, ``Prod``, ``Ref``...), its fields as children in field order; a tuple field is a
``<list>`` node; ``None``/``True``/``False`` are ``<none>``/``<true>``/``<false>``; a string
field (a name such as ``nat`` or ``Nat.add``) is a leaf labelled by the string itself,
written as a JSON string literal only when it would collide with a reserved label.

Batches (:func:`collate`) pad to the longest tree: ``int64[B, N_max]`` arrays plus a
``bool[B, N_max]`` mask; padding has type id 0 (``<pad>``), parent -1 and depth 0.

Metamath trees also have a compact S-expression form (``(wi wph (wn wps))``: a leaf is a
bare label, a node with children is ``(label child ...)``), used by the set.mm corpus's
``goal_tree`` column. Coq terms use ``provergym.coq.terms.term_to_sexp``.

numpy only; :meth:`TreeTensors.to_torch` imports torch lazily (provergym must not import
torch at top level).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from provergym.metamath.grammar import Node

MM_HYPOTHESIS_MARK = "$e"
PAD, UNK = "<pad>", "<unk>"
LIST, NONE, TRUE, FALSE = "<list>", "<none>", "<true>", "<false>"


# -- text -----------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Runs of whitespace (newlines included) become one space."""
    return " ".join(text.split())


def metamath_goal_text(goal: str, hypotheses: Sequence[str] = ()) -> str:
    """``|- goal $e |- hyp1 $e |- hyp2``: the goal first, so truncation drops hypotheses."""
    parts = [normalize(goal)]
    for hypothesis in hypotheses:
        parts += [MM_HYPOTHESIS_MARK, normalize(hypothesis)]
    return " ".join(parts)


def coq_goal_text(goals: str) -> str:
    """Default-printed Coq goals on one line."""
    return normalize(goals)


# -- vocabulary -----------------------------------------------------------------------------
class Vocabulary:
    """Node labels <-> ids. Id 0 is ``<pad>``, 1 is ``<unk>``; the rest by frequency."""

    def __init__(self, tokens: Iterable[str] = ()):
        self.tokens: list[str] = [PAD, UNK]
        self.ids: dict[str, int] = {PAD: 0, UNK: 1}
        for token in tokens:
            self.add(token)

    def add(self, token: str) -> int:
        found = self.ids.get(token)
        if found is None:
            found = self.ids[token] = len(self.tokens)
            self.tokens.append(token)
        return found

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1,
              max_size: int | None = None) -> Vocabulary:
        """The most frequent tokens (ties in first-seen order), at least ``min_count`` times."""
        counts = Counter(tokens)
        ranked = [t for t, c in counts.most_common() if c >= min_count and t not in (PAD, UNK)]
        if max_size is not None:
            ranked = ranked[:max(0, max_size - 2)]
        return cls(ranked)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.ids

    def encode(self, token: str) -> int:
        return self.ids.get(token, 1)

    def decode(self, index: int) -> str:
        return self.tokens[index]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.tokens))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        tokens = json.loads(Path(path).read_text())
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"{path}: not a vocabulary (must start with {PAD}, {UNK})")
        return cls(tokens[2:])


# -- tree tensors -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TreeTensors:
    """One tree in pre-order: ``node_types``, ``parent``, ``depth``, each ``int64[N]``."""

    node_types: np.ndarray
    parent: np.ndarray
    depth: np.ndarray

    def __len__(self) -> int:
        return int(self.node_types.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeTensors):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(
            (self.node_types, self.parent, self.depth),
            (other.node_types, other.parent, other.depth)))

    def children(self) -> list[list[int]]:
        """Each node's children indices, in order."""
        out: list[list[int]] = [[] for _ in range(len(self))]
        for index, parent in enumerate(self.parent.tolist()):
            if parent >= 0:
                out[parent].append(index)
        return out

    def to_torch(self) -> dict[str, Any]:
        import torch  # lazily: provergym does not depend on torch at import time

        return {"node_types": torch.from_numpy(self.node_types),
                "parent": torch.from_numpy(self.parent), "depth": torch.from_numpy(self.depth)}


def _flatten(labels_and_children: Iterable[tuple[str, int, int]], vocab: Vocabulary,
             grow: bool) -> TreeTensors:
    types, parents, depths = [], [], []
    for label, parent, depth in labels_and_children:
        types.append(vocab.add(label) if grow else vocab.encode(label))
        parents.append(parent)
        depths.append(depth)
    return TreeTensors(np.asarray(types, dtype=np.int64), np.asarray(parents, dtype=np.int64),
                       np.asarray(depths, dtype=np.int64))


def _preorder(root: Any, label_of, children_of) -> Iterable[tuple[str, int, int]]:
    # Iterative: set.mm and mathcomp trees can be deeper than Python's recursion limit.
    stack = [(root, -1, 0)]
    index = 0
    while stack:
        node, parent, depth = stack.pop()
        yield label_of(node), parent, depth
        stack.extend((child, index, depth + 1) for child in reversed(children_of(node)))
        index += 1


def _rebuild(tensors: TreeTensors, vocab: Vocabulary, make) -> Any:
    if len(tensors) == 0:
        raise ValueError("empty tree")
    if tensors.parent[0] != -1:
        raise ValueError("node 0 must be the root (parent -1)")
    labels = [vocab.decode(i) for i in tensors.node_types.tolist()]
    if UNK in labels:
        raise ValueError("the tree has a label outside the vocabulary (<unk>): cannot rebuild")
    kids = tensors.children()
    built: list[Any] = [None] * len(labels)
    for index in range(len(labels) - 1, -1, -1):  # children come after parents in pre-order
        built[index] = make(labels[index], [built[k] for k in kids[index]])
    return built[0]


def metamath_tree_tensors(tree: Node, vocab: Vocabulary, grow: bool = False) -> TreeTensors:
    """A Metamath syntax tree as tensors. ``grow`` adds unseen labels to ``vocab``."""
    return _flatten(_preorder(tree, lambda n: n.label, lambda n: n.children), vocab, grow)


def metamath_tree_from_tensors(tensors: TreeTensors, vocab: Vocabulary) -> Node:
    from provergym.metamath.grammar import Node

    return _rebuild(tensors, vocab, lambda label, children: Node(label, tuple(children)))


# Coq terms: dataclass nodes, tuples, strings, None/bools.
def _coq_reserved() -> set[str]:
    from provergym.coq import terms

    return set(terms._NODES) | {LIST, NONE, TRUE, FALSE, PAD, UNK}


def _coq_label(value: Any, reserved: set[str]) -> str:
    if value is None:
        return NONE
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    if isinstance(value, str):
        return json.dumps(value) if value in reserved or value.startswith('"') else value
    if isinstance(value, tuple):
        return LIST
    if dataclasses.is_dataclass(value):
        return type(value).__name__
    raise TypeError(f"not a Coq AST value: {value!r}")


def _coq_children(value: Any) -> Sequence[Any]:
    if isinstance(value, tuple):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    return ()


def coq_tree_tensors(term: Any, vocab: Vocabulary, grow: bool = False) -> TreeTensors:
    """A ``provergym.coq.terms`` AST (a Term, Pattern or HypothesisTerms) as tensors."""
    reserved = _coq_reserved()
    return _flatten(_preorder(term, lambda v: _coq_label(v, reserved), _coq_children),
                    vocab, grow)


def coq_tree_from_tensors(tensors: TreeTensors, vocab: Vocabulary) -> Any:
    from provergym.coq import terms

    classes = terms._NODES
    constants = {NONE: None, TRUE: True, FALSE: False}

    def make(label: str, children: list[Any]) -> Any:
        if label == LIST:
            return tuple(children)
        if label in constants:
            return constants[label]
        if label in classes:
            cls = classes[label]
            if len(children) != len(dataclasses.fields(cls)):
                raise ValueError(f"{label} takes {len(dataclasses.fields(cls))} fields, "
                                 f"got {len(children)}")
            return cls(*children)
        if children:
            raise ValueError(f"the name {label!r} cannot have children")
        return json.loads(label) if label.startswith('"') else label

    return _rebuild(tensors, vocab, make)


def collate(trees: Sequence[TreeTensors], max_nodes: int | None = None) -> dict[str, np.ndarray]:
    """Pad a batch: ``node_types``/``parent``/``depth`` ``int64[B, N_max]`` and ``mask``
    ``bool[B, N_max]``. ``max_nodes`` truncates (pre-order keeps each kept node's parent)."""
    longest = max((len(t) for t in trees), default=0)
    width = longest if max_nodes is None else min(longest, max_nodes)
    batch = len(trees)
    out = {"node_types": np.zeros((batch, width), dtype=np.int64),
           "parent": np.full((batch, width), -1, dtype=np.int64),
           "depth": np.zeros((batch, width), dtype=np.int64),
           "mask": np.zeros((batch, width), dtype=bool)}
    for row, tree in enumerate(trees):
        n = min(len(tree), width)
        out["node_types"][row, :n] = tree.node_types[:n]
        out["parent"][row, :n] = tree.parent[:n]
        out["depth"][row, :n] = tree.depth[:n]
        out["mask"][row, :n] = True
    return out


# -- Metamath S-expressions -------------------------------------------------------------------
_SEXP_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def metamath_tree_to_sexp(tree: Node) -> str:
    """``(wi wph (wn wps))``: a leaf is its bare label, a node ``(label child ...)``."""
    parts: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif not item.children:
            parts.append(item.label)
        else:
            parts.append("(" + item.label)
            stack.append(")")
            stack.extend(reversed(item.children))
    # A ")" closes without a space before it; everything else is space-separated.
    return " ".join(parts).replace(" )", ")")


def metamath_sexp_to_tree(text: str) -> Node:
    """The inverse of :func:`metamath_tree_to_sexp`; ``ValueError`` on malformed text."""
    from provergym.metamath.grammar import Node

    tokens = _SEXP_TOKEN.findall(text)
    if not tokens:
        raise ValueError("empty S-expression")
    stack: list[tuple[str, list[Node]]] = []
    result: Node | None = None
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if result is not None:
            raise ValueError(f"text after the end of the tree: {token!r}")
        if token == "(":
            position += 1
            if position >= len(tokens) or tokens[position] in "()":
                raise ValueError("'(' must be followed by a label")
            stack.append((tokens[position], []))
        elif token == ")":
            if not stack:
                raise ValueError("unbalanced ')'")
            label, children = stack.pop()
            if not children:
                raise ValueError(f"({label}) has no children: write the bare label")
            node = Node(label, tuple(children))
            if stack:
                stack[-1][1].append(node)
            else:
                result = node
        else:
            node = Node(token)
            if stack:
                stack[-1][1].append(node)
            else:
                result = node
        position += 1
    if stack or result is None:
        raise ValueError("unbalanced '('")
    return result
