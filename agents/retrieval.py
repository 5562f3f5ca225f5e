"""Retrieved hints for the policy (retrieval-augmented, as LeanDojo's ReProver retrieves
premises): the labels that the training steps nearest to a goal used.

A :class:`LabelRetriever` indexes the training split's goals (TF-IDF over symbols and
symbol pairs, as the k-NN baseline) with the label each step applied. For a goal it
returns up to ``k`` distinct labels, ranked by the summed cosine similarity of the
``neighbours`` nearest training goals that used them. The model then reads them in its
prompt (``GOAL goal HINT l1 ... lk PROOFSTEP``) and learns which one fits, rather than
having to memorise every goal it saw.

Training prompts get their hints with the step's own theorem left out (no step may see a
sibling step of the same proof), which is what a held-out theorem meets at test time.
The retriever is saved next to the model, so a checkpoint proposes with the same hints it
was trained with: ``retriever.json`` (the vectorizer's vocabulary and settings, the indexed
labels, theorems and steps) and ``retriever.npz`` (the TF-IDF matrix and the idf weights,
as plain arrays). No pickle: the files load with any version of the libraries, and on the
Hub. A legacy ``retriever.pkl`` (models trained before 2026-12-08) is still read.

Scale. An index of more than :data:`LARGE_INDEX` goals (all of set.mm's training split is
940,580) drops the features found in more than :data:`LARGE_MAX_DF` of the goals (symbols
such as ``(`` and ``->``, in nearly every goal) and keeps similarities sparse: a query then
meets only the goals that share a rarer feature with it. On set.mm's 940,580 training
goals this took batched queries from ~120 to ~5 ms each, for top-1 / top-8 label accuracy
0.200 / 0.450 against 0.223 / 0.483 with every feature (300 test steps, 2026-11-22).
"""

from __future__ import annotations

import json
import os
import pickle
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from agents.baselines import tfidf_vectorizer

JSON_NAME = "retriever.json"
ARRAYS_NAME = "retriever.npz"
FILES = (JSON_NAME, ARRAYS_NAME)
LEGACY_NAME = "retriever.pkl"  # read only: models saved before the two files above
FORMAT = 1
LARGE_INDEX = 200_000  # goals; beyond this, common features are dropped (see above)
LARGE_MAX_DF = 0.05


