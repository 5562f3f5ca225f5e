"""The method registry: a method name plus one frozen :class:`MethodConfig` gives a policy.

Every place that searches (``provergym bench``, ``prove``, ``demo``, and later expert
iteration and distributed workers) builds its policy here, so that a worker process on any
machine rebuilds the very same policy from two picklable values:

    factory = PolicyFactory("frequency", MethodConfig(db=..., train_theorems=...))
    policy = factory()  # built once per process, then cached by (name, config)

A :class:`Method` says what a name means: its backend, whether it needs a trained model,
the Coq sentences that must run before the lemma (CoqHammer's import for ``sauto``), and
how to build its policy. A method without a builder is an external prover that the bench
runs itself (metamath-exe's ``improve``; CoqHammer's ``sauto``/``best``/``hauto`` alone).
To add a method, write its policy (in the backend for one that needs no model, in
``agents`` for one that does) and :func:`register` a :class:`Method` below.

Heavy imports (torch, the Coq corpus) happen inside the builders, so importing this module
is cheap.
"""

from __future__ import annotations

import functools
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.defaults import COQ_RETRIEVAL_WEIGHT, FREQUENCY_WEIGHT
from provergym.coq.hammer import HAMMER_IMPORT
from provergym.errors import UserError
from provergym.metamath.actions import DEFAULT_CANDIDATES, CandidateConfig
from provergym.paths import SET_MM
from provergym.search.policies import Policy, WithFallback

_WITHOUT_RETRIEVAL = " (or pass --retrieval-weight 0: the model without retrieval)"


class BenchError(UserError):
    """Bad input to a method or a benchmark (no manifest, unknown theorem, no model...)."""


@dataclass(frozen=True)
class MethodConfig:
    """Everything a method's policy depends on, and nothing else: it is the cache key, and
    what a worker process receives."""

    backend: str = "metamath"
    db: str = SET_MM  # Metamath: the database
    model: str | None = None  # a trained run folder, for the model methods
    # Model: kNN-LM weight of retrieval (Metamath: the model's retriever; Coq: the tactics of
    # the nearest training states); None: the policy's default
    retrieval_weight: float | None = None
    # Metamath model: weight of the frequency policy's label distribution (0: off)
    frequency_weight: float = FREQUENCY_WEIGHT
    candidates: CandidateConfig = DEFAULT_CANDIDATES  # Metamath's candidate generator
    # Metamath: the theorems whose proofs give the label counts and the look-ahead's table
    train_theorems: tuple[str, ...] = field(default=(), repr=False)
    # Metamath: only labels before the statement with this index are candidates (None: all)
    labels_before: int | None = None
    data: str = ""  # Coq knn methods: the corpus ("" is $PROVERGYM_HOME/corpora/coq)
    # Coq knn methods: more datasets whose train splits join the corpus's (expert
    # iteration's rounds of found proofs)
    extra_data: tuple[str, ...] = ()
    threads: int = 1  # torch threads of a model policy
    # Metamath model: the name of a running policy server (a Ray actor, agents.policy_server)
    # that answers the model's calls; "": the model in this process
    policy_server: str = ""

    def __post_init__(self) -> None:
        if self.backend not in ("metamath", "coq"):
            raise BenchError(f"unknown backend {self.backend!r}: use metamath or coq")
        if not 0.0 <= self.frequency_weight <= 1.0:
            raise BenchError(f"frequency_weight must be between 0 and 1, "
                             f"not {self.frequency_weight}")
        if self.retrieval_weight is not None and not 0.0 <= self.retrieval_weight <= 1.0:
            raise BenchError(f"retrieval_weight must be between 0 and 1, "
                             f"not {self.retrieval_weight}")


@dataclass(frozen=True)
class Method:
    name: str
    backend: str
    summary: str
    build: Callable[[MethodConfig], Policy] | None = None  # None: an external prover
    needs_model: bool = False
    preamble: tuple[str, ...] = ()  # Coq: sentences run just before the lemma

    @property
    def searches(self) -> bool:
        """Whether it is a policy for the best-first search (not an external prover)."""
        return self.build is not None


METHODS: dict[tuple[str, str], Method] = {}


def register(method: Method) -> Method:
    key = (method.backend, method.name)
    if key in METHODS:
        raise ValueError(f"method {method.backend}/{method.name} is registered twice")
    METHODS[key] = method
    return method


def method_names(backend: str) -> tuple[str, ...]:
    return tuple(name for b, name in METHODS if b == backend)


def get_method(backend: str, name: str) -> Method:
    method = METHODS.get((backend, name))
    if method is None:
        raise BenchError(f"unknown {backend} method {name!r}; choose from "
                         f"{', '.join(method_names(backend))}")
    return method


