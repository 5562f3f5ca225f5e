"""Evaluation of a trained model on a corpus split, with baselines beside it.

- Proof steps (all tasks): exact match of the normalised action at top-1 and top-k, with
  beam search of width k (the policy's default strategy).
- Value: accuracy of the most likely bucket, negative log-likelihood, and calibration as
  the expected calibration error (ECE, 10 bins on the top bucket's probability). For a
  model with the unproved label, ``value_calibration`` measures ``Policy.provable`` on
  goals labelled provable or not (expert iteration's value targets): ROC AUC, accuracy at
  0.5, and the majority class's share beside them.
- Coq, GamePad's two tasks, from the same model. We score the options: one forward pass
  of ``GOAL g CLASS`` (tactic class) or ``GOAL g VALUE`` (position bucket), then a softmax
  restricted to the option tokens. Why not a classification head: the options are single
  special tokens that the language model was trained to produce at that position, so
  scoring them *is* a classifier that shares every weight with the policy, needs no extra
  parameters, loss or checkpoint format, and fits GPT-f's "one model, several prompts".
  References: the majority class and our TF-IDF + linear SVM on the same split, and
  GamePad's published SVM figures (49.45% tactic, 57.52% position; on GamePad's own
  Feit-Thompson split, so a reference, not a like-for-like comparison).

Two measures need a live environment and are hooks taking a ``step`` callable
(``provergym.api.Backend.step``): ``acceptance_rate`` (share of proposed Metamath steps the
environment accepts; wired to our Metamath environment by ``provergym eval --database``)
and ``chained_solve_rate`` (rewrite problems fully solved by chaining the model's top step,
against GamePad's 10/50; run in Coq by ``rewrite_chained_solving`` when the corpus has
its generated ``coq/*.v`` files).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from agents.baselines import LinearClassifier, MostFrequent, NearestNeighbours, majority_label
from agents.policy import Goalish, Policy, resolve_model_dir
from agents.tasks import CLASS, VALUE, Example, TaskSpec, class_token, goal_text
from agents.train import DataError, examples_of, load_task_corpus
from corpora.rewrite import open_problem
from provergym.api import ProofState, Proved, Rejected, StepResult
from provergym.coq.env import CoqFile
from provergym.metamath.env import MetamathEnv
from provergym.progress import bar as tqdm
from provergym.tensorize import normalize

GAMEPAD_SVM = {"tactic_class": 0.4945, "position": 0.5752}
GAMEPAD_REWRITE_SOLVED = (10, 50)

ProposeBatch = Callable[[Sequence[str], int], list[list[tuple[str, float]]]]


def step_accuracy(propose_batch: ProposeBatch, examples: Sequence[Example], k: int,
                  batch_size: int = 8, desc: str = "proof steps",
                  collect: dict[str, list[tuple[str, float]]] | None = None) -> dict[str, float]:
    """Share of examples whose gold action is the first candidate, or among the first k.

    ``collect``, if given, receives each goal's candidates (to reuse them, e.g. for the
    environment's acceptance rate, without generating twice).
    """
    top1 = topk = 0
    for start in tqdm(range(0, len(examples), batch_size), desc=desc, leave=False):
        chunk = examples[start:start + batch_size]
        for example, candidates in zip(chunk, propose_batch([e.goal for e in chunk], k)):
            if collect is not None:
                collect[example.goal] = candidates
            actions = [normalize(a) for a, _ in candidates]
            gold = normalize(example.action)
            top1 += bool(actions) and actions[0] == gold
            topk += gold in actions[:k]
    count = max(1, len(examples))
    return {"n": len(examples), "top1": top1 / count, f"top{k}": topk / count}


def calibration_error(confidences: Sequence[float], correct: Sequence[bool],
                      bins: int = 10) -> float:
    """Expected calibration error: the bin-weighted gap between confidence and accuracy."""
    total = len(confidences)
    if total == 0:
        return float("nan")
    error = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences)
                   if low < c <= high or (b == 0 and c == 0.0)]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            confidence = sum(confidences[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return error


def option_metrics(logprob_rows: Sequence[Sequence[float]], options: Sequence[str],
                   gold: Sequence[str]) -> dict[str, float]:
    """Accuracy, NLL and ECE of option distributions against gold labels."""
    correct, confidences, nll = [], [], 0.0
    for row, label in zip(logprob_rows, gold):
        best = max(range(len(row)), key=row.__getitem__)
        correct.append(options[best] == label)
        confidences.append(math.exp(row[best]))
        nll -= row[options.index(label)] if label in options else math.log(1e-9)
    count = max(1, len(gold))
    return {"n": len(gold), "accuracy": sum(correct) / count, "nll": nll / count,
            "ece": calibration_error(confidences, correct)}


def _batched_option_logprobs(policy, goals: Sequence[str], keyword: str,
                             option_ids: Sequence[int], batch_size: int = 32):
    rows: list[list[float]] = []
    for start in range(0, len(goals), batch_size):
        rows += policy.option_logprobs(goals[start:start + batch_size], keyword, option_ids)
    return rows


def value_metrics(policy, examples: Sequence[Example]) -> dict[str, float]:
    rows = _batched_option_logprobs(policy, [e.goal for e in examples], VALUE, policy.value_ids)
    return option_metrics(rows, policy.value_labels, [e.value_label for e in examples])


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The area under the ROC curve (scikit-learn's): the chance that a random positive
    (label 1) scores above a random negative, ties counting half. NaN when one class is
    missing."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores for {len(labels)} labels")
    if len({bool(label) for label in labels}) < 2:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([int(bool(label)) for label in labels], list(scores)))


def value_calibration(policy, goals: Sequence[Goalish], labels: Sequence[int],
                      batch_size: int = 32) -> dict[str, float]:
    """How well ``policy.provable`` separates provable goals (label 1) from goals that
    search expanded without proving (0): ``auc`` (ROC, NaN with one class only),
    ``accuracy`` (provable when the probability is at least 0.5), ``majority`` (the larger
    class's share: the accuracy of always guessing it) and ``n``. The policy must know the
    unproved label (``Policy.provable`` raises a ConfigError otherwise)."""
    if len(goals) != len(labels):
        raise ValueError(f"{len(goals)} goals for {len(labels)} labels")
    scores: list[float] = []
    for start in range(0, len(goals), batch_size):
        scores += policy.provable(goals[start:start + batch_size])
    count = len(labels)
    if count == 0:
        return {"auc": float("nan"), "accuracy": float("nan"), "majority": float("nan"),
                "n": 0}
    positives = sum(1 for label in labels if label)
    correct = sum((score >= 0.5) == bool(label) for score, label in zip(scores, labels))
    return {"auc": roc_auc(scores, labels), "accuracy": correct / count,
            "majority": max(positives, count - positives) / count, "n": count}


def class_metrics(policy, examples: Sequence[Example]) -> dict[str, float]:
    rows = _batched_option_logprobs(policy, [e.goal for e in examples], CLASS, policy.class_ids)
    gold = [class_token(e.tactic_class or "") for e in examples]
    return option_metrics(rows, policy.class_tokens, gold)


def majority_accuracy(train_labels: Iterable[str], gold: Sequence[str]) -> float:
    majority = majority_label(train_labels)
    return sum(label == majority for label in gold) / max(1, len(gold))


# ------------------------------------------------------------------ environment hooks


def acceptance_rate(propose: Callable[[ProofState, int], list[tuple[str, float]]],
                    states: Iterable[ProofState],
                    step: Callable[[ProofState, str], StepResult], n: int = 8) -> float:
    """Share of proposed actions that the environment accepts (not ``Rejected``)."""
    accepted = proposed = 0
    for state in states:
        for action, _ in propose(state, n):
            proposed += 1
            accepted += not isinstance(step(state, action), Rejected)
    return accepted / proposed if proposed else float("nan")


def metamath_acceptance(policy, records: Sequence[dict], database: str | Path,
                        candidates: dict[str, list[tuple[str, float]]], n: int) -> dict:
    """The acceptance hook run for real: each record's goal is opened in its theorem's
    context in our Metamath environment, and the model's candidates are stepped."""
    try:
        env = MetamathEnv(database)
    except Exception as error:  # the parser's own error types; say which file
        raise DataError(f"cannot load the Metamath database {database}: {error}") from None
    states, skipped = [], 0
    for record in records:
        try:
            states.append(env.goal_state(record["theorem"], record["goal"]))
        except Exception:  # not in this database, or a goal its grammar cannot parse
            skipped += 1

    def propose(state: ProofState, count: int) -> list[tuple[str, float]]:
        cached = candidates.get(goal_text(policy.task, state))
        return (cached if cached is not None else policy.propose(state, count))[:count]

    rate = acceptance_rate(propose, tqdm(states, desc="acceptance", leave=False), env.step, n)
    env.close()
    return {"states": len(states), "skipped": skipped, "accepted_share": rate}


def chained_solve_rate(propose: Callable[[ProofState, int], list[tuple[str, float]]],
                       problems: Iterable[ProofState],
                       step: Callable[[ProofState, str], StepResult],
                       max_steps: int = 50, n: int = 4) -> tuple[int, int]:
    """(solved, total): chain the top accepted step until ``Proved`` or a dead end."""
    solved = total = 0
    for state in problems:
        total += 1
        current: ProofState | None = state
        for _ in range(max_steps):
            if current is None:
                break
            next_state = None
            for action, _ in propose(current, n):  # the best action the prover accepts
                result = step(current, action)
                if isinstance(result, Proved):
                    solved += 1
                    current = None
                    break
                if not isinstance(result, Rejected):
                    next_state = result.state
                    break
            else:
                break
            current = next_state if current is not None else None
    return solved, total


def rewrite_chained_solving(policy, source_files: Sequence[Path], problems: Sequence[str],
                            n: int = 4, max_steps: int = 30,
                            step_timeout: float = 10.0) -> dict[str, Any]:
    """GamePad's measure, run for real in Coq: chain the model's steps on each problem.

    Problems are opened from the corpus's generated ``.v`` files (``intros b.`` done, as
    the step records start). The corpus holds the rewrites only, so ``reflexivity.`` is
    offered after the model's candidates: it succeeds only once the rewrites reach
    ``b = b`` (the axioms make nothing else convertible), which is GamePad's "solved".
    """
    def propose(state: ProofState, count: int) -> list[tuple[str, float]]:
        return [*policy.propose(state, count), ("reflexivity.", float("-inf"))]

    wanted = set(problems)
    solved = total = 0
    bar = tqdm(total=len(wanted), desc="chained solving", leave=False)
    for path in source_files:
        text = Path(path).read_text()
        names = sorted(name for name in wanted if f"Lemma {name} " in text)
        if not names:
            continue
        with CoqFile(path, step_timeout=step_timeout) as env:
            for name in names:
                state = open_problem(env, name)
                got, _ = chained_solve_rate(propose, [state], env.step, max_steps, n)
                solved += got
                total += 1
                wanted.discard(name)
                bar.update(1)
    bar.close()
    return {"solved": solved, "total": total, "not_found": len(wanted),
            "gamepad": list(GAMEPAD_REWRITE_SOLVED)}


# ------------------------------------------------------------------ the command


def _sample(dataset, limit: int, seed: int = 0):
    if limit and len(dataset) > limit:
        indices = sorted(random.Random(seed).sample(range(len(dataset)), limit))
        return dataset.select(indices)
    return dataset


def run_evaluation(model: str | Path, split: str, data_dir: str | Path | None = None,
                   limit: int = 300, k: int = 8, baselines: bool = True,
                   database: str | Path | None = None, solve: bool = True) -> dict[str, Any]:
    """Evaluate a run (or hf folder) on a split; the report is also saved beside the model."""
    model_dir = resolve_model_dir(model)
    policy = Policy.load(model_dir)
    task: TaskSpec = policy.task
    if data_dir is None:
        config_path = model_dir.parent / "train_config.json"
        if not config_path.is_file():
            raise FileNotFoundError(f"no train_config.json beside {model_dir}: pass --data")
        data_dir = json.loads(config_path.read_text())["data_dir"]
    corpus = load_task_corpus(task, data_dir)
    if split not in corpus:
        raise DataError(f"the corpus at {data_dir} has no {split!r} split")
    records = _sample(corpus[split], limit)
    examples = list(examples_of(task, records))
    report: dict[str, Any] = {"task": task.name, "split": split, "model": str(model_dir),
                              "step": policy.meta.get("step"), "n": len(examples)}
    candidates: dict[str, list[tuple[str, float]]] = {}
    report["model_steps"] = step_accuracy(policy.propose_batch, examples, k,
                                          collect=candidates)
    if database is not None and task.name == "metamath":
        report["model_acceptance"] = metamath_acceptance(
            policy, list(records), database, candidates, k)
    report["model_value"] = value_metrics(policy, examples)
    if task.has_class:
        report["model_tactic_class"] = class_metrics(policy, examples)
        report["gamepad_svm_reference"] = GAMEPAD_SVM
    if baselines:
        train_examples = list(examples_of(task, _sample(corpus["train"], 50_000)))
        report["baselines"] = _baselines(task, train_examples, examples, k)
    if task.name == "rewrite":
        report["gamepad_rewrite_solved_reference"] = list(GAMEPAD_REWRITE_SOLVED)
        sources = sorted((Path(data_dir) / "coq").glob("*.v"))
        if solve and sources:
            problems = sorted(set(corpus[split]["problem"]))
            report["model_chained_solving"] = rewrite_chained_solving(
                policy, sources, problems, n=min(k, 4))
    (model_dir.parent / f"eval-{split}.json").write_text(json.dumps(report, indent=1))
    return report


def _baselines(task: TaskSpec, train: list[Example], examples: list[Example],
               k: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    frequent = MostFrequent.fit(e.action for e in train)
    result["most_frequent_steps"] = step_accuracy(frequent.propose_batch, examples, k,
                                                  desc="most frequent")
    neighbours = NearestNeighbours.fit([e.goal for e in train], [e.action for e in train])
    result["knn_steps"] = step_accuracy(neighbours.propose_batch, examples, k, batch_size=256,
                                        desc="k-NN")
    result["majority_value"] = majority_accuracy(
        (e.value_label for e in train), [e.value_label for e in examples])
    if task.has_class:
        classes = [e.tactic_class or "" for e in train]
        result["majority_tactic_class"] = majority_accuracy(
            classes, [e.tactic_class or "" for e in examples])
        goals = [e.goal for e in examples]
        for name, train_labels, gold in (
                ("svm_tactic_class", classes, [e.tactic_class or "" for e in examples]),
                ("svm_position", [e.value_label for e in train],
                 [e.value_label for e in examples])):
            try:
                predicted = LinearClassifier.fit([e.goal for e in train], train_labels).predict(
                    goals)
                result[name] = sum(p == g for p, g in zip(predicted, gold)) / max(1, len(gold))
            except ValueError as error:  # e.g. one class only in a tiny corpus
                result[name] = f"n/a ({error})"
    return result


def format_report(report: dict[str, Any]) -> str:
    """A short human-readable table of a report."""
    lines = [f"{report['task']} / {report['split']}: {report['n']} records, "
             f"model {report['model']} (step {report['step']})"]

    def pct(value: Any) -> str:
        return f"{100 * value:6.2f}%" if isinstance(value, float) else str(value)

    steps = report["model_steps"]
    top_k = next(key for key in steps if key.startswith("top") and key != "top1")
    lines.append(f"  proof step  model    top1 {pct(steps['top1'])}  {top_k} {pct(steps[top_k])}")
    baselines = report.get("baselines", {})
    for name in ("most_frequent_steps", "knn_steps"):
        if name in baselines:
            b = baselines[name]
            lines.append(f"  proof step  {name.split('_steps')[0]:<8} top1 {pct(b['top1'])}  "
                         f"{top_k} {pct(b[top_k])}")
    if "model_acceptance" in report:
        accept = report["model_acceptance"]
        lines.append(f"  proof step  accepted by the environment {pct(accept['accepted_share'])}"
                     f" of the candidates ({accept['states']} states, "
                     f"{accept['skipped']} skipped)")
    value = report["model_value"]
    title = "position" if report["task"] == "coq" else "value"
    lines.append(f"  {title:<10}  model    acc {pct(value['accuracy'])}  "
                 f"nll {value['nll']:.3f}  ece {value['ece']:.3f}")
    if "majority_value" in baselines:
        lines.append(f"  {title:<10}  majority acc {pct(baselines['majority_value'])}")
    if "svm_position" in baselines:
        lines.append(f"  {title:<10}  our SVM  acc {pct(baselines['svm_position'])}  "
                     f"(GamePad SVM {pct(GAMEPAD_SVM['position'])})")
    if "model_tactic_class" in report:
        tactic = report["model_tactic_class"]
        lines.append(f"  tactic cls  model    acc {pct(tactic['accuracy'])}  "
                     f"nll {tactic['nll']:.3f}  ece {tactic['ece']:.3f}")
        if "majority_tactic_class" in baselines:
            lines.append(f"  tactic cls  majority acc {pct(baselines['majority_tactic_class'])}")
        if "svm_tactic_class" in baselines:
            lines.append(f"  tactic cls  our SVM  acc {pct(baselines['svm_tactic_class'])}  "
                         f"(GamePad SVM {pct(GAMEPAD_SVM['tactic_class'])})")
    if "model_chained_solving" in report:
        chained = report["model_chained_solving"]
        lines.append(f"  rewrite     fully solved by chaining the model's steps in Coq: "
                     f"{chained['solved']}/{chained['total']} (GamePad: 10/50)")
    elif "gamepad_rewrite_solved_reference" in report:
        lines.append("  rewrite     chained solving not run (no coq/*.v beside the corpus, or "
                     "--no-solve); GamePad: 10/50")
    return "\n".join(lines)