class LabelRetriever:
    """TF-IDF k-NN over training goals -> ranked distinct labels."""

    def __init__(self, vectorizer, matrix, labels: list[str], groups: list[str],
                 neighbours: int, steps: list[str] | None = None) -> None:
        self.vectorizer, self.matrix = vectorizer, matrix
        self.labels, self.groups, self.neighbours = labels, groups, neighbours
        self.steps = steps  # the whole step of each indexed goal (label and substitution)

    @classmethod
    def fit(cls, goals: Sequence[str], labels: Sequence[str], groups: Sequence[str],
            neighbours: int = 32, steps: Sequence[str] | None = None) -> LabelRetriever:
        """``groups[i]`` is the theorem of step ``i`` (left out of its own hints);
        ``steps[i]``, if given, its whole action (label and substitution)."""
        if not goals:
            raise ValueError("the retriever needs at least one training goal")
        if steps is not None and len(steps) != len(goals):
            raise ValueError(f"{len(steps)} steps for {len(goals)} goals")
        vectorizer = tfidf_vectorizer()
        if len(goals) > LARGE_INDEX:
            vectorizer.set_params(max_df=LARGE_MAX_DF)
        matrix = vectorizer.fit_transform(list(goals))
        return cls(vectorizer, matrix, list(labels), list(groups), neighbours,
                   None if steps is None else list(steps))

    def hints(self, goals: Sequence[str], k: int,
              exclude: Sequence[str | None] | None = None, chunk: int = 2048) -> list[list[str]]:
        """Up to ``k`` labels per goal; ``exclude[i]`` is a group whose steps goal ``i``
        may not see (its own theorem, for training prompts)."""
        return [[label for label, _ in ranked[:k]]
                for ranked in self.weights(goals, exclude, chunk)]

    def distribution(self, goal: str) -> dict[str, float]:
        """The k-NN distribution over labels for one goal (weights summing to 1; labels
        no neighbour used are absent): the retrieval half of a kNN-LM mixture."""
        ranked = self.weights([goal])[0]
        total = sum(w for _, w in ranked) or 1.0
        return {label: w / total for label, w in ranked}

    def weights(self, goals: Sequence[str], exclude: Sequence[str | None] | None = None,
                chunk: int = 2048) -> list[list[tuple[str, float]]]:
        """Per goal, (label, summed similarity of its neighbours), best first. A single
        goal's answer is remembered for a while (a search asks for its hints and then its
        distribution)."""
        if exclude is None and len(goals) == 1:
            recent = self.__dict__.setdefault("_recent", {})
            found = recent.get(goals[0])
            if found is None:
                found = self._weights(goals, None, chunk)[0]
                if len(recent) >= 256:
                    recent.pop(next(iter(recent)))
                recent[goals[0]] = found
            return [found]
        return self._weights(goals, exclude, chunk)

    def _weights(self, goals: Sequence[str], exclude: Sequence[str | None] | None,
                 chunk: int) -> list[list[tuple[str, float]]]:
        out: list[list[tuple[str, float]]] = []
        for nearest in self.nearest(goals, self.neighbours, exclude, chunk):
            weights: dict[str, float] = defaultdict(float)
            for index, similarity in nearest:
                weights[self.labels[index]] += similarity + 1e-6
            out.append(sorted(weights.items(), key=lambda pair: -pair[1]))
        return out

    def nearest(self, goals: Sequence[str], neighbours: int,
                exclude: Sequence[str | None] | None = None,
                chunk: int = 2048) -> list[list[tuple[int, float]]]:
        """Per goal, the (index, cosine similarity) of its ``neighbours`` nearest indexed
        goals, nearest first, leaving out the group ``exclude[i]``."""
        import numpy as np

        large = self.matrix.shape[0] > LARGE_INDEX
        if large:
            chunk = min(chunk, 64)  # sparse rows of up to ~150k entries each
            transposed = self._transposed()
        out: list[list[tuple[int, float]]] = []
        for start in range(0, len(goals), chunk):
            part = list(goals[start:start + chunk])
            queries = self.vectorizer.transform(part)
            if large:  # (similarity, index) of the goals that share a feature only
                product = (queries @ transposed).tocsr()
                rows = [(product.data[a:b], product.indices[a:b])
                        for a, b in zip(product.indptr[:-1], product.indptr[1:])]
            else:
                dense = (queries @ self.matrix.T).toarray()
                rows = [(row, None) for row in dense]
            for row_index, (row, where) in enumerate(rows):
                banned = exclude[start + row_index] if exclude is not None else None
                count = min(len(row), neighbours + (64 if banned is not None else 0))
                found: list[tuple[int, float]] = []
                if count:
                    nearest = np.argpartition(-row, count - 1)[:count]
                    nearest = nearest[np.argsort(-row[nearest])]
                    for position in nearest:
                        index = int(position if where is None else where[position])
                        if banned is not None and self.groups[index] == banned:
                            continue
                        found.append((index, float(row[position])))
                        if len(found) == neighbours:
                            break
                out.append(found)
        return out

    def _transposed(self):
        """The index as features x goals (CSR), built once: sparse products against it."""
        transposed = getattr(self, "_transposed_matrix", None)
        if transposed is None:
            transposed = self._transposed_matrix = self.matrix.T.tocsr()
        return transposed

    def __getstate__(self) -> dict:  # Ray and the local pool ship retrievers to workers
        state = dict(self.__dict__)
        state.pop("_transposed_matrix", None)  # a cache: rebuilt on demand
        state.pop("_recent", None)  # likewise (see weights)
        return state

    def save(self, directory: str | Path) -> None:
        """Write ``retriever.json`` and ``retriever.npz`` into ``directory`` (each
        atomically; the JSON last, so a reader never meets arrays without it)."""
        import numpy as np

        directory = Path(directory)
        matrix = self.matrix.tocsr()
        vectorizer = self.vectorizer
        arrays = directory / ARRAYS_NAME
        temporary = directory / (ARRAYS_NAME + ".tmp.npz")
        np.savez_compressed(temporary, data=matrix.data, indices=matrix.indices,
                            indptr=matrix.indptr, shape=np.asarray(matrix.shape),
                            idf=np.asarray(vectorizer.idf_))
        os.replace(temporary, arrays)
        meta = {
            "format": FORMAT,
            "vectorizer": {"max_df": vectorizer.get_params()["max_df"],
                           "vocabulary": {term: int(index) for term, index
                                          in vectorizer.vocabulary_.items()}},
            "neighbours": self.neighbours, "labels": self.labels, "groups": self.groups,
            "steps": self.steps,
        }
        temporary_json = directory / (JSON_NAME + ".tmp")
        temporary_json.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary_json, directory / JSON_NAME)

    @staticmethod
    def saved_in(directory: str | Path) -> bool:
        directory = Path(directory)
        return (directory / JSON_NAME).is_file() or (directory / LEGACY_NAME).is_file()

    @staticmethod
    def copy(source: str | Path, target: str | Path) -> None:
        """Copy a saved retriever (either format) from one folder to another."""
        import shutil

        source, target = Path(source), Path(target)
        names = FILES if (source / JSON_NAME).is_file() else (LEGACY_NAME,)
        for name in names:
            shutil.copyfile(source / name, target / name)

    @staticmethod
    def load(directory: str | Path) -> LabelRetriever:
        directory = Path(directory)
        if (directory / JSON_NAME).is_file():
            return LabelRetriever._load_files(directory)
        legacy = directory / LEGACY_NAME
        if legacy.is_file():
            with open(legacy, "rb") as handle:
                return pickle.load(handle)  # our own legacy file, written by an older save()
        raise FileNotFoundError(f"{directory / JSON_NAME}: this model was trained with "
                                "hints, but its retriever is missing")

    @staticmethod
    def _load_files(directory: Path) -> LabelRetriever:
        import numpy as np
        from scipy.sparse import csr_matrix

        path = directory / JSON_NAME
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            with np.load(directory / ARRAYS_NAME, allow_pickle=False) as arrays:
                matrix = csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                    shape=tuple(int(n) for n in arrays["shape"]))
                idf = arrays["idf"]
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"{path}: not a readable retriever ({error})") from error
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: retriever format {meta.get('format')!r}, this "
                             f"version reads {FORMAT}")
        vectorizer = tfidf_vectorizer()
        vectorizer.set_params(max_df=meta["vectorizer"]["max_df"],
                              vocabulary=meta["vectorizer"]["vocabulary"])
        vectorizer.idf_ = idf
        return LabelRetriever(vectorizer, matrix, meta["labels"], meta["groups"],
                              meta["neighbours"], meta["steps"])
