"""Train one model with two prompts (GPT-f) on a corpus, with ``accelerate``.

Reads top to bottom: config -> data -> tokenizer -> model -> loop -> checkpoints.

Run layout (``out_dir``)::

    train_config.json          the resolved config
    tokenizer/                 the tokenizer, trained on the train split (or the init
                               model's, with ``init_from``)
    log.jsonl                  one JSON object per line: train, eval, checkpoint, resume
    checkpoints/latest.json    {"name": ..., "step": ...}, replaced atomically
    checkpoints/step-NNNNNNNN/ accelerate state (model, optimizer, scheduler, RNG),
                               meta.json (step, data position), train_config.json, and
                               hf/ (model + tokenizer + provergym.json) for inference
    config.json, model.safetensors, tokenizer*.json, provergym.json, retriever.*, README.md
                               the finished model and its card (agents.model_card), so
                               that ``from_pretrained(out_dir)`` opens the run

A checkpoint is written to a temporary folder and renamed into place, then ``latest.json``
is replaced, so a kill at any moment leaves the previous checkpoint usable. The data order
is a pure function of (seed, epoch), so the data position is one integer: the number of
samples consumed.

Expert iteration (DESIGN.md, "The learning loop") adds two settings:

- ``extra_data``: dataset folders (a DatasetDict with a ``train`` split in the task's corpus
  schema, e.g. one round of found proofs, plus an optional ``round`` column that is
  dropped) whose train splits join the corpus's train split; everything downstream (the
  record sample, ``value_share``, the retriever) sees the concatenation. The validation
  split stays the corpus's. ``max_train_records`` samples the corpus's records only: the
  extra records all join, and each gives its VALUE sequence whatever ``value_share``. A
  Metamath record with ``steps_left < 0`` is a value-only negative
  (``agents.tasks.UNPROVED_LABEL``): it gives a VALUE sequence and nothing else.
- ``init_from``: a run folder (or a checkpoint, or an ``hf/`` folder) whose weights and
  tokenizer start this run, with a fresh optimizer and schedule (Polu et al. fine-tune
  each round from the same start). The retriever, with hints, is fit on this run's data.
  ``--resume`` continues this run from its own checkpoint (the init model is not read).

This is a library; its command line is ``provergym train`` (``agents.cli``). torch,
accelerate and datasets are imported inside the functions that use them, so that reading a
corpus (``load_task_corpus``, ``examples_of``: the k-NN baselines' search workers) costs
no torch import.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import random
import shutil
import sys
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import corpora.common
from agents.model import build_model, count_parameters, get_size
from agents.retrieval import LabelRetriever
from agents.tasks import (
    CLASS,
    GOAL,
    HINT,
    PROOFSTEP,
    VALUE,
    TaskSpec,
    class_name,
    class_token,
    count_unproved,
    get_task,
)
from agents.tokenizer import (
    encode_text,
    has_token,
    load_tokenizer,
    save_tokenizer,
    token_id,
    train_tokenizer,
)
from provergym.errors import UserError
from provergym.paths import provergym_home

IGNORE_INDEX = -100
KINDS = (PROOFSTEP, VALUE, CLASS)  # the "kind" column indexes this tuple


class ConfigError(UserError, ValueError):
    """A bad config key or value, or a run folder that does not match."""


class DataError(UserError, ValueError):
    """The data (a corpus, a database) is missing or does not have the expected shape."""


@dataclass(frozen=True)
class TrainConfig:
    task: str = "metamath"
    size: str = "tiny"
    data_dir: str = ""  # empty: $PROVERGYM_HOME/corpora/<task>
    out_dir: str = ""  # empty: $PROVERGYM_HOME/runs/<task>-<size>
    steps: int = 300  # optimizer steps; the cosine schedule ends here
    batch_size: int = 16  # sequences per process per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 1e-3  # peak learning rate (AdamW, cosine schedule)
    min_lr_ratio: float = 0.1  # the schedule ends at lr times this
    warmup_steps: int = 30  # linear warm-up steps
    weight_decay: float = 0.1  # AdamW weight decay (matrices only)
    grad_clip: float = 1.0  # gradient norm clip
    eval_every: int = 100  # steps between validation losses
    eval_batches: int = 20  # validation batches per evaluation
    save_every: int = 100  # steps between checkpoints
    keep_checkpoints: int = 2  # checkpoints kept (the newest)
    log_every: int = 10  # steps between log.jsonl lines
    seed: int = 0  # model init, data order and record sample
    max_length: int = 0  # 0: the size's context length
    bpe_vocab_size: int = 4096  # BPE tokenizer vocabulary (Coq, rewrite; Metamath uses words)
    word_min_frequency: int = 1  # word tokenizer: rarer words are <unk>
    # Metamath: retrieved labels in the PROOFSTEP prompt (agents.retrieval; 0: none)
    hints: int = 0
    # what the retriever indexes: "sample" (the records trained on, max_train_records) or
    # "all" (the whole training split: far better hints for a model trained on a sample)
    retrieval_index: str = "sample"
    # the share of training records that also give a VALUE sequence (1: all of them)
    value_share: float = 1.0
    # batches of sequences of similar length (see SampleStream): far less padding
    length_buckets: bool = True
    max_train_records: int = 0  # 0: all; else a seeded random subset (for CPU runs)
    # more training data: dataset folders whose train splits join the corpus's (found
    # proofs and value targets of expert iteration rounds); --set extra_data=DIR1,DIR2
    extra_data: tuple[str, ...] = ()
    # start from this run's (or checkpoint's) model and tokenizer, not from scratch
    init_from: str = ""
    progress: bool = True
    # experiment trackers (accelerate) beside log.jsonl: "auto" (TensorBoard when it is
    # installed, under <out>/tensorboard), "none", or names such as "tensorboard,wandb"
    trackers: str = "auto"
    # CPU only: torch threads (0: torch's default). On a shared 2-core machine 1 thread
    # was 6.6x faster than 2 competing ones (tiny: 5,525 vs 838 tokens/s); raise it on a
    # machine of your own.
    cpu_threads: int = 1


# Per-size defaults; anything can still be overridden.
SIZE_DEFAULTS: dict[str, dict[str, Any]] = {
    # tiny reads a 20k-record sample: the demo and CI must not tokenize all of set.mm.
    "tiny": {"batch_size": 16, "lr": 2e-3, "steps": 300, "warmup_steps": 20,
             "max_train_records": 20_000},
    "small": {"batch_size": 32, "lr": 6e-4, "steps": 20_000, "warmup_steps": 500,
              "bpe_vocab_size": 8192, "eval_every": 500, "save_every": 1000, "log_every": 20},
    "base": {"batch_size": 32, "grad_accum": 4, "lr": 3e-4, "steps": 50_000,
             "warmup_steps": 1000, "bpe_vocab_size": 16384, "eval_every": 1000,
             "save_every": 2000, "log_every": 50},
}


def _coerce(name: str, kind: type, value: Any) -> Any:
    """Convert a CLI string, or check a Python value, against the field's type. A tuple of
    strings is given as a tuple or list, or on the command line as comma-separated text
    (empty text: the empty tuple)."""
    if kind is tuple:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"config key {name!r} wants a list of strings, got {value!r}")
    if isinstance(value, str) and kind is not str:
        try:
            if kind is bool:
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return kind(value)
        except ValueError:
            raise ConfigError(f"config key {name!r} wants {kind.__name__}, got {value!r}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"config key {name!r} wants {kind.__name__}, got {value!r}")
    return value


def apply_overrides(config: TrainConfig, overrides: Mapping[str, Any]) -> TrainConfig:
    """A copy of ``config`` with ``overrides``; an unknown key or a wrong type is an error."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    kinds = {"str": str, "int": int, "float": float, "bool": bool, "tuple[str, ...]": tuple}
    changes = {}
    for name, value in overrides.items():
        if name not in fields:
            raise ConfigError(f"unknown config key {name!r}; known keys: {', '.join(fields)}")
        changes[name] = _coerce(name, kinds[str(fields[name].type)], value)
    return dataclasses.replace(config, **changes)


