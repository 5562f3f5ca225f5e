"""Baselines with the policy's interface: ``propose(goal, n) -> [(action, logprob)]``.

- ``MostFrequent``: the n most frequent training actions, whatever the goal.
- ``NearestNeighbours``: TF-IDF over whitespace tokens (and bigrams) of the goal text; the
  actions of the k most similar training goals, weighted by cosine similarity.
- ``LinearClassifier``: a linear SVM on the same features, for Coq's GamePad tasks (tactic
  class, position bucket); ``majority_label`` is the trivial reference.

Goals are prompt text as ``agents.tasks`` formats it (the same text the model sees).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def tfidf_vectorizer():
    """TF-IDF features of goal text, shared by k-NN, the SVM and the label retriever."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Tokens are whitespace-separated symbols (Metamath) or words (Coq); keep case and
    # punctuation, which carry meaning in both.
    return TfidfVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2),
                           sublinear_tf=True, min_df=1, max_features=1 << 18)


class MostFrequent:
    """The most frequent actions of the training set, with their empirical log-frequency."""

    def __init__(self, counts: Counter) -> None:
        self.total = sum(counts.values())
        self.ranked = counts.most_common()

    @classmethod
    def fit(cls, actions: Iterable[str]) -> MostFrequent:
        return cls(Counter(actions))

    def propose(self, goal: str, n: int) -> list[tuple[str, float]]:
        return [(a, math.log(c / self.total)) for a, c in self.ranked[:n]]

    def propose_batch(self, goals: Sequence[str], n: int) -> list[list[tuple[str, float]]]:
        return [self.propose(goal, n) for goal in goals]


class NearestNeighbours:
    """k-NN over TF-IDF goal vectors; an action's score is its neighbours' similarity."""

    def __init__(self, vectorizer, matrix, actions: list[str], k: int) -> None:
        self.vectorizer = vectorizer
        self.matrix = matrix
        self.actions = actions
        self.k = k

    @classmethod
    def fit(cls, goals: Sequence[str], actions: Sequence[str], k: int = 16) -> NearestNeighbours:
        if not goals:
            raise ValueError("k-NN needs at least one training goal")
        vectorizer = tfidf_vectorizer()
        matrix = vectorizer.fit_transform(goals)
        return cls(vectorizer, matrix, list(actions), k)

    def propose_batch(self, goals: Sequence[str], n: int,
                      excluded: Any = None) -> list[list[tuple[str, float]]]:
        """Per goal, the ``n`` best actions of its ``k`` nearest indexed goals. ``excluded``
        (a boolean array over the index) marks goals no answer may use."""
        import numpy as np

        if not goals:
            return []
        # Rows are L2-normalised by TF-IDF, so the dot product is the cosine similarity.
        similarities = (self.vectorizer.transform(goals) @ self.matrix.T).toarray()
        if excluded is not None and excluded.any():
            similarities[:, excluded] = -np.inf
        results = []
        for row in similarities:
            count = min(self.k, int(np.isfinite(row).sum()))
            if count == 0:
                results.append([])
                continue
            nearest = np.argpartition(-row, count - 1)[:count]
            weights: dict[str, float] = defaultdict(float)
            for index in nearest:
                weights[self.actions[index]] += float(row[index]) + 1e-6
            total = sum(weights.values())
            ranked = sorted(weights.items(), key=lambda pair: -pair[1])[:n]
            results.append([(action, math.log(w / total)) for action, w in ranked])
        return results

    def propose(self, goal: str, n: int, excluded: Any = None) -> list[tuple[str, float]]:
        return self.propose_batch([goal], n, excluded)[0]


def majority_label(labels: Iterable[str]) -> str:
    counts = Counter(labels)
    if not counts:
        raise ValueError("no labels")
    return counts.most_common(1)[0][0]


@dataclass(frozen=True)
class LinearClassifier:
    """TF-IDF features and a linear SVM (scikit-learn's ``LinearSVC``)."""

    vectorizer: object
    model: object

    @classmethod
    def fit(cls, goals: Sequence[str], labels: Sequence[str], c: float = 1.0) -> LinearClassifier:
        from sklearn.svm import LinearSVC

        vectorizer = tfidf_vectorizer()
        features = vectorizer.fit_transform(goals)
        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two distinct labels")
        model = LinearSVC(C=c).fit(features, list(labels))
        return cls(vectorizer, model)

    def predict(self, goals: Sequence[str]) -> list[str]:
        return [str(p) for p in self.model.predict(self.vectorizer.transform(goals))]
