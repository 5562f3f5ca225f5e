"""Is the value's failure the model's or the data's? A TF-IDF (word 1-2-gram) logistic
regression trained on one round's value records (provable: a proof step; not: a goal
expanded and not proved), scored on the held-out goals the rounds' AUC is measured on
(round 0's valid search trees). Prints its AUC held out and on its own training records.

    python3 benchmarks/iterate_value_baseline.py /work/runs/iter-b --round 1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agents.evaluate import roc_auc
from provergym.bench.iterate import _goal_text, held_out_goals
from provergym.bench.runner import read_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", help="a `provergym iterate` output folder")
    parser.add_argument("--round", type=int, default=1, help="whose value records")
    args = parser.parse_args()

    from datasets import load_from_disk
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    root = Path(args.rounds)
    db = json.loads((root / "config.json").read_text())["db"]
    data = load_from_disk(str(root / f"round-{args.round}" / "data"))["train"]
    texts = [_goal_text(r["goal"], r["hypotheses"]) for r in data]
    labels = [int(r["steps_left"] >= 0) for r in data]
    goals, held = held_out_goals(db, read_results(root / "round-0" / "eval"))
    vectorizer = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), min_df=2)
    train = vectorizer.fit_transform(texts)
    model = LogisticRegression(max_iter=2000).fit(train, labels)
    own = roc_auc(list(model.predict_proba(train)[:, 1]), labels)
    out = roc_auc(list(model.predict_proba(vectorizer.transform(goals))[:, 1]), held)
    print(f"round {args.round}: {len(labels):,} value records ({sum(labels):,} provable); "
          f"held-out goals {len(held):,} ({sum(held):,} provable)")
    print(f"TF-IDF logistic regression AUC: held out {out:.3f}, on its training records "
          f"{own:.3f}")


if __name__ == "__main__":
    main()
