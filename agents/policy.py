"""The trained model as a policy and a value for search.

- ``propose(goal, n)``: up to ``n`` distinct actions with their log-probabilities. The
  default strategy is beam search (one batched ``generate`` call with ``n`` beams): it is
  deterministic and returns the ``n`` most likely sequences, which is what best-first
  search and top-k evaluation want. ``strategy="sample"`` draws ``oversample * n``
  sequences in one batch instead (more diverse, for larger n). Either way, the candidates
  are decoded and deduplicated, unfinished (no eos) or ill-formed ones
  (``TaskSpec.well_formed``) are dropped, and each is re-scored exactly: its
  log-probability is ``log p(action tokens + eos | prompt)``, summed, not length-normalised,
  so figures from both strategies mean the same thing.
- ``value(goal)``: a score from the VALUE prompt's label distribution. A Metamath model
  trained with the unproved label (``agents.tasks.UNPROVED_LABEL``, ``<steps:none>``) gives
  GPT-f's value, ``log p(provable) = log(1 - p(<steps:none>))`` (0 is surely provable);
  ``provable(goals)`` gives that probability itself. A model whose tokenizer lacks the label
  (trained before it existed, or another task) scores as before: the expected
  ``-log2(steps left)`` over the buckets (0 means "one step to go"; higher is better), and
  ``provable`` is an error for it (``has_provable`` says which kind a model is).
- ``classify(goal)`` (Coq): GamePad's tactic-class task scored from the CLASS prompt, and
  ``value_distribution`` gives the position task. Both score the options: a softmax over
  the option tokens at the keyword's position, one forward pass for any number of options.

``goal`` is prompt text (as ``agents.tasks`` formats it) or a provergym ``ProofState``.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.retrieval import LabelRetriever
from agents.tasks import CLASS, GOAL, HINT, PROOFSTEP, VALUE, TaskSpec, get_task, goal_text
from agents.tokenizer import encode_text, load_tokenizer, token_id
from agents.train import ConfigError, resolve_model_dir, value_labels_of
from provergym.api import ProofState
from provergym.tensorize import normalize

Goalish = str | ProofState

__all__ = ["Policy", "resolve_model_dir"]


def _cache_keyword(model) -> str:
    """The forward argument that takes a key/value cache: ``cache`` in transformers 5.x
    (which warns on the old name), ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _output_cache(output):
    """The key/value cache a forward pass returned, under either version's name."""
    cache = output.get("cache") if hasattr(output, "get") else None
    return cache if cache is not None else output.past_key_values


# Scoring a chunk of actions attends rows x longest x (prompt + longest) query/key pairs a
# head and a layer; a chunk holds at most this many (or one action, however long)
SCORE_CELLS = 1 << 22


def _length_chunks(lengths: Sequence[int], width: int,
                   cells: int | None = None) -> list[list[int]]:
    """Indices of the answers, shortest first, cut into chunks whose padded attention
    (rows x longest x (width + longest)) stays within ``cells`` (default SCORE_CELLS)."""
    cells = SCORE_CELLS if cells is None else cells
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    chunks: list[list[int]] = []
    for i in order:
        longest = lengths[i]  # sorted: the newcomer is the chunk's longest
        if chunks and (len(chunks[-1]) + 1) * longest * (width + longest) <= cells:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


