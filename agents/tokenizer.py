"""Tokenizers trained by our own code and wrapped in ``PreTrainedTokenizerFast``.

- Metamath: word-level. Every whitespace-separated symbol or label is one token, and the
  substitution markup ``{{``, ``}}`` and ``:`` are words too (the corpus writes them with
  blanks around, e.g. ``ax-mp {{ ph : ( ps -> ch ) }}``). Decoding joins tokens with one
  blank, which gives back the normalised action text.
- Coq and rewrite: byte-level BPE, so any text round-trips exactly.

Special tokens are explicit: pad, eos, unk, the prompt keywords, the value labels (for
Metamath, the buckets and ``<steps:none>``; a tokenizer trained before that label existed
lacks it) and (for Coq) one token per tactic class. Prompts are assembled from ids (``encode_text`` per piece
plus special ids), never by pasting keyword strings into text, so goal text can never
produce a prompt keyword by accident.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from agents.tasks import PROMPT_KEYWORDS, TaskSpec

PAD = "<pad>"
EOS = "<eos>"
UNK = "<unk>"
MM_MARKUP = ("{{", "}}", ":")


def special_tokens(task: TaskSpec, class_tokens: Sequence[str] = ()) -> list[str]:
    """All special tokens of a task, in id order (pad is 0, eos 1, unk 2)."""
    return [PAD, EOS, UNK, *PROMPT_KEYWORDS, *task.value_labels, *class_tokens]


def train_tokenizer(
    task: TaskSpec,
    texts: Iterable[str],
    *,
    class_tokens: Sequence[str] = (),
    vocab_size: int = 4096,
    min_frequency: int = 1,
):
    """Train the task's tokenizer on ``texts`` and wrap it for ``transformers``.

    ``vocab_size`` applies to BPE only: a word-level vocabulary holds every word seen at
    least ``min_frequency`` times (Metamath's symbols and labels are its natural units).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = special_tokens(task, class_tokens)
    if task.tokenizer_kind == "word":
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        trainer = trainers.WordLevelTrainer(special_tokens=specials, min_frequency=min_frequency)
        # The markup must be in the vocabulary even if a small corpus never used it.
        texts = _chain([" ".join(MM_MARKUP)] * max(1, min_frequency), texts)
    else:
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        eos_token=EOS,
        unk_token=UNK,
        additional_special_tokens=specials[3:],
    )


def _chain(first: Iterable[str], rest: Iterable[str]) -> Iterable[str]:
    yield from first
    yield from rest


def save_tokenizer(tokenizer, directory: str | Path) -> None:
    """Save into a temporary folder, then rename: a kill never leaves half a tokenizer."""
    final = Path(directory)
    temporary = final.with_name(f".tmp-{final.name}")
    shutil.rmtree(temporary, ignore_errors=True)
    tokenizer.save_pretrained(str(temporary))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)


def load_tokenizer(directory: str | Path):
    from transformers import PreTrainedTokenizerFast

    path = Path(directory)
    if not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(f"no tokenizer.json in {path}")
    return PreTrainedTokenizerFast.from_pretrained(str(path))


def encode_text(tokenizer, text: str) -> list[int]:
    """Ids of plain text, with no special tokens added."""
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def has_token(tokenizer, token: str) -> bool:
    """Whether the vocabulary holds ``token`` (a model trained before a special token was
    added lacks it)."""
    return token in tokenizer.get_vocab()


def token_id(tokenizer, token: str) -> int:
    """The id of a special token; an error if the tokenizer lacks it."""
    index = tokenizer.convert_tokens_to_ids(token)
    if index is None or index == tokenizer.unk_token_id and token != UNK:
        raise KeyError(f"token {token!r} is not in the vocabulary")
    return int(index)
