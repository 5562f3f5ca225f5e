"""Build the proof-step corpus of a Metamath database and open it with Hugging Face datasets.

``corpora.metamath.build_corpus`` walks every ``$p`` proof of hol.mm and writes one record
per logical step (goal, its syntax tree, the label applied, the action text the
environment accepts, steps left...), split by theorem into train/valid/test. The folder is
a plain ``DatasetDict``: ``datasets.load_from_disk`` opens it, and so does
``datasets.load_dataset`` (which names the valid split ``validation``).

Takes about 5 seconds on hol.mm (138 theorems, ~2,150 records). Writes under ``--out``
(default: a temporary folder, deleted at exit); nothing else is kept.

    python examples/02_corpus.py
    python examples/02_corpus.py --out /tmp/pg/corpus   # keep it for 03_train.py
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

HOL_MM = "/usr/share/metamath/databases/hol.mm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=HOL_MM, help=f"Metamath database (default {HOL_MM})")
    parser.add_argument("--out", help="the corpus folder (default: a temporary one)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--limit", type=int, default=None, help="only the first N $p")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="provergym-example-") as scratch:
        # Nothing goes to ~/.cache: provergym's home (where the build keeps its shards) and
        # the datasets cache are temporary.
        os.environ["PROVERGYM_HOME"] = str(Path(scratch) / "home")
        import datasets

        from corpora.metamath import build_corpus

        datasets.disable_progress_bars()
        started = time.perf_counter()
        # chunk_size: theorems per shard (a shard is the unit of resuming and of the workers)
        out = Path(args.out) if args.out else Path(scratch) / "corpus"
        corpus_dir = build_corpus(args.db, out, limit=args.limit, jobs=args.jobs,
                                  chunk_size=50, progress=False)
        print(f"built {corpus_dir} in {time.perf_counter() - started:.1f} s")
        info = json.loads((corpus_dir / "build_info.json").read_text())
        print(f"theorems per split: {info['keys']}; steps: {info['counts']['steps']:,}")

        corpus = datasets.load_from_disk(str(corpus_dir))
        print("load_from_disk: " + ", ".join(f"{split} {len(corpus[split]):,}"
                                             for split in corpus))
        again = datasets.load_dataset(str(corpus_dir), cache_dir=str(Path(scratch) / "hf-cache"))
        print("load_dataset:   " + ", ".join(f"{split} {len(again[split]):,}" for split in again))
        print(f"columns: {', '.join(corpus['train'].column_names)}")

        record = next(r for r in corpus["train"] if r["substitution"])  # one with a substitution
        print("one training record:")
        for column, value in record.items():
            print(f"  {column:12} {value!r}")
        if args.out:
            print(f"kept in {corpus_dir}")


if __name__ == "__main__":
    main()