class Policy:
    """A trained model with its tokenizer, for propose/value/classify."""

    def __init__(self, model, tokenizer, task: TaskSpec, meta: dict, device,
                 retriever=None) -> None:
        self.model = model.eval()
        self._cache_argument = _cache_keyword(model)
        self.tokenizer = tokenizer
        self.task = task
        self.meta = meta
        self.device = device
        self.context = int(model.config.max_position_embeddings)
        self.keyword_ids = {k: token_id(tokenizer, k) for k in (GOAL, PROOFSTEP, VALUE, CLASS)}
        # Only the value labels this model's tokenizer has: one trained before the
        # unproved label existed keeps its buckets and its old value.
        self.value_labels: tuple[str, ...] = tuple(value_labels_of(task, tokenizer))
        self.value_ids = [token_id(tokenizer, label) for label in self.value_labels]
        self.has_provable = (task.unproved_label is not None
                               and task.unproved_label in self.value_labels)
        self.class_tokens: list[str] = list(meta.get("class_tokens", []))
        self.class_ids = [token_id(tokenizer, token) for token in self.class_tokens]
        # Retrieved labels in the PROOFSTEP prompt (agents.retrieval), if trained with them.
        self.hints = int(meta.get("hints", 0))
        self.retriever = retriever
        if self.hints and retriever is None:
            raise ValueError("this model was trained with hints: load it with its retriever")
        self.hint_id = token_id(tokenizer, HINT) if self.hints else None
        # the last prompt run alone: (its ids, last position's logits, key/value cache)
        self._last_head: tuple[tuple[int, ...], Any, Any] | None = None
        self._hint_cache: dict[str, list[int]] = {}

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> Policy:
        import torch
        from transformers import LlamaForCausalLM

        model_dir = resolve_model_dir(path)
        meta = json.loads((model_dir / "provergym.json").read_text())
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = LlamaForCausalLM.from_pretrained(str(model_dir), dtype=dtype).to(device)
        retriever = None
        if meta.get("hints"):
            retriever = LabelRetriever.load(model_dir)
        return cls(model, load_tokenizer(model_dir), get_task(meta["task"]), meta, device,
                   retriever)

    # ------------------------------------------------------------------ prompts

    def _prompt(self, goal: Goalish, keyword: str, answer_room: int) -> list[int]:
        text = goal_text(self.task, goal)
        ids = encode_text(self.tokenizer, text)
        extra = self._hint_ids(text) if keyword == PROOFSTEP and self.hints else []
        room = max(1, self.context - 2 - answer_room - len(extra))
        return [self.keyword_ids[GOAL], *ids[:room], *extra, self.keyword_ids[keyword]]

    def _hint_ids(self, text: str) -> list[int]:
        """``HINT label ...``: the retrieved labels for a goal (cached per goal text)."""
        found = self._hint_cache.get(text)
        if found is None:
            labels = self.retriever.hints([text], self.hints)[0]
            found = [self.hint_id, *self.tokenizer.convert_tokens_to_ids(labels)]
            if len(self._hint_cache) > 10_000:
                self._hint_cache.clear()
            self._hint_cache[text] = found
        return found

    def _left_padded(self, sequences: Sequence[list[int]]):
        """Left-padded ids, mask and positions (positions start at 0 on the first token)."""
        import torch

        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in sequences])
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), positions.to(self.device)

    # ------------------------------------------------------------------ policy

    def propose(self, goal: Goalish, n: int, **options) -> list[tuple[str, float]]:
        """Up to ``n`` distinct actions for ``goal``, best first, with log-probabilities."""
        return self.propose_batch([goal], n, **options)[0]

    def propose_batch(self, goals: Sequence[Goalish], n: int, *, strategy: str = "beam",
                      max_new_tokens: int = 128, temperature: float = 1.0,
                      oversample: int = 4) -> list[list[tuple[str, float]]]:
        """``propose`` for several goals in one batched ``generate`` call."""
        import torch

        if n < 1 or not goals:
            return [[] for _ in goals]
        max_new_tokens = min(max_new_tokens, self.context // 2)
        prompts = [self._prompt(goal, PROOFSTEP, max_new_tokens) for goal in goals]
        ids, mask, _ = self._left_padded(prompts)
        common = dict(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                      pad_token_id=self.tokenizer.pad_token_id,
                      eos_token_id=self.tokenizer.eos_token_id)
        if strategy == "beam":
            per_goal = n
            options = dict(num_beams=n, num_return_sequences=n, do_sample=False,
                           early_stopping=True, length_penalty=0.0)
        elif strategy == "sample":
            per_goal = n * oversample
            options = dict(do_sample=True, temperature=temperature, top_k=0,
                           num_return_sequences=per_goal)
        else:
            raise ValueError(f"unknown strategy {strategy!r}: use 'beam' or 'sample'")
        with torch.no_grad():
            output = self.model.generate(**common, **options)
        new_tokens = output[:, ids.shape[1]:].tolist()
        results = []
        for index, goal in enumerate(goals):
            actions = self._actions(new_tokens[index * per_goal:(index + 1) * per_goal])
            scores = self.score(goal, actions)
            ranked = sorted(zip(actions, scores), key=lambda pair: -pair[1])
            results.append(ranked[:n])
        return results

    def score(self, goal: Goalish, actions: Sequence[str]) -> list[float]:
        """Exact ``log p(action + eos | GOAL goal PROOFSTEP)`` of each action.

        The prompt is the same for every action, so it is run once and its key/value
        cache shared: the actions then run as one right-padded batch after it (causal
        attention: padding after a token never changes it), and only the positions that
        predict an action's tokens get logits. Same figures as running every
        ``prompt + action`` whole, several times faster on long goals."""
        if not actions:
            return []
        answers = [[*encode_text(self.tokenizer, a), self.tokenizer.eos_token_id]
                   for a in actions]
        longest = max(len(answer) for answer in answers)
        # one prompt for every action (its goal cut to leave room for the longest), scored
        # in chunks of similar length so that a few long actions (a large substitution)
        # neither pad every row to their length nor blow the attention's memory
        prompt = self._prompt(goal, PROOFSTEP, longest)
        totals = [0.0] * len(answers)
        for chunk in _length_chunks([len(answer) for answer in answers], len(prompt)):
            scores = self._score_answers(prompt, [answers[i] for i in chunk])
            for i, value in zip(chunk, scores):
                totals[i] = value
        return totals

    def _score_answers(self, prompt: list[int], answers: list[list[int]]) -> list[float]:
        """``log p(answer | prompt)`` for each answer (token ids, end token included): the
        prompt once (:meth:`_head`), its key/value cache shared by the right-padded answers
        (the answers' pass appends to it, so each chunk gets its own copy)."""
        import torch

        longest = max(len(answer) for answer in answers)
        width, device = len(prompt), self.device
        pad = self.tokenizer.pad_token_id
        rows = len(answers)
        ids = torch.tensor([answer + [pad] * (longest - len(answer)) for answer in answers],
                           device=device)
        mask = torch.tensor([[1] * (width + len(answer)) + [0] * (longest - len(answer))
                             for answer in answers], device=device)
        positions = torch.arange(width, width + longest, device=device).expand(rows, -1)
        with torch.no_grad():
            last, cache = self._head(prompt)
            cache.batch_repeat_interleave(rows)
            # the answer's first token comes from the prompt's last position; token j > 0
            # from the answer's position j - 1 (the last position predicts nothing)
            first = torch.log_softmax(last.float(), dim=-1)
            total = first[ids[:, 0]]
            if longest > 1:
                logits = self.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1],
                                    position_ids=positions[:, :-1], use_cache=False,
                                    **{self._cache_argument: cache}).logits
                lengths = torch.tensor([len(answer) for answer in answers], device=device)
                wanted = torch.arange(longest - 1, device=device) < (lengths - 1)[:, None]
                row, column = wanted.nonzero(as_tuple=True)
                chosen = logits[row, column].float()
                picked = (chosen.gather(-1, ids[row, column + 1][:, None]).squeeze(-1)
                          - torch.logsumexp(chosen, dim=-1))
                total = total.index_add(0, row, picked)
        return [float(value) for value in total]

    def _head(self, prompt: list[int], with_cache: bool = True) -> tuple[Any, Any]:
        """The prompt run alone: its last position's logits and a key/value cache of it
        that the caller may extend. The last prompt's are kept, so that a search that asks
        for the first-token distribution and then scores actions (or scores them in several
        chunks) runs its prompt once."""
        import torch

        key = tuple(prompt)
        if self._last_head is None or self._last_head[0] != key:
            with torch.no_grad():
                head = self.model(input_ids=torch.tensor([prompt], device=self.device),
                                  use_cache=True, logits_to_keep=1)
            self._last_head = (key, head.logits[0, -1], _output_cache(head))
        return self._last_head[1], copy.deepcopy(self._last_head[2]) if with_cache else None

    def first_token_logprobs(self, goal: Goalish, words: Sequence[str]) -> list[float]:
        """``log p(answer starts with word | GOAL goal PROOFSTEP)`` for each word, from one
        forward pass. Metamath's tokenizer is word-level, so a label is one word; a word
        the vocabulary lacks gets the unknown token's log-probability."""
        import torch

        logits, _ = self._head(self._prompt(goal, PROOFSTEP, 1), with_cache=False)
        return torch.log_softmax(logits.float(), dim=-1)[self._word_ids(words)].tolist()

    def _word_ids(self, words: Sequence[str]) -> list[int]:
        """Each word's token id, the unknown token's for a word the vocabulary lacks."""
        unk = self.tokenizer.unk_token_id
        return [unk if i is None else i for i in self.tokenizer.convert_tokens_to_ids(list(words))]

    def _actions(self, rows: Sequence[list[int]]) -> list[str]:
        """The distinct, whole (eos reached) and well-formed action texts among generated
        token rows, in the order generated."""
        eos = self.tokenizer.eos_token_id
        texts: list[str] = []
        for tokens in rows:
            if eos not in tokens:
                continue  # ran out of room: not a whole action
            rest = self.tokenizer.decode(tokens[: tokens.index(eos)], skip_special_tokens=True)
            text = normalize(rest)
            well_formed = self.task.well_formed is None or self.task.well_formed(text)
            if text and well_formed and text not in texts:
                texts.append(text)
        return texts

    def first_token_logprobs_batch(self, goals: Sequence[Goalish],
                                   words: Sequence[Sequence[str]]) -> list[list[float]]:
        """:meth:`first_token_logprobs` for several goals in one left-padded forward pass
        (what a policy server batches; the figures may differ from the one-goal pass in
        the last bits of floating point)."""
        import torch

        table = torch.log_softmax(self._last_logits(goals, PROOFSTEP), dim=-1)
        return [row[self._word_ids(wanted)].tolist() for row, wanted in zip(table, words)]

    def _last_logits(self, goals: Sequence[Goalish], keyword: str):
        """The logits at each goal's prompt's last position (``keyword``), in one
        left-padded forward pass."""
        import torch

        ids, mask, positions = self._left_padded([self._prompt(g, keyword, 1) for g in goals])
        with torch.no_grad():
            return self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                              logits_to_keep=1).logits[:, -1].float()

    # ------------------------------------------------------------------ options

    def option_logprobs(self, goals: Sequence[Goalish], keyword: str,
                        option_ids: Sequence[int]) -> list[list[float]]:
        """Log-softmax over ``option_ids`` at the keyword, for each goal (one forward)."""
        import torch

        if not option_ids:
            raise ValueError(f"this model has no options for {keyword}")
        chosen = self._last_logits(goals, keyword)[:, list(option_ids)]
        return torch.log_softmax(chosen, dim=-1).tolist()

    def value_distribution(self, goal: Goalish) -> dict[str, float]:
        """Probability of each value label the model has (for Coq: GamePad's position
        buckets)."""
        logprobs = self.option_logprobs([goal], VALUE, self.value_ids)[0]
        return {label: math.exp(lp) for label, lp in zip(self.value_labels, logprobs)}

    def value(self, goal: Goalish) -> float:
        """The search value of one goal (see ``values``); higher is better."""
        return self.values([goal])[0]

    def values(self, goals: Sequence[Goalish]) -> list[float]:
        """The search value of each goal, higher is better: ``log p(provable)`` (at most 0)
        for a model with the unproved label; else, as models trained before it, the
        expected ``-log2(steps left)`` over the buckets (0 is one step to go)."""
        rows = self.option_logprobs(goals, VALUE, self.value_ids)
        if self.has_provable:  # the buckets' total mass, as a log-sum-exp
            return [_logsumexp(row[:-1]) for row in rows]
        return [sum(math.exp(lp) * s for lp, s in zip(row, self.task.value_scores))
                for row in rows]

    def provable(self, goals: Sequence[Goalish]) -> list[float]:
        """The probability that each goal is provable within the search budget,
        ``1 - p(<steps:none>)``, in [0, 1]. A ConfigError for a model without the unproved
        label (``has_provable`` is False): it never saw an unprovable goal."""
        if not self.has_provable:
            raise ConfigError(
                f"this {self.task.name} model has no {self.task.unproved_label or 'unproved'} "
                "value label (trained before it existed, or a task without it): it cannot "
                "say whether a goal is provable; train a new model")
        rows = self.option_logprobs(goals, VALUE, self.value_ids)
        return [min(1.0, max(0.0, math.exp(_logsumexp(row[:-1])))) for row in rows]

    def classify(self, goal: Goalish) -> dict[str, float]:
        """Coq: the probability of each GamePad tactic class (class name -> probability)."""
        logprobs = self.option_logprobs([goal], CLASS, self.class_ids)[0]
        names = [t[len("<class:"):-1] for t in self.class_tokens]
        return {name: math.exp(lp) for name, lp in zip(names, logprobs)}