def resolve_config(task: str, size: str, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the size's defaults, then ``overrides``; paths filled in."""
    get_task(task)
    spec = get_size(size)
    config = apply_overrides(TrainConfig(task=task, size=size), SIZE_DEFAULTS[size])
    config = apply_overrides(config, overrides or {})
    if config.data_dir == "":
        config = dataclasses.replace(config, data_dir=str(provergym_home() / "corpora" / task))
    if config.out_dir == "":
        config = dataclasses.replace(
            config, out_dir=str(provergym_home() / "runs" / f"{task}-{size}"))
    if config.max_length == 0 or config.max_length > spec.context:
        config = dataclasses.replace(config, max_length=spec.context)
    for name in ("steps", "batch_size", "grad_accum", "eval_every", "save_every", "log_every"):
        if getattr(config, name) < 1:
            raise ConfigError(f"config key {name!r} must be >= 1")
    return config


def resume_config(task: str, size: str, overrides: Mapping[str, Any] | None = None
                  ) -> TrainConfig:
    """The config to continue a run with: its saved ``train_config.json`` rules, and only
    ``overrides`` (what the command line gave again) change it."""
    overrides = dict(overrides or {})
    config = resolve_config(task, size, overrides)
    saved = Path(config.out_dir) / "train_config.json"
    if saved.is_file():
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        stored = {k: v for k, v in json.loads(saved.read_text()).items() if k in fields}
        if stored.get("task") != task or stored.get("size") != size:
            raise ConfigError(f"{saved} is a {stored.get('task')}/{stored.get('size')} run")
        config = resolve_config(task, size, {**stored, **overrides})
    return config


def save_json_atomic(path: Path, payload: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w") as handle:
        json.dump(payload, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


# ----------------------------------------------------------------------------- data


def load_task_corpus(task: TaskSpec, data_dir: str | Path, hint: str = ""):
    """The corpus folder ``data_dir`` (``corpora.common.load_corpus``) for ``task``: it must
    have a train split; a DataError says how to build it (or ``hint``)."""
    path = Path(data_dir)
    hint = hint or f"build it with `{task.corpus_command}`, or pass --data DIR"
    if not path.exists():
        raise DataError(f"no {task.name} corpus at {path}: {hint}")
    wanted = f"{path} must hold a DatasetDict with a 'train' split: {hint}"
    try:
        # absolute: a folder, never read as the name of a corpus under $PROVERGYM_HOME
        corpus = corpora.common.load_corpus(path.absolute())
    except corpora.common.CorpusError:  # no dataset_dict.json, or not a DatasetDict
        raise DataError(wanted) from None
    except Exception as error:  # datasets raises several types for a bad folder
        raise DataError(f"{path} is not a saved dataset ({error}): {hint}") from None
    if "train" not in corpus:
        raise DataError(wanted)
    return corpus


# A column training_split adds when there is extra data: True for its records.
ALWAYS_VALUE = "always_value"

EXTRA_DATA_HINT = ("extra_data wants folders that each hold a DatasetDict with a 'train' split "
                   "in the corpus's schema (e.g. a round of `provergym iterate`)")


def training_split(task: TaskSpec, train_split, extra_data: Sequence[str | Path] = ()):
    """The corpus's train split followed by the train split of each ``extra_data`` folder,
    each cut to the corpus's columns (a ``round`` column, or any other the corpus lacks, is
    dropped) and cast to its features. A folder whose records lack a column of the corpus,
    or whose columns cannot be cast, is a DataError that names it."""
    from datasets import concatenate_datasets

    parts = [train_split]
    columns = train_split.column_names
    for folder in extra_data:
        extra = load_task_corpus(task, folder, hint=EXTRA_DATA_HINT)["train"]
        missing = [c for c in columns if c not in extra.column_names]
        if missing:
            raise DataError(f"extra data {folder}: its train split lacks the {task.name} "
                            f"corpus's column(s) {', '.join(missing)} ({EXTRA_DATA_HINT})")
        extra = extra.select_columns(columns)
        if extra.features != train_split.features:
            try:
                extra = extra.cast(train_split.features)
            except Exception as error:  # datasets/pyarrow raise several types
                raise DataError(f"extra data {folder} does not fit the {task.name} corpus's "
                                f"features: {type(error).__name__}: {error}") from None
        parts.append(extra)
    if len(parts) == 1:
        return train_split
    # Records of the extra data always give their VALUE sequence (see encode_examples).
    parts = [part.add_column(ALWAYS_VALUE, [index > 0] * len(part))
             for index, part in enumerate(parts)]
    return concatenate_datasets(parts)


def examples_of(task: TaskSpec, dataset) -> Iterator:
    """Yield ``Example``s, naming the record that does not fit the schema."""
    for index, record in enumerate(dataset):
        try:
            yield task.to_example(record)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise DataError(f"{task.name} record {index} does not fit the schema: "
                            f"{type(error).__name__}: {error}") from None


def tokenizer_texts(task: TaskSpec, dataset) -> Iterator[str]:
    """The goal and action texts the tokenizer is trained on. A value-only record (no
    action) gives its goal only: the model reads it in the VALUE prompt."""
    for example in examples_of(task, dataset):
        yield example.goal
        if example.action:
            yield example.action


def encode_examples(task: TaskSpec, tokenizer, records: Mapping[str, list], max_length: int,
                    value_share: float = 1.0, hint_id: int | None = None):
    """Batched ``Dataset.map`` function: each record gives one sequence per prompt kind
    (the VALUE one only for a ``value_share`` of the records, chosen by a hash of the goal,
    so that a short CPU run spends most of its time on proof steps). A value-only record
    (empty action: a goal search did not prove) gives no PROOFSTEP sequence. Records of
    expert iteration's extra data (an ``always_value`` column, see ``training_split``) and
    value-only records always give their VALUE sequence, whatever the share: the search's
    value targets are the point of that data, and its provable/unprovable balance stays
    the data's.

    Loss is only on the answer: labels are IGNORE_INDEX up to and including the keyword.
    A goal that is too long is cut at its end (for Metamath, hypotheses go first); an
    answer that cannot fit is dropped, since a truncated action would teach a wrong one.
    """
    count = len(next(iter(records.values())))
    rows = [{key: records[key][i] for key in records} for i in range(count)]
    examples = [task.to_example(row) for row in rows]
    goal_ids = tokenizer([e.goal for e in examples], add_special_tokens=False)["input_ids"]
    action_ids = tokenizer([e.action for e in examples], add_special_tokens=False)["input_ids"]
    ids = {name: token_id(tokenizer, name) for name in (GOAL, *KINDS)}
    eos = tokenizer.eos_token_id
    # Retrieved labels (a "hints" column, see agents.retrieval) go before PROOFSTEP.
    hint_lists = records.get("hints") if hint_id is not None else None
    hint_ids = ([[hint_id, *tokenizer.convert_tokens_to_ids(h)] for h in hint_lists]
                if hint_lists is not None else [[] for _ in examples])
    out: dict[str, list] = {"input_ids": [], "labels": [], "kind": []}
    always = records.get(ALWAYS_VALUE) or [False] * count
    for example, goal, action, hints, forced in zip(examples, goal_ids, action_ids, hint_ids,
                                                    always):
        answers = [(PROOFSTEP, action)]
        if value_share >= 1 or forced or not example.action \
                or zlib.crc32(example.goal.encode()) % 1000 < value_share * 1000:
            answers.append((VALUE, [token_id(tokenizer, example.value_label)]))
        if task.has_class and example.tactic_class is not None:
            class_ids = encode_text(tokenizer, class_token(example.tactic_class))
            if len(class_ids) == 1 and class_ids[0] != tokenizer.unk_token_id:
                answers.append((CLASS, class_ids))  # unseen classes have no token: skip
        for keyword, answer in answers:
            target = [*answer, eos]
            extra = hints if keyword == PROOFSTEP else []
            room = max_length - 2 - len(target) - len(extra)
            if room < 1 or not answer:
                continue
            prompt = [ids[GOAL], *goal[:room], *extra, ids[keyword]]
            out["input_ids"].append(prompt + target)
            out["labels"].append([IGNORE_INDEX] * len(prompt) + target)
            out["kind"].append(KINDS.index(keyword))
    return out


def _with_hints(task: TaskSpec, config: TrainConfig, train_split, out_dir: Path,
                whole_split=None):
    """Fit (or, on resume, reload) the label retriever on the training split (the sample
    trained on, or ``whole_split`` with ``retrieval_index="all"``), and add each record's
    hints (its own theorem left out) as a ``hints`` column. Value-only records (no step)
    are not indexed and get no hints (they give no PROOFSTEP prompt)."""
    if task.name != "metamath":
        raise DataError("hints (retrieved labels) exist for the metamath task only")
    if config.retrieval_index not in ("sample", "all"):
        raise ConfigError(f"retrieval_index must be 'sample' or 'all', not "
                          f"{config.retrieval_index!r}")
    examples = list(examples_of(task, train_split))
    theorems = train_split["theorem"]
    if LabelRetriever.saved_in(out_dir):
        retriever = LabelRetriever.load(out_dir)
    else:
        indexed = whole_split if config.retrieval_index == "all" and whole_split is not None \
            else train_split
        if indexed is train_split:
            index_examples, index_theorems = examples, theorems
        else:
            index_examples, index_theorems = list(examples_of(task, indexed)), indexed["theorem"]
        kept = [i for i, e in enumerate(index_examples) if e.action]
        if config.progress:
            print(f"retriever: indexing {len(kept):,} training goals", flush=True)
        retriever = LabelRetriever.fit([index_examples[i].goal for i in kept],
                                       [index_examples[i].action.split(" ", 1)[0] for i in kept],
                                       [index_theorems[i] for i in kept],
                                       steps=[index_examples[i].action for i in kept])
        out_dir.mkdir(parents=True, exist_ok=True)
        retriever.save(out_dir)
    stepped = [i for i, e in enumerate(examples) if e.action]
    found = retriever.hints([examples[i].goal for i in stepped], config.hints,
                            exclude=[theorems[i] for i in stepped])
    hints: list[list[str]] = [[] for _ in examples]
    for i, labels in zip(stepped, found):
        hints[i] = labels
    return retriever, train_split.add_column("hints", hints)


def tokenize_split(task: TaskSpec, tokenizer, dataset, max_length: int,
                   value_share: float = 1.0, hint_id: int | None = None):
    return dataset.map(
        lambda batch: encode_examples(task, tokenizer, batch, max_length, value_share,
                                      hint_id),
        batched=True,
        batch_size=1000,
        remove_columns=dataset.column_names,
        desc=f"tokenizing {task.name}",
        keep_in_memory=True,  # no cache file in the corpus folder: it stays the dataset
    )


class SampleStream:
    """An endless stream of dataset indices: one seeded permutation per epoch.

    ``take(position, count)`` is a pure function, which makes the data position a single
    integer that resumes exactly.

    With ``lengths`` and ``batch``, each epoch's permutation is length-bucketed: every
    window of ``BUCKET_BATCHES`` batches is sorted by sequence length, cut into batches,
    and the batches are shuffled again. A batch then holds sequences of similar length, so
    little of it is padding (Metamath prompts range from 5 to 700 tokens: random batches
    were 63% padding), while the order stays random and seeded.
    """

    BUCKET_BATCHES = 64

    def __init__(self, size: int, seed: int, lengths: Sequence[int] | None = None,
                 batch: int = 1) -> None:
        if size == 0:
            raise DataError("the training split is empty")
        self.size = size
        self.seed = seed
        self.lengths = lengths
        self.batch = max(1, batch)
        self._cache: dict[int, list[int]] = {}

    def _permutation(self, epoch: int) -> list[int]:
        import torch

        if epoch not in self._cache:
            self._cache = {epoch: self._cache.get(epoch, [])}  # keep one epoch in memory
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
            if self.lengths is not None and self.batch > 1:
                rng = random.Random(self.seed * 1_000_003 + epoch)
                window = self.batch * self.BUCKET_BATCHES
                bucketed: list[int] = []
                for start in range(0, len(order), window):
                    chunk = sorted(order[start:start + window], key=self.lengths.__getitem__)
                    batches = [chunk[i:i + self.batch] for i in range(0, len(chunk), self.batch)]
                    rng.shuffle(batches)
                    bucketed.extend(i for b in batches for i in b)
                order = bucketed
            self._cache[epoch] = order
        return self._cache[epoch]

    def take(self, position: int, count: int) -> list[int]:
        indices: list[int] = []
        while len(indices) < count:
            epoch, offset = divmod(position + len(indices), self.size)
            permutation = self._permutation(epoch)
            indices.extend(permutation[offset: offset + count - len(indices)])
        return indices


def collate(rows: Mapping[str, list], pad_id: int):
    """Right-pad a batch of sequences into tensors."""
    import torch

    width = max(len(ids) for ids in rows["input_ids"])
    input_ids, labels, mask = [], [], []
    for ids, labs in zip(rows["input_ids"], rows["labels"]):
        gap = width - len(ids)
        input_ids.append(ids + [pad_id] * gap)
        labels.append(labs + [IGNORE_INDEX] * gap)
        mask.append([1] * len(ids) + [0] * gap)
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def lr_lambda(config: TrainConfig):
    """Linear warmup, then cosine decay to ``min_lr_ratio`` at ``steps``."""

    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        span = max(1, config.steps - config.warmup_steps)
        progress = min(1.0, (step - config.warmup_steps) / span)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine

    return factor


# ----------------------------------------------------------------------- checkpoints


def _complete(checkpoint: Path) -> bool:
    """A checkpoint folder that resuming and inference can both read."""
    return ((checkpoint / "meta.json").is_file()
            and (checkpoint / "hf" / "provergym.json").is_file())


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The checkpoint that ``checkpoints/latest.json`` names. When that file is missing,
    unreadable, or names a checkpoint that is gone or incomplete, the newest complete
    ``step-NNNNNNNN`` folder instead, said on stderr; None when there is none."""
    root = Path(out_dir) / "checkpoints"
    pointer = root / "latest.json"
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["name"]
        problem = "" if _complete(root / name) else f"names {name}, which is gone or incomplete"
    except FileNotFoundError:
        problem = "is missing"
    except (OSError, ValueError, TypeError, KeyError) as error:  # not text, JSON or a name
        problem = f"is unreadable ({type(error).__name__}: {error})"
    if not problem:
        return root / name
    steps = sorted(root.glob("step-*")) if root.is_dir() else []
    complete = [path for path in steps if _complete(path)]
    if not complete:
        if pointer.exists():
            print(f"warning: {pointer} {problem}, and {root} holds no complete checkpoint",
                  file=sys.stderr)
        return None
    print(f"warning: {pointer} {problem}; using the newest complete checkpoint, "
          f"{complete[-1]}", file=sys.stderr)
    return complete[-1]


def resolve_model_dir(path: str | Path) -> Path:
    """An ``hf/`` folder, a checkpoint folder, or a run folder (its latest checkpoint:
    the copy of the finished model at a run folder's top is for other tools, and would be
    stale while a resumed run trains on)."""
    path = Path(path)
    if (path / "checkpoints").is_dir():
        checkpoint = latest_checkpoint(path)
        if checkpoint is not None and (checkpoint / "hf" / "provergym.json").is_file():
            return checkpoint / "hf"
    for candidate in (path, path / "hf"):
        if (candidate / "provergym.json").is_file():
            return candidate
    checkpoint = latest_checkpoint(path)
    if checkpoint is not None and (checkpoint / "hf" / "provergym.json").is_file():
        return checkpoint / "hf"
    raise FileNotFoundError(f"no trained model in {path} (expected a run folder with "
                            "checkpoints/latest.json, or a folder with provergym.json)")


def init_model_dir(task: TaskSpec, config: TrainConfig) -> Path:
    """The ``hf/`` folder that ``config.init_from`` names, checked against this run: the
    same task and size, and (for Metamath) a tokenizer that has the unproved label."""
    try:
        model_dir = resolve_model_dir(config.init_from)
    except FileNotFoundError as error:
        raise ConfigError(f"init_from: {error}") from None
    if Path(config.out_dir).resolve() in model_dir.resolve().parents:
        raise ConfigError(f"init_from {config.init_from} is this run's own folder: pass "
                          "--resume to continue it")
    meta = json.loads((model_dir / "provergym.json").read_text())
    if (meta.get("task"), meta.get("size")) != (task.name, config.size):
        raise ConfigError(f"init_from {config.init_from} is a {meta.get('task')}/"
                          f"{meta.get('size')} model, this run is {task.name}/{config.size}")
    label = task.unproved_label
    if label is not None and not has_token(load_tokenizer(model_dir), label):
        raise ConfigError(
            f"init_from {config.init_from}: its tokenizer predates the {label} value label "
            "(unprovable goals), and a fine-tune adds no vocabulary: train a new round-0 "
            "model from scratch with this version, and start the rounds from it")
    return model_dir


def value_labels_of(task: TaskSpec, tokenizer) -> list[str]:
    """The task's value labels that ``tokenizer`` has (an old one lacks the unproved one)."""
    return [label for label in task.value_labels if has_token(tokenizer, label)]


def save_checkpoint(accelerator, model, tokenizer, task: TaskSpec, config: TrainConfig,
                    step: int, samples: int, class_tokens: list[str]) -> Path:
    """Write a complete checkpoint atomically and point ``latest.json`` at it."""
    root = Path(config.out_dir) / "checkpoints"
    name = f"step-{step:08d}"
    temporary = root / f".tmp-{name}"
    if accelerator.is_main_process:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(temporary, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(temporary))
    if accelerator.is_main_process:
        save_json_atomic(temporary / "meta.json", {"step": step, "samples": samples})
        save_json_atomic(temporary / "train_config.json", dataclasses.asdict(config))
        hf = temporary / "hf"
        accelerator.unwrap_model(model).save_pretrained(str(hf))
        tokenizer.save_pretrained(str(hf))
        _drop_loading_state(hf / "tokenizer_config.json")
        save_json_atomic(hf / "provergym.json", {
            "task": task.name, "size": config.size, "step": step,
            "value_labels": value_labels_of(task, tokenizer), "class_tokens": class_tokens,
            "hints": config.hints, "init_from": config.init_from,
        })
        if config.hints:  # the model proposes with the hints it was trained with
            LabelRetriever.copy(config.out_dir, hf)
        final = root / name
        shutil.rmtree(final, ignore_errors=True)  # a re-run of the same step after a kill
        os.replace(temporary, final)
        save_json_atomic(root / "latest.json", {"name": name, "step": step})
        kept = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
        for old in kept[: -config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return root / name


# Keys transformers writes back into tokenizer_config.json from how the tokenizer was last
# loaded (a local folder, offline): they describe this machine, not the tokenizer.
_LOADING_STATE = ("local_files_only", "is_local", "_commit_hash")


def _drop_loading_state(path: Path) -> None:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if any(key in config for key in _LOADING_STATE):
        save_json_atomic(path, {k: v for k, v in config.items() if k not in _LOADING_STATE})


def load_init_weights(model, model_dir: Path) -> None:
    """Copy the weights of the trained model in ``model_dir`` into ``model`` (built for
    this run's size and tokenizer, so a resumed run builds the same one): every tensor
    must match, or it is a ConfigError."""
    import torch
    from transformers import LlamaForCausalLM

    trained = LlamaForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    try:
        model.load_state_dict(trained.state_dict(), strict=True)
    except RuntimeError as error:
        raise ConfigError(f"init_from {model_dir}: its weights do not fit this run's "
                          f"model: {error}") from None


# ----------------------------------------------------------------------------- loop


class JsonLog:
    """``log.jsonl``, one object a line; the numbers of the train and eval records also go
    to the accelerate trackers (``train/loss``, ``eval/valid_loss``, ...) at their step."""

    def __init__(self, path: Path, enabled: bool, accelerator: Any = None) -> None:
        self.path = path
        self.enabled = enabled
        self.accelerator = accelerator  # with trackers, else None

    def write(self, **record: Any) -> None:
        if not self.enabled:
            return
        record["time"] = round(time.time(), 3)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        event = record.get("event")
        if self.accelerator is not None and event in ("train", "eval"):
            values = {f"{event}/{key}": value for key, value in record.items()
                      if key not in ("event", "step", "time")
                      and isinstance(value, (int, float)) and not isinstance(value, bool)}
            self.accelerator.log(values, step=int(record["step"]))


def resolve_trackers(value: str) -> list[str]:
    """The accelerate trackers ``TrainConfig.trackers`` names (see the field)."""
    import importlib.util

    text = value.strip().lower()
    if text in ("", "none"):
        return []
    if text == "auto":
        return ["tensorboard"] if importlib.util.find_spec("tensorboard") else []
    names = [name.strip() for name in text.split(",") if name.strip()]
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS

    for name in names:
        tracker = LOGGER_TYPE_TO_CLASS.get(name)
        if tracker is None:
            raise ConfigError(f"trackers: unknown tracker {name!r}; accelerate knows "
                              f"{', '.join(sorted(LOGGER_TYPE_TO_CLASS))}")
        module = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow",
                  "comet_ml": "comet_ml", "aim": "aim", "clearml": "clearml",
                  "dvclive": "dvclive", "swanlab": "swanlab"}.get(name, name)
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"trackers: {name} is not installed (pip install {module}), "
                              "or pass --trackers none")
    return names


@dataclass(frozen=True)
class TrainResult:
    out_dir: str
    step: int
    last_loss: float
    tokens_per_second: float
    parameters: int


def evaluate_loss(accelerator, model, dataset, config: TrainConfig, pad_id: int) -> dict:
    """Token-weighted loss on the first ``eval_batches`` batches, overall and per kind."""
    import torch
    import torch.nn.functional as F

    model.eval()
    per_process = config.batch_size
    total = min(len(dataset), config.eval_batches * per_process * accelerator.num_processes)
    sums = torch.zeros(len(KINDS), device=accelerator.device)
    counts = torch.zeros(len(KINDS), device=accelerator.device)
    with torch.no_grad():
        for start in range(0, total, per_process * accelerator.num_processes):
            begin = start + accelerator.process_index * per_process
            indices = list(range(begin, min(begin + per_process, total)))
            if not indices:
                continue
            rows = dataset[indices]
            batch = {k: v.to(accelerator.device) for k, v in collate(rows, pad_id).items()}
            with accelerator.autocast():
                logits = model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"]).logits
            targets = batch["labels"][:, 1:]
            losses = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets,
                                     ignore_index=IGNORE_INDEX, reduction="none")
            valid = (targets != IGNORE_INDEX).float()
            kinds = torch.tensor(rows["kind"], device=accelerator.device)
            for kind in range(len(KINDS)):
                chosen = kinds == kind
                sums[kind] += (losses[chosen] * valid[chosen]).sum()
                counts[kind] += valid[chosen].sum()
    sums = accelerator.reduce(sums, "sum")
    counts = accelerator.reduce(counts, "sum")
    model.train()
    result = {"valid_loss": float(sums.sum() / counts.sum().clamp(min=1))}
    for kind, name in enumerate(KINDS):
        if counts[kind] > 0:
            result[f"valid_loss_{name.lower()}"] = float(sums[kind] / counts[kind])
    return result


class _TiedHead(logging.Filter):
    """accelerate warns at every checkpoint that it "Removed shared tensor {'lm_head.weight'}":
    our models tie the head to the embeddings on purpose and re-tie it on load (resume is
    tested bit for bit), so that one message is dropped; any other shared tensor is not."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Removed shared tensor {'lm_head.weight'}" not in record.getMessage()


def _quiet_tied_head_warning() -> None:
    log = logging.getLogger("accelerate.utils.other")
    if not any(isinstance(f, _TiedHead) for f in log.filters):
        log.addFilter(_TiedHead())


def train(config: TrainConfig, resume: bool = False) -> TrainResult:
    """Train (or resume) one run; returns where it stopped. With ``config.progress`` off,
    nothing is printed and the libraries' progress bars are off too."""
    from provergym.progress import libraries_quiet

    with libraries_quiet(not config.progress):
        return _train(config, resume)


def _train(config: TrainConfig, resume: bool = False) -> TrainResult:
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from provergym.progress import bar as progress_bar

    task = get_task(config.task)
    out_dir = Path(config.out_dir)
    checkpoint = latest_checkpoint(out_dir) if resume else None
    if resume and checkpoint is None:
        raise ConfigError(f"--resume: no checkpoint in {out_dir / 'checkpoints'}")
    if not resume and latest_checkpoint(out_dir) is not None:
        raise ConfigError(f"{out_dir} already holds a run: pass --resume, or choose --out")

    _quiet_tied_head_warning()
    trackers = resolve_trackers(config.trackers)
    accelerator = Accelerator(
        mixed_precision="bf16" if torch.cuda.is_available() else "no",
        gradient_accumulation_steps=config.grad_accum,
        log_with=trackers or None, project_dir=str(out_dir),
    )
    main = accelerator.is_main_process
    if config.cpu_threads and accelerator.device.type == "cpu":
        torch.set_num_threads(config.cpu_threads)
    set_seed(config.seed)
    # A fresh run from init_from reads the init model; a resumed one its own checkpoint.
    init_dir = init_model_dir(task, config) if config.init_from and checkpoint is None \
        else None
    corpus = load_task_corpus(task, config.data_dir)
    # max_train_records samples the corpus's records; the extra data joins whole, so that
    # no found proof or value target is sampled away.
    corpus_train = corpus["train"]
    if config.max_train_records and len(corpus_train) > config.max_train_records:
        corpus_train = corpus_train.shuffle(seed=config.seed).select(
            range(config.max_train_records))
    train_split = training_split(task, corpus_train, config.extra_data)
    whole_train = training_split(task, corpus["train"], config.extra_data) \
        if config.hints and config.retrieval_index == "all" else train_split

    # Tokenizer: trained once on the train split (or the init model's, copied), then
    # always reloaded (resume, eval).
    tokenizer_dir = out_dir / "tokenizer"
    with accelerator.main_process_first():
        if main and init_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            save_tokenizer(load_tokenizer(init_dir), tokenizer_dir)
        elif main and not (tokenizer_dir / "tokenizer.json").is_file():
            out_dir.mkdir(parents=True, exist_ok=True)
            classes = (sorted({class_name(c) for c in train_split["tactic_class"]})
                       if task.has_class else [])
            tokenizer = train_tokenizer(
                task, tokenizer_texts(task, train_split),
                class_tokens=[class_token(c) for c in classes],
                vocab_size=config.bpe_vocab_size, min_frequency=config.word_min_frequency)
            save_tokenizer(tokenizer, tokenizer_dir)
        tokenizer = load_tokenizer(tokenizer_dir)
        class_tokens = [t for t in tokenizer.all_special_tokens if t.startswith("<class:")]
        label = task.unproved_label
        if label is not None and not has_token(tokenizer, label) \
                and count_unproved(task, train_split):
            raise ConfigError(f"{out_dir}: this run's tokenizer predates the {label} value "
                              "label, and its data holds unproved goals: train a new model")
        retriever, hint_id = None, None
        if config.hints:
            retriever, train_split = _with_hints(task, config, train_split, out_dir,
                                                 whole_train)
            hint_id = token_id(tokenizer, HINT)
        train_data = tokenize_split(task, tokenizer, train_split, config.max_length,
                                    config.value_share, hint_id)
        valid_data = None
        if "valid" in corpus:
            # Evaluation reads eval_batches batches only: tokenize a fixed sample, not all.
            wanted = config.eval_batches * config.batch_size * accelerator.num_processes
            valid_split = corpus["valid"]
            if len(valid_split) > wanted:
                valid_split = valid_split.shuffle(seed=config.seed).select(range(wanted))
            if retriever is not None:
                goals = [e.goal for e in examples_of(task, valid_split)]
                valid_split = valid_split.add_column(
                    "hints", retriever.hints(goals, config.hints))
            valid_data = tokenize_split(task, tokenizer, valid_split, config.max_length,
                                        1.0, hint_id)
    if main:
        save_json_atomic(out_dir / "train_config.json", dataclasses.asdict(config))

    model = build_model(config.size, len(tokenizer), tokenizer.pad_token_id,
                        tokenizer.eos_token_id)
    if init_dir is not None:
        load_init_weights(model, init_dir)
    parameters = count_parameters(model)
    # No weight decay on norms and biases (1-d tensors), as usual for transformers.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=(0.9, 0.95), fused=torch.cuda.is_available())
    # The scheduler is stepped by hand once per optimizer step (not prepared: accelerate
    # would step it once per process), and registered so that it is checkpointed.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config))
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    step, samples = 0, 0
    if trackers:
        hparams = {key: value if isinstance(value, (int, float, str, bool)) else str(value)
                   for key, value in dataclasses.asdict(config).items()}
        accelerator.init_trackers("tensorboard" if trackers == ["tensorboard"] else
                                  Path(out_dir).name, config=hparams)
    log = JsonLog(out_dir / "log.jsonl", main, accelerator if trackers else None)
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        meta = json.loads((checkpoint / "meta.json").read_text())
        step, samples = int(meta["step"]), int(meta["samples"])
        log.write(event="resume", step=step, checkpoint=checkpoint.name)
    else:
        log.write(event="start", parameters=parameters, train_sequences=len(train_data),
                  vocab=len(tokenizer), config=dataclasses.asdict(config))

    global_batch = config.batch_size * accelerator.num_processes
    lengths = ([len(ids) for ids in train_data["input_ids"]] if config.length_buckets
               else None)
    stream = SampleStream(len(train_data), config.seed, lengths, global_batch)
    bar = progress_bar(total=config.steps, initial=step, desc=f"train {task.name}/{config.size}",
                       enabled=main and config.progress)
    model.train()
    window_loss, window_tokens, window_start = [], 0, time.perf_counter()
    total_tokens, total_time, last_loss = 0, 0.0, float("nan")
    while step < config.steps:
        for _ in range(config.grad_accum):
            indices = stream.take(samples, global_batch)
            samples += global_batch
            mine = indices[accelerator.process_index * config.batch_size:][: config.batch_size]
            rows = train_data[mine]
            batch = {k: v.to(accelerator.device) for k, v in
                     collate(rows, tokenizer.pad_token_id).items()}
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            window_loss.append(loss.detach())
            window_tokens += int(batch["attention_mask"].sum())
        used_lr = scheduler.get_last_lr()[0]  # the rate this step was taken with
        scheduler.step()
        step += 1
        bar.update(1)

        if step % config.log_every == 0 or step == config.steps:
            losses = accelerator.gather(torch.stack(window_loss)).float()
            last_loss = float(losses.mean())
            tokens = int(accelerator.reduce(
                torch.tensor(window_tokens, device=accelerator.device), "sum"))
            elapsed = time.perf_counter() - window_start
            total_tokens += tokens
            total_time += elapsed
            log.write(event="train", step=step, loss=round(last_loss, 5),
                      lr=used_lr, samples=samples,
                      tokens_per_second=round(tokens / max(elapsed, 1e-9), 1))
            bar.set_postfix(loss=f"{last_loss:.3f}")
            window_loss, window_tokens, window_start = [], 0, time.perf_counter()
        if valid_data is not None and len(valid_data) and (
                step % config.eval_every == 0 or step == config.steps):
            log.write(event="eval", step=step,
                      **evaluate_loss(accelerator, model, valid_data, config,
                                      tokenizer.pad_token_id))
            window_start = time.perf_counter()  # evaluation is not training time
        if step % config.save_every == 0 or step == config.steps:
            path = save_checkpoint(accelerator, model, tokenizer, task, config, step, samples,
                                   class_tokens)
            log.write(event="checkpoint", step=step, path=path.name)
            window_start = time.perf_counter()
    bar.close()
    if trackers:
        accelerator.end_training()
    if main and step == config.steps:  # finished: the run folder is the model (and its card)
        from agents.model_card import publish

        checkpoint = latest_checkpoint(out_dir)
        if checkpoint is not None:
            publish(out_dir, checkpoint / "hf", parameters)
    accelerator.wait_for_everyone()
    return TrainResult(
        out_dir=str(out_dir), step=step, last_loss=last_loss,
        tokens_per_second=total_tokens / total_time if total_time else 0.0,
        parameters=parameters)


def read_log(out_dir: str | Path, event: str = "train") -> list[dict]:
    """The run's log records of one kind, in order (the learning curve for "train")."""
    path = Path(out_dir) / "log.jsonl"
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("event") == event]