# -- building, once per process ------------------------------------------------------------------
_POLICIES: dict[tuple[str, str, MethodConfig], Policy] = {}


def build_policy(backend: str, name: str, config: MethodConfig) -> Policy:
    """The policy of method ``name`` under ``config``, built once per process."""
    key = (backend, name, config)
    policy = _POLICIES.get(key)
    if policy is None:
        method = get_method(backend, name)
        if method.build is None:
            raise BenchError(f"{backend} method {name!r} is an external prover, not a policy")
        if method.needs_model and not config.model:
            raise BenchError(f"the {name} method needs --model DIR (a trained run folder)")
        if config.backend != backend:
            raise BenchError(f"a {config.backend} config cannot build the {backend} method "
                             f"{name!r}")
        policy = _POLICIES[key] = method.build(config)
        # The database, its index and the policy's tables are millions of long-lived
        # objects: leave them out of the cyclic collector's scans (a full scan of set.mm's
        # objects took ~10% of a search's time), as after parsing in metamath_env.
        gc.freeze()
    return policy


def release_models() -> None:
    """Forget the policies that hold a model (their memory is not kept once a run is over)."""
    for key in [k for k in _POLICIES if get_method(k[0], k[1]).needs_model]:
        del _POLICIES[key]


@dataclass(frozen=True)
class PolicyFactory:
    """A picklable recipe for a policy: call it in any process to get the policy."""

    backend: str
    name: str
    config: MethodConfig

    @property
    def method(self) -> Method:
        return get_method(self.backend, self.name)

    def __call__(self) -> Policy:
        return build_policy(self.backend, self.name, self.config)


# -- Metamath ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def metamath_env(db: str) -> Any:
    """The backward environment over ``db``, parsed once per process (and shared
    copy-on-write by forked workers)."""
    from provergym.metamath.database import MetamathError
    from provergym.metamath.env import MetamathEnv

    try:
        env = MetamathEnv(db)
    except (MetamathError, OSError) as error:
        raise BenchError(f"cannot read {db}: {error}") from error
    gc.freeze()  # see build_policy
    return env


@functools.lru_cache(maxsize=8)
def label_counts(db: str, train_theorems: tuple[str, ...]) -> Any:
    """How often each logical label is cited by the training theorems' proofs."""
    from provergym.metamath.policies import training_label_counts

    env = metamath_env(db)
    return training_label_counts(env.db, train_theorems, env.syntax_typecodes)


@functools.lru_cache(maxsize=8)
def lemma_table(db: str, train_theorems: tuple[str, ...], keep: int) -> Any:
    """The look-ahead's lemma table from the training theorems' proofs; None when the
    look-ahead is off or there are no training theorems."""
    if not keep or not train_theorems:
        return None
    from provergym.metamath.policies import training_lemma_table

    env = metamath_env(db)
    return training_lemma_table(env.db, train_theorems, env.syntax_typecodes, keep=keep)


def _candidate_labels(config: MethodConfig) -> list[str]:
    env = metamath_env(config.db)
    before = config.labels_before
    unproved = env.unproved  # never a candidate: a proof may not rest on them
    return [s.label for s in env.db.assertions()
            if s.typecode not in env.syntax_typecodes and (before is None or s.index < before)
            and s.label not in unproved]


def _frequency(config: MethodConfig) -> Policy:
    from provergym.metamath.policies import FrequencyPolicy

    return FrequencyPolicy(metamath_env(config.db),
                           label_counts(config.db, config.train_theorems),
                           _candidate_labels(config), config.candidates,
                           lemma_table(config.db, config.train_theorems,
                                       config.candidates.lemma_limit))


def _uniform(config: MethodConfig) -> Policy:
    from provergym.metamath.policies import UniformPolicy

    return UniformPolicy(metamath_env(config.db), _candidate_labels(config),
                         config=config.candidates,
                         lemmas=lemma_table(config.db, config.train_theorems,
                                            config.candidates.lemma_limit))


def _metamath_model(config: MethodConfig) -> Policy:
    from agents.search_policies import MetamathModelPolicy

    counts = None
    if config.frequency_weight and config.train_theorems:
        counts = label_counts(config.db, config.train_theorems)
    try:
        policy = MetamathModelPolicy(
            config.model or "", metamath_env(config.db), _candidate_labels(config),
            config.candidates,
            lemma_table(config.db, config.train_theorems, config.candidates.lemma_limit),
            counts=counts, retrieval_weight=config.retrieval_weight,
            frequency_weight=config.frequency_weight if counts is not None else 0.0,
            threads=config.threads)
    except (OSError, ValueError) as error:
        raise BenchError(f"cannot load the model {config.model}: {error}") from error
    if config.policy_server:
        from agents.policy_server import served

        policy.model = served(policy.model, config.policy_server)
    return policy


