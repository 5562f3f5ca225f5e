"""Per-task formatting: a corpus record becomes (goal text, action text, value label).

This is the only place that knows the corpus schemas, so the corpus side only has to match
them. One model serves two prompts, as in GPT-f:

    GOAL <goal text> PROOFSTEP <action> <eos>
    GOAL <goal text> VALUE <bucket> <eos>

For Metamath, VALUE also has a label for a goal that search expanded without proving
(``UNPROVED_LABEL``, expert iteration's negatives): such a record (``steps_left < 0``, an
empty action) is value-only and gives no PROOFSTEP sequence. A model trained before that
label existed lacks its token and keeps the buckets alone (``policy.Policy``).

A Metamath model trained with hints (``TrainConfig.hints``) reads retrieved labels first:
``GOAL <goal text> HINT <label> ... PROOFSTEP <action> <eos>`` (``agents.retrieval``).

and, for Coq only, a third prompt for GamePad's tactic-class task:

    GOAL <goal text> CLASS <tactic class> <eos>

Prompt keywords, buckets and classes are special tokens, so they are never split and a
bucket is one token: scoring the options is one forward pass (see ``policy.Policy.scores``).

Goal and action text is normalised by ``provergym.tensorize`` (``normalize``,
``metamath_goal_text``), the one normaliser that the corpora and the evaluation share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from provergym.api import Goal, ProofState
from provergym.tensorize import metamath_goal_text, normalize

# Prompt keywords (special tokens).
GOAL = "GOAL"
PROOFSTEP = "PROOFSTEP"
VALUE = "VALUE"
CLASS = "CLASS"
HINT = "HINT"  # retrieved labels before PROOFSTEP (agents.retrieval), when a model uses them
PROMPT_KEYWORDS = (GOAL, PROOFSTEP, VALUE, CLASS, HINT)

# Steps-left buckets (log2 scale): a bucket is the first bound that is >= steps_left.
STEP_BUCKET_BOUNDS = (1, 2, 4, 8, 16, 32)
STEP_BUCKET_LABELS = tuple(f"<steps:{b}>" for b in ("1", "2", "3-4", "5-8", "9-16", "17-32")) + (
    "<steps:33+>",
)
# A typical steps-left value inside each bucket, for the value score.
STEP_BUCKET_TYPICAL = (1.0, 2.0, 3.5, 6.5, 12.5, 24.5, 48.0)
# Metamath: "not proved within the search budget" (a record with steps_left < 0).
UNPROVED_LABEL = "<steps:none>"

# GamePad's position task: 0 is < 5 steps left, 1 is 5-19, 2 is >= 20.
POSITION_LABELS = ("<pos:0-4>", "<pos:5-19>", "<pos:20+>")
POSITION_TYPICAL = (2.5, 12.0, 30.0)


def steps_bucket(steps_left: int) -> int:
    """The index of the steps-left bucket of ``steps_left`` (>= 1)."""
    for index, bound in enumerate(STEP_BUCKET_BOUNDS):
        if steps_left <= bound:
            return index
    return len(STEP_BUCKET_BOUNDS)


def class_token(tactic_class: str) -> str:
    """The special token that stands for one GamePad tactic class."""
    return f"<class:{tactic_class}>"


@dataclass(frozen=True)
class Example:
    """One record in model terms. ``tactic_class`` is the CLASS target (Coq only)."""

    goal: str
    action: str
    value_label: str
    tactic_class: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """How one task maps its records and states to text, and how its values are scored."""

    name: str
    tokenizer_kind: Literal["word", "bpe"]
    value_labels: tuple[str, ...]  # unproved_label, if any, comes last
    # value score of each label but unproved_label: -log2(typical steps left), so 0 is "one
    # step to go" and higher is better for best-first search.
    value_scores: tuple[float, ...]
    to_example: Callable[[Mapping[str, Any]], Example]
    state_text: Callable[[ProofState], str]
    corpus_command: str  # what to run when the corpus is missing
    has_class: bool = False
    # A cheap syntactic filter on generated actions, so that search spends no prover call
    # on text that cannot be an action. None: any non-empty text.
    well_formed: Callable[[str], bool] | None = None
    # The VALUE label of a goal not proved within the search budget (a value-only record:
    # no action). None: the task has no such records.
    unproved_label: str | None = None

    def __post_init__(self) -> None:
        buckets = self.value_labels
        if self.unproved_label is not None:
            if self.value_labels[-1:] != (self.unproved_label,):
                raise ValueError(f"{self.name}: the unproved label must be the last value label")
            buckets = self.value_labels[:-1]
        if len(self.value_scores) != len(buckets):
            raise ValueError(f"{self.name}: one value score per bucket label")


def _metamath_example(record: Mapping[str, Any]) -> Example:
    # The target is the short ``step`` (only the substitutions unification cannot decide);
    # a corpus built before that column existed falls back to the full ``action``.
    goal = metamath_goal_text(record["goal"], record.get("hypotheses") or ())
    steps_left = int(record["steps_left"])
    if steps_left < 0:  # a goal search expanded without proving: a value target only
        return Example(goal=goal, action="", value_label=UNPROVED_LABEL)
    return Example(
        goal=goal,
        action=normalize(record.get("step") or record["action"]),
        value_label=STEP_BUCKET_LABELS[steps_bucket(steps_left)],
    )


def count_unproved(task: TaskSpec, dataset) -> int:
    """How many records of ``dataset`` (a ``datasets.Dataset``) are value-only negatives
    (``steps_left < 0``); 0 for a task without an unproved label."""
    if task.unproved_label is None or "steps_left" not in dataset.column_names:
        return 0
    return sum(1 for steps_left in dataset["steps_left"] if steps_left < 0)


# A label, then zero or more "{{ variable : expression }}" groups (an expression may be
# empty: miu.mm needs empty substitutions).
_MM_ACTION = re.compile(r"[^\s{}]+(?: \{\{ [^\s{}]+ :(?: (?!\{\{|\}\})\S+)* \}\})*")


def metamath_well_formed(action: str) -> bool:
    """Whether ``action`` has the shape ``label {{ v : expr }} ...``."""
    return _MM_ACTION.fullmatch(action) is not None


def _metamath_state_text(state: ProofState) -> str:
    goal = _first_goal(state)
    return metamath_goal_text(goal.conclusion, [h.type for h in goal.hypotheses])


def class_name(value: Any) -> str:
    """A tactic class from a corpus record: the name itself (corpora built before the column
    became a ClassLabel), or the ClassLabel's int."""
    if isinstance(value, str):
        return value
    from corpora.tactic_classes import ALL_CLASSES

    return ALL_CLASSES[int(value)]


