"""Small synthetic corpora in the exact schemas of issue 4's corpora.

They exist so that the training logic can be tested (and its speed measured) before the
real corpora are built, and on machines without them. They are not proof data: results on
them say nothing about theorem proving. Each action is a deterministic function of the
goal (a label chosen by the goal's shape, plus sub-expressions copied from it), so a model
that learns shows it by a falling loss and by exact matches.
"""

from __future__ import annotations

import random
from pathlib import Path

MM_VARIABLES = ("ph", "ps", "ch", "th", "ta")


def _wff(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.35:
        return rng.choice(MM_VARIABLES)
    if rng.random() < 0.25:
        return f"-. {_wff(rng, depth - 1)}"
    connective = rng.choice(("->", "/\\", "\\/", "<->"))
    return f"( {_wff(rng, depth - 1)} {connective} {_wff(rng, depth - 1)} )"


def metamath_record(rng: random.Random, theorem: str) -> dict:
    a, b, c = (_wff(rng, 2) for _ in range(3))
    shape = rng.randrange(4)
    hypotheses: list[str] = []
    if shape == 0:
        goal, label, subst, left = f"|- ( {a} -> ( {b} -> {a} ) )", "ax-1", [("ph", a), ("ps", b)], 1
    elif shape == 1:
        goal, label, subst, left = f"|- ( {a} -> {a} )", "id", [("ph", a)], 5
    elif shape == 2:
        goal = f"|- ( ( {a} -> ( {b} -> {c} ) ) -> ( ( {a} -> {b} ) -> ( {a} -> {c} ) ) )"
        label, subst, left = "ax-2", [("ph", a), ("ps", b), ("ch", c)], 1
    else:
        goal, label, subst, left = f"|- {b}", "ax-mp", [("ph", a), ("ps", b)], 3
        hypotheses = [f"|- {a}", f"|- ( {a} -> {b} )"]
    action = " ".join([label, *(f"{{{{ {v} : {e} }}}}" for v, e in subst)])
    # ax-mp's ph is the only variable here that no conclusion decides
    step = " ".join([label, *(f"{{{{ {v} : {e} }}}}" for v, e in subst
                              if label == "ax-mp" and v == "ph")])
    return {
        "theorem": theorem, "goal": goal, "hypotheses": hypotheses, "label": label,
        "substitution": [{"variable": v, "expression": e} for v, e in subst],
        "action": action, "step": step, "steps_left": left, "depth": rng.randrange(1, 6),
    }


COQ_TEMPLATES = (
    # (goal conclusion, tactic, tactic class, steps left)
    ("{x} + 0 = {x}", "rewrite Nat.add_0_r.", "rewrite", 1),
    ("forall {x} : nat, {x} = {x}", "intros {x}.", "intros", 2),
    ("{x} <= {x}", "apply le_n.", "apply", 1),
    ("S {x} = S {y} -> {x} = {y}", "intros H; injection H; auto.", "intros", 3),
    ("{x} * 1 = {x}", "induction {x}; simpl; auto.", "induction", 8),
    ("length (rev {l}) = length {l}", "rewrite rev_length.", "rewrite", 1),
    ("{l} ++ nil = {l}", "induction {l} as [|a {l} IH]; simpl; congruence.", "induction", 25),
    ("exists k, {x} + k = {x}", "exists 0.", "exists", 6),
)


def coq_record(rng: random.Random, lemma: str) -> dict:
    goal, tactic, tactic_class, left = rng.choice(COQ_TEMPLATES)
    names = {"x": rng.choice("nmpqk"), "y": rng.choice("abc"), "l": rng.choice(("l", "xs", "s"))}
    hypotheses = f"{names['x']} : nat\n{names['l']} : list nat"
    goals = f"{hypotheses}\n============================\n{goal.format(**names)}"
    bucket = 0 if left < 5 else 1 if left < 20 else 2
    return {
        "file": "Synthetic.v", "lemma": lemma, "goals": goals, "goals_sexp": "()",
        "tactic": tactic.format(**names), "tactic_class": tactic_class, "steps_left": left,
        "position_bucket": bucket,
    }


REWRITE_RULES = (("id_l", "e * {0}", "{0}"), ("id_r", "{0} * e", "{0}"),
                 ("inv_l", "i {0} * {0}", "e"))


def rewrite_record(rng: random.Random, problem: str) -> dict:
    atom = rng.choice("abcxyz")
    index = rng.randrange(len(REWRITE_RULES))
    rule, pattern, _ = REWRITE_RULES[index]
    left = pattern.format(atom)
    position = 1 + rng.randrange(2)
    right = " * ".join([atom] * position)
    state = f"{right} * ({left}) = {right} * {atom}"
    return {
        "problem": problem, "state": state, "action": f"rewrite {rule} at {position}.",
        "position": position, "rule": rule, "steps_left": 1 + rng.randrange(3),
    }


MAKERS = {"metamath": metamath_record, "coq": coq_record, "rewrite": rewrite_record}


def build_corpus(task: str, directory: str | Path, sizes: tuple[int, int, int] = (400, 60, 60),
                 seed: int = 0) -> Path:
    """Write a DatasetDict (train/valid/test) of synthetic records with ``save_to_disk``."""
    from datasets import Dataset, DatasetDict

    make = MAKERS[task]
    rng = random.Random(seed)
    splits = {}
    for split, count in zip(("train", "valid", "test"), sizes):
        records = [make(rng, f"{split}{i}") for i in range(count)]
        splits[split] = Dataset.from_list(records)
    path = Path(directory)
    DatasetDict(splits).save_to_disk(str(path))
    return path