# -- Coq -------------------------------------------------------------------------------------------
def coq_corpus_dir(config: MethodConfig, with_model: bool = False) -> str:
    """The Coq corpus that k-NN retrieval reads: ``config.data``, else (``with_model``) the
    one the model was trained on, else the default place."""
    if config.data:
        return config.data
    if with_model and config.model:
        try:
            trained = json.loads((Path(config.model) / "train_config.json").read_text())
        except (OSError, json.JSONDecodeError):
            trained = {}
        if trained.get("data_dir"):
            return str(trained["data_dir"])
    from corpora.common import corpus_dir

    return str(corpus_dir("coq"))


def coq_retrieval_weight(config: MethodConfig) -> float:
    return COQ_RETRIEVAL_WEIGHT if config.retrieval_weight is None else config.retrieval_weight


def check_ready(backend: str, name: str, config: MethodConfig) -> None:
    """Fail now, with what to do, when a method's inputs are missing (not once per lemma)."""
    method = get_method(backend, name)
    if method.needs_model and not config.model:
        raise BenchError(f"the {name} method needs --model DIR (a trained run folder)")
    if backend != "coq":
        return
    if name in ("knn", "knn+sauto"):
        _check_corpus(coq_corpus_dir(config))
    if method.needs_model and coq_retrieval_weight(config):
        _check_corpus(coq_corpus_dir(config, with_model=True), _WITHOUT_RETRIEVAL)


def _check_corpus(path: str, extra: str = "") -> None:
    if not (Path(path) / "dataset_dict.json").is_file():
        raise BenchError(f"no Coq corpus at {path} for the k-NN tactics: build it with "
                         f"`provergym corpus build coq`, or pass --data DIR{extra}")


def _nearest(config: MethodConfig, with_model: bool = False) -> Policy:
    from agents.search_policies import NearestTactics

    try:
        return NearestTactics.from_corpus(coq_corpus_dir(config, with_model=with_model),
                                          extra_data=config.extra_data)
    except ValueError as error:
        extra = _WITHOUT_RETRIEVAL if with_model else ""
        raise BenchError(f"k-NN tactics: {error}{extra}") from None


def _coq_model(config: MethodConfig) -> Policy:
    """The Coq model with the nearest training states' tactics mixed in (from the corpus
    the model was trained on, or ``config.data``)."""
    from agents.search_policies import ModelPolicy

    weight = coq_retrieval_weight(config)
    retrieval = _nearest(config, with_model=True) if weight else None
    return ModelPolicy(config.model or "", threads=config.threads, retrieval=retrieval,
                       retrieval_weight=weight)


def _fixed(config: MethodConfig) -> Policy:
    from provergym.coq.policies import FixedTactics

    return FixedTactics()


def _with_sauto(build: Callable[[MethodConfig], Policy]) -> Callable[[MethodConfig], Policy]:
    return lambda config: WithFallback(build(config), ("sauto.",))


class WithPreamble:
    """A Coq file whose lemmas open after extra sentences (the search sees a Backend)."""

    name = "coq"

    def __init__(self, env: Any, preamble: tuple[str, ...]) -> None:
        self.env, self.preamble = env, preamble

    def open(self, theorem: str) -> Any:
        return self.env.open(theorem, preamble=self.preamble)

    def step(self, state: Any, action: str, timeout: float | None = None) -> Any:
        return self.env.step(state, action, timeout=timeout)

    def close(self) -> None:
        self.env.close()


# -- the registry --------------------------------------------------------------------------------
register(Method("model", "metamath", "best-first search with the trained model",
                _metamath_model, needs_model=True))
register(Method("frequency", "metamath", "labels ranked by their use in training proofs",
                _frequency))
register(Method("uniform", "metamath", "the same candidates in a random order", _uniform))
register(Method("improve", "metamath", "metamath-exe's Proof Assistant (improve)"))

register(Method("model", "coq", "the trained model with the nearest states' tactics",
                _coq_model, needs_model=True))
register(Method("model+sauto", "coq", "the model, with sauto as the fallback tactic",
                _with_sauto(_coq_model), needs_model=True, preamble=(HAMMER_IMPORT,)))
register(Method("fixed", "coq", "a fixed tactic list", _fixed))
register(Method("knn", "coq", "the tactics of the nearest training states", _nearest))
register(Method("knn+sauto", "coq", "k-NN tactics, with sauto as the fallback tactic",
                _with_sauto(_nearest), preamble=(HAMMER_IMPORT,)))
for _tactic in ("sauto", "best", "hauto"):
    register(Method(_tactic, "coq", f"CoqHammer's {_tactic} alone"))