def _coq_example(record: Mapping[str, Any]) -> Example:
    return Example(
        goal=normalize(record["goals"]),
        action=normalize(record["tactic"]),
        value_label=POSITION_LABELS[int(record["position_bucket"])],
        tactic_class=class_name(record["tactic_class"]),
    )


def _coq_state_text(state: ProofState) -> str:
    # Coq's goals are ordered and the corpus prints all of them, as ProofState.pretty does.
    return normalize(state.pretty())


def _rewrite_example(record: Mapping[str, Any]) -> Example:
    return Example(
        goal=normalize(record["state"]),
        action=normalize(record["action"]),
        value_label=STEP_BUCKET_LABELS[steps_bucket(int(record["steps_left"]))],
    )


def _first_goal(state: ProofState) -> Goal:
    if not state.goals:
        raise ValueError(f"state of {state.theorem!r} has no open goal")
    return state.goals[0]


_STEP_SCORES = tuple(-math.log2(t) for t in STEP_BUCKET_TYPICAL)

TASKS: dict[str, TaskSpec] = {
    "metamath": TaskSpec(
        name="metamath",
        tokenizer_kind="word",
        value_labels=(*STEP_BUCKET_LABELS, UNPROVED_LABEL),
        value_scores=_STEP_SCORES,
        to_example=_metamath_example,
        state_text=_metamath_state_text,
        corpus_command="provergym corpus build metamath",
        well_formed=metamath_well_formed,
        unproved_label=UNPROVED_LABEL,
    ),
    "coq": TaskSpec(
        name="coq",
        tokenizer_kind="bpe",
        value_labels=POSITION_LABELS,
        value_scores=tuple(-math.log2(t) for t in POSITION_TYPICAL),
        to_example=_coq_example,
        state_text=_coq_state_text,
        corpus_command="provergym corpus build coq",
        has_class=True,
    ),
    "rewrite": TaskSpec(
        name="rewrite",
        tokenizer_kind="bpe",
        value_labels=STEP_BUCKET_LABELS,
        value_scores=_STEP_SCORES,
        to_example=_rewrite_example,
        state_text=_coq_state_text,
        corpus_command="provergym corpus build rewrite",
    ),
}


def get_task(name: str) -> TaskSpec:
    """The task called ``name``; a clear error for an unknown one."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


def goal_text(task: TaskSpec, goal: str | ProofState) -> str:
    """Prompt text for a goal given as text (already formatted) or as a ProofState."""
    if isinstance(goal, ProofState):
        return task.state_text(goal)
    return normalize(goal)
