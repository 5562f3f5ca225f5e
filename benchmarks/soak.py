#!/usr/bin/env python3
"""Soak test: does a long expert-iteration run stay up? Thousands of proposed and random
steps through both backends, with the prover killed now and then, and the figures that
answer it: memory of every process at the start and the end, prover restarts, orphaned
processes, the slowest step, steps per second and the outcome counts.

    python3 benchmarks/soak.py [--steps 10000] [--mm-theorems 1000] [--coq-lemmas 100]
        [--seed 0] [--out DIR] [--backend metamath --backend coq]

``--steps`` is per backend. Half the steps (``--proposed-share``) are proposed the way a
search proposes them: for Metamath the frequency policy of the method registry (no trained
model) and the theorem's own human proof steps; for Coq the registry's fixed tactics, a
few common ones and the lemma's own proof sentences. The others are random: random text,
control characters, vernacular (the tactic filter must refuse it), random labels with
random substitutions, objects that are not text (Metamath promises a ``Rejected`` for any
type), deeply nested expressions; and for Coq ``--loops`` looping tactics (each costs
``--step-timeout``) and ``--kills`` ``kill -9`` of the running coqidetop (one of them
during a looping tactic), each followed by a check that the session recovered: a step
taken before the kill is taken again and must give the same goals.

Each step starts from a random state of a small pool per theorem (states are immutable
handles; a Coq step sometimes goes back to a state of an earlier lemma of the same file).
Metamath theorems are interleaved at random; Coq lemmas are opened in file order, one
``CoqFile`` per file, each file's coqidetop closed before the next file starts.

An exception that a backend does not document is a failure (its traceback is kept):
any exception from ``MetamathEnv.step`` or a policy, and anything but
:class:`provergym.api.ProverError` from ``CoqFile``. The script exits 1 when there was a
failure or a process is left behind after everything was closed, else 0.

Besides the figures above it reports the time spent in Python's garbage collector (the
longest pause is a slow step the step did not cause), coqidetop's RSS every 250 steps and
the steps after which it grew by 50 MiB or more, and the ``ProverError`` values (for Coq,
documented, but each one a step that gave no answer).

Output: a progress bar on a terminal (a line every ``--heartbeat`` seconds otherwise), a
summary at the end, and ``soak.json`` in ``--out`` (default
``$PROVERGYM_HOME/benchmarks/soak-<time>``), rewritten as soon as each backend finishes.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import heapq
import itertools
import json
import os
import random
import resource
import signal
import string
import sys
import threading
import time
import traceback
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provergym.api import InitError, Progress, ProofState, Proved, ProverError, Rejected  # noqa: E402
from provergym.paths import SET_MM, provergym_home  # noqa: E402

COQ_THEORIES = Path("/usr/lib/ocaml/coq/theories")
COQ_FILES = ("Arith/PeanoNat.v", "Lists/List.v", "Bool/Bool.v", "Sorting/Permutation.v")
# Proposed Coq tactics besides the registry's fixed list.
COMMON_TACTICS = ("auto.", "intros.", "simpl.", "split.", "easy.", "trivial.",
                  "congruence.", "reflexivity.", "intros; simpl; auto.", "firstorder.",
                  "left.", "right.", "exfalso.", "symmetry.", "f_equal.")
# Looping tactics: Coq's Timeout (or the session's ladder) must stop them.
LOOPS = ("let rec f x := f x in f I.", "do 1000000000 idtac.",
         "repeat (let rec g y := g y in g tt).")
# Vernacular and give-ups: the tactic filter must refuse each one before it reaches Coq.
VERNACULAR = ("Require Import Arith.", "Qed.", "Admitted.", "Abort.", "Definition x := 1.",
              "Print nat.", "Set Printing All.", "Reset Initial.", "Quit.", 'Load "x".',
              "Axiom cheat : False.", "From Coq Require Import Lia.", "#[local] Hint Resolve I : core.",
              "all: Abort.", "1: Admitted.", "Back 2.", "Timeout 5 Qed.", "Time auto.",
              "Fail auto.", "Show.", "Undo.", "Restart.", "Check I.", "Search nat.",
              "Ltac foo := idtac.", "Goal True.", "Local Set Printing All.", "Drop.",
              "admit.", "give_up.", "try admit.", "exact ltac:(admit).", "Admit Obligations.",
              "auto. Qed.", "idtac. Admitted.", "(* c *) Abort.", "all:admit.", "2: give_up.")
# Printable ASCII, notation, a combining accent, right-to-left override, zero-width space,
# byte order mark, an emoji and every control character.
NOISE = (string.printable + "∀∃λ→↔¬∧∨≤≥≠ℕ∘⊢⊤⊥αβγ\u0301\u202e\u200b\ufeff\U0001f600"
         + "".join(map(chr, range(32))))


# ---------------------------------------------------------------------------- processes


def rss_mib(process: psutil.Process) -> float | None:
    try:
        return round(process.memory_info().rss / 2**20, 1)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def kind_of(process: psutil.Process) -> str:
    try:
        name = process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    return "coqidetop" if name.startswith("coqidetop") else name


def snapshot(when: str) -> dict[str, Any]:
    """The driver and every descendant: pid, kind, RSS (MiB), status."""
    driver = psutil.Process()
    rows = [{"pid": driver.pid, "kind": "driver", "rss_mib": rss_mib(driver)}]
    for child in driver.children(recursive=True):
        try:
            status = child.status()
        except psutil.NoSuchProcess:
            continue
        rows.append({"pid": child.pid, "kind": kind_of(child), "rss_mib": rss_mib(child),
                     "status": status})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"when": when, "t": round(time.monotonic() - STARTED, 1),
            "driver_peak_rss_mib": round(peak, 1), "processes": rows}


def coqidetop_pids() -> set[int]:
    found = set()
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("coqidetop"):
            found.add(process.pid)
    return found


def leftovers(tracked: set[int], foreign: set[int]) -> dict[str, Any]:
    """What is left once everything is closed: the driver's children (any kind), and any
    process in the session or group of a coqidetop we started (CoqSession starts each in
    its own session, so an escaped grandchild keeps its sid). Other coqidetop processes
    that appeared during the run belong to other jobs unless they are in one of these."""
    orphans = []
    for child in psutil.Process().children(recursive=True):
        try:
            orphans.append({"pid": child.pid, "kind": kind_of(child),
                            "status": child.status(), "why": "child of the driver"})
        except psutil.NoSuchProcess:
            pass
    seen = {o["pid"] for o in orphans}
    for process in psutil.process_iter(["name"]):
        pid = process.pid
        if pid in seen or pid == os.getpid():
            continue
        try:
            sid, group = os.getsid(pid), os.getpgid(pid)
        except (ProcessLookupError, PermissionError):
            continue
        if pid in tracked or sid in tracked or group in tracked:
            try:
                orphans.append({"pid": pid, "kind": kind_of(process), "status": process.status(),
                                "why": "started by one of our coqidetop sessions"})
            except psutil.NoSuchProcess:
                pass
    others = sorted(coqidetop_pids() - foreign - tracked - {o["pid"] for o in orphans})
    return {"orphans": orphans, "other_new_coqidetop": others}


class GcPauses:
    """Time spent in the cyclic garbage collector, per generation (a long pause is a slow
    step that the step itself did not cause)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.total = 0.0  # seconds, since the start (a step's share: the difference)
        self.reset()
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.count = Counter()
        self.seconds = Counter()
        self.longest = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        self.total += pause
        self.count[info["generation"]] += 1
        self.seconds[info["generation"]] += pause
        self.longest = max(self.longest, pause)

    def summary(self) -> dict[str, Any]:
        return {"tracked_objects": len(gc.get_objects()), "frozen_objects": gc.get_freeze_count(),
                "collections": {str(g): self.count[g] for g in sorted(self.count)},
                "seconds": {str(g): round(self.seconds[g], 3) for g in sorted(self.seconds)},
                "longest_pause_s": round(self.longest, 4)}


# ---------------------------------------------------------------------------- tallies


class Tally:
    """Per backend: outcomes by step kind, step times, the slowest steps, failures."""

    def __init__(self, backend: str, gc_pauses: GcPauses, keep_slowest: int = 5) -> None:
        self.backend = backend
        self.gc = gc_pauses
        self.gc_at_start = 0.0  # the GC clock when the current step started
        self.outcomes: Counter = Counter()  # (kind, outcome) -> count
        self.times: list[float] = []
        self.slowest: list[tuple[float, int, dict[str, Any]]] = []
        self.keep = keep_slowest
        self.failures: list[dict[str, Any]] = []
        self.prover_errors: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []  # wrong answers that raised nothing
        self.counter = itertools.count()
        self.step_seconds = 0.0
        self.policy_seconds = 0.0
        self.policy_calls = 0
        self.slowest_policy: dict[str, Any] = {"seconds": 0.0}

    def start_step(self) -> float:
        self.gc_at_start = self.gc.total
        return time.perf_counter()

    def record(self, kind: str, outcome: str, seconds: float, theorem: str,
               action: Any) -> None:
        gc_seconds = self.gc.total - self.gc_at_start
        self.outcomes[(kind, outcome)] += 1
        self.times.append(seconds)
        self.step_seconds += seconds
        row = (seconds, next(self.counter),
               {"seconds": round(seconds, 4), "gc_seconds": round(gc_seconds, 4),
                "backend": self.backend, "theorem": theorem,
                "action": short(action), "kind": kind, "outcome": outcome})
        if len(self.slowest) < self.keep:
            heapq.heappush(self.slowest, row)
        elif seconds > self.slowest[0][0]:
            heapq.heapreplace(self.slowest, row)

    def fail(self, where: str, theorem: str, action: Any, error: BaseException) -> None:
        self.failures.append({"where": where, "theorem": theorem, "action": short(action),
                              "error": f"{type(error).__name__}: {error}"[:500],
                              "traceback": traceback.format_exc()[-4000:]})

    def summary(self) -> dict[str, Any]:
        times = sorted(self.times)
        by_outcome: Counter = Counter()
        for (_, outcome), count in self.outcomes.items():
            by_outcome[outcome] += count

        def quantile(q: float) -> float:
            return round(times[min(len(times) - 1, int(q * len(times)))], 4) if times else 0.0
        return {
            "steps": len(times),
            "outcomes": dict(by_outcome),
            "outcomes_by_kind": {f"{k}/{o}": c for (k, o), c in sorted(self.outcomes.items())},
            "step_seconds_total": round(self.step_seconds, 2),
            "steps_per_s_step_time": round(len(times) / self.step_seconds, 1)
            if self.step_seconds else None,
            "step_seconds": {"p50": quantile(0.5), "p90": quantile(0.9), "p99": quantile(0.99),
                             "max": round(times[-1], 4) if times else 0.0},
            "slowest_steps": [row for _, _, row in sorted(self.slowest, reverse=True)],
            "policy_calls": self.policy_calls,
            "policy_seconds_total": round(self.policy_seconds, 2),
            "slowest_policy_call": self.slowest_policy,
            "failures": len(self.failures),
            "failure_kinds": dict(Counter(
                f"{f['where']}: {f['error'].split(':')[0]}: {f['traceback'].strip().splitlines()[-3].strip()}"
                for f in self.failures)),
            "failure_details": self.failures[:20],
            "prover_errors": len(self.prover_errors),
            "prover_error_details": self.prover_errors[:20],
            "findings": self.findings[:50],
            "finding_count": len(self.findings),
        }


def short(action: Any, limit: int = 160) -> str:
    text = action if isinstance(action, str) else f"<{type(action).__name__}> {action!r}"
    text = repr(text)[1:-1]
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def outcome_of(result: Any) -> str:
    if isinstance(result, Progress):
        return "Progress"
    if isinstance(result, Proved):
        return "Proved"
    if isinstance(result, Rejected):
        return "Rejected"
    return f"unexpected {type(result).__name__}"


class Reporter:
    """tqdm on a terminal, else one line every ``every`` seconds."""

    def __init__(self, backend: str, total: int, every: float, status) -> None:
        from tqdm import tqdm

        self.backend, self.total, self.every, self.status = backend, total, every, status
        self.bar = tqdm(total=total, desc=backend, unit="step", disable=not sys.stdout.isatty(),
                        dynamic_ncols=True)
        self.started = self.last = time.monotonic()
        self.done = 0

    def advance(self) -> None:
        self.done += 1
        self.bar.update(1)
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.done / (now - self.started)
            line = f"[{self.backend}] {self.done}/{self.total} steps, {rate:.1f} steps/s, {self.status()}"
            if self.bar.disable:
                print(line, flush=True)
            else:
                self.bar.set_postfix_str(self.status(), refresh=False)

    def close(self) -> None:
        self.bar.close()


class Pool:
    """A few states per theorem, any of which may be stepped (states are immutable)."""

    def __init__(self, opening: ProofState, size: int) -> None:
        self.states = [opening]
        self.size = size

    def add(self, state: ProofState, rng: random.Random) -> None:
        if len(self.states) < self.size:
            self.states.append(state)
        else:  # keep the opening state
            self.states[rng.randrange(1, self.size)] = state

    def pick(self, rng: random.Random) -> ProofState:
        return rng.choice(self.states)


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return "".join(rng.choice(NOISE) for _ in range(rng.randint(0, 60)))
    if roll < 0.7:
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randint(1, 20)))
    if roll < 0.8:
        return rng.choice(("", " ", "\n", "\t\t", ".", "..", "...", "\x00", "{{", "}}", "{{ }}",
                           "(*", "*)", '"', "(", ")", "[", "]", "-", "+", "*", "{", "}"))
    if roll < 0.95:
        return " ".join(rng.choice(("(", ")", "{{", "}}", ":", ".", "->", "|-", "wff", "ph",
                                    "intros", "auto", ";", "|", "[", "]", "=>", ",", "fun",
                                    "x", "H", "0", "S"))
                        for _ in range(rng.randint(1, 30)))
    return rng.choice(("x" * 200_000, "( " * 20_000, "idtac; " * 5_000 + "idtac.",
                       "{{ " * 10_000, "a" + " {{ v : e }}" * 3_000))


# ---------------------------------------------------------------------------- Metamath


class MetamathSoak:
    def __init__(self, args: argparse.Namespace, tally: Tally, rng: random.Random) -> None:
        from provergym.bench.methods import MethodConfig, build_policy, metamath_env
        from provergym.metamath.env import Action
        from provergym.metamath.prooftree import ProofTreeError, logical_steps, proof_tree

        self.args, self.tally, self.rng, self.Action = args, tally, rng, Action
        started = time.perf_counter()
        self.env = metamath_env(args.db)
        self.load_seconds = time.perf_counter() - started
        db = self.env.db
        theorems = [s.label for s in db.theorems()]
        if args.mm_first:
            theorems = theorems[:args.mm_first]
        self.sample = rng.sample(theorems, min(args.mm_theorems, len(theorems)))
        held_out = set(self.sample)
        train = tuple(t for t in theorems if t not in held_out)
        started = time.perf_counter()
        self.policy = build_policy("metamath", "frequency", MethodConfig(
            db=args.db, train_theorems=train,
            labels_before=max(db.statements[t].index for t in self.sample) + 1))
        self.policy_build_seconds = time.perf_counter() - started
        self.human: dict[str, list[str]] = {}  # theorem -> its proof's logical steps as text
        for label in self.sample:
            try:
                steps = logical_steps(db, proof_tree(db, label), self.env.syntax_typecodes)
                self.human[label] = [str(Action(s.label, s.substitution)) for s in steps]
            except (ProofTreeError, KeyError, IndexError, ValueError):
                self.human[label] = []
        self.labels = list(db.statements)
        self.symbols = sorted(db.constants | db.variables)
        self.variables = sorted(db.variables)
        self.pools: dict[str, Pool] = {}
        self.paths: dict[str, tuple[ProofState, int]] = {}  # human path: state, next step
        self.proposals: OrderedDict[Any, list[str]] = OrderedDict()  # bounded cache
        self.opened = 0
        self.open_errors: list[str] = []

    def pool(self, theorem: str) -> Pool | None:
        pool = self.pools.get(theorem)
        if pool is None:
            try:
                opening = self.env.open(theorem)
            except InitError as error:  # documented: a statement that does not parse
                self.open_errors.append(f"{theorem}: {error}"[:300])
                self.sample.remove(theorem)
                return None
            except Exception as error:  # noqa: BLE001 - undocumented: a failure
                self.tally.fail("open", theorem, "", error)
                return None
            self.opened += 1
            pool = self.pools[theorem] = Pool(opening, self.args.pool)
            self.paths[theorem] = (opening, 0)
        return pool

    def propose(self, theorem: str, state: ProofState) -> list[str]:
        key = (theorem, state.key)
        found = self.proposals.get(key)
        if found is not None:
            self.proposals.move_to_end(key)
            return found
        started = time.perf_counter()
        try:
            found = [action for action, _ in self.policy.propose(state, self.args.candidates)]
        except Exception as error:  # noqa: BLE001 - a policy must not raise
            self.tally.fail("propose", theorem, state.pretty()[:200], error)
            found = []
        seconds = time.perf_counter() - started
        self.tally.policy_calls += 1
        self.tally.policy_seconds += seconds
        if seconds > self.tally.slowest_policy["seconds"]:
            self.tally.slowest_policy = {"seconds": round(seconds, 4), "theorem": theorem,
                                         "goal": state.goals[0].conclusion[:200]}
        self.proposals[key] = found
        if len(self.proposals) > 4096:
            self.proposals.popitem(last=False)
        return found

    def random_action(self, theorem: str, state: ProofState) -> Any:
        rng = self.rng
        roll = rng.random()
        goal = state.goals[0].conclusion.split()[1:]
        if roll < 0.35:  # a random label with random substitutions
            label = rng.choice(self.labels)
            statement = self.env.db.statements[label]
            floats = [self.env.db.statements[h].body.strip() for h in statement.hypotheses
                      if self.env.db.statements[h].kind == "f"]
            pairs = []
            for _ in range(rng.randint(0, 3)):
                var = rng.choice(floats) if floats and rng.random() < 0.8 else rng.choice(self.variables)
                if goal and rng.random() < 0.5:
                    start = rng.randrange(len(goal))
                    expression = goal[start:start + rng.randint(1, 12)]
                else:
                    expression = [rng.choice(self.symbols) for _ in range(rng.randint(1, 8))]
                pairs.append((var, " ".join(expression)))
            return str(self.Action(label, tuple(pairs))) if rng.random() < 0.9 else \
                self.Action(label, tuple(pairs))
        if roll < 0.45:  # a proposed action with one thing changed
            proposals = self.propose(theorem, state)
            if proposals:
                words = rng.choice(proposals).split()
                index = rng.randrange(len(words))
                words[index] = rng.choice((rng.choice(self.symbols), rng.choice(self.labels), ""))
                return " ".join(words)
            return rng.choice(self.labels)
        if roll < 0.55:  # nested too deep for the grammar, or long
            depth = rng.choice((50, 150, 2_000, 20_000))
            return rng.choice((f"ax-mp {{{{ ph : {'( ' * depth}ph{' )' * depth} }}}}",
                               f"ax-mp {{{{ ph : {'-. ' * depth}ph }}}} {{{{ ps : ph }}}}",
                               f"mpbi {{{{ ph : {'( ph -> ' * depth}ph{' )' * depth} }}}}"))
        if roll < 0.6:  # not text at all
            return rng.choice((None, 42, 3.5, b"ax-mp", ["ax-mp"], {"label": "ax-mp"},
                               self.Action("ax-mp", "ph"), self.Action(None, ()),  # type: ignore[arg-type]
                               self.Action("ax-mp", (("ph", 1),)),  # type: ignore[arg-type]
                               self.Action("ax-mp", (("ph",),)), object()))  # type: ignore[arg-type]
        return random_text(rng)

    def run(self, steps: int, reporter: Reporter) -> None:
        rng, tally = self.rng, self.tally
        for _ in range(steps):
            theorem = rng.choice(self.sample)
            pool = self.pool(theorem)
            if pool is None:
                reporter.advance()
                continue
            proposed = rng.random() < self.args.proposed_share
            path_state, path_next = self.paths[theorem]
            human = self.human[theorem]
            on_path = proposed and path_next < len(human) and rng.random() < 0.5
            if on_path:
                state, action, kind = path_state, human[path_next], "human"
            else:
                state = pool.pick(rng)
                if proposed:
                    proposals = self.propose(theorem, state)
                    action = rng.choice(proposals) if proposals else rng.choice(self.labels)
                    kind = "proposed"
                else:
                    action, kind = self.random_action(theorem, state), "random"
            faulthandler.dump_traceback_later(self.args.hang_after)
            started = tally.start_step()
            try:
                result = self.env.step(state, action)
            except Exception as error:  # noqa: BLE001 - step promises a value for anything
                seconds = time.perf_counter() - started
                tally.record(kind, "failure", seconds, theorem, action)
                tally.fail("step", theorem, action, error)
                reporter.advance()
                continue
            finally:
                faulthandler.cancel_dump_traceback_later()
            seconds = time.perf_counter() - started
            outcome = outcome_of(result)
            tally.record(kind, outcome, seconds, theorem, action)
            if isinstance(result, Progress):
                pool.add(result.state, rng)
            if on_path:
                if isinstance(result, Progress):
                    self.paths[theorem] = (result.state, path_next + 1)
                else:
                    if isinstance(result, Rejected):
                        tally.findings.append({"what": "a human proof step was rejected",
                                               "theorem": theorem, "action": short(action),
                                               "reason": result.reason[:300]})
                    self.paths[theorem] = (pool.states[0], 0)
            reporter.advance()

    def status(self) -> str:
        return (f"opened {self.opened}, failures {len(self.tally.failures)}, "
                f"driver {rss_mib(psutil.Process())} MiB")


# ---------------------------------------------------------------------------- Coq


class CoqSoak:
    def __init__(self, args: argparse.Namespace, tally: Tally, rng: random.Random) -> None:
        from provergym.bench.methods import MethodConfig, build_policy

        self.args, self.tally, self.rng = args, tally, rng
        self.policy = build_policy("coq", "fixed", MethodConfig(backend="coq"))
        self.files: list[dict[str, Any]] = []  # per CoqFile: lemmas, restarts, memory
        self.tracked: set[int] = set()  # every coqidetop pid we saw
        self.kills: list[dict[str, Any]] = []
        self.growth: list[dict[str, Any]] = []  # steps after which coqidetop grew >= 50 MiB
        self.snapshots: list[dict[str, Any]] = []  # every process, before each file's close
        self.opened = 0
        self.open_errors: list[str] = []
        self.current = None  # the open CoqFile

    def observe(self, coq_file: Any, scan: bool = True) -> None:
        """Remember coqidetop's pid; with ``scan``, every coqidetop below the driver too (a
        /proc scan of about 8 ms: not after every step)."""
        pid = coq_file.session.pid
        if pid is not None:
            self.tracked.add(pid)
        if not scan:
            return
        try:
            for child in psutil.Process().children(recursive=True):
                if kind_of(child) == "coqidetop":
                    self.tracked.add(child.pid)
        except psutil.Error:
            pass

    def coq_rss(self, coq_file: Any) -> float | None:
        pid = coq_file.session.pid
        if pid is None:
            return None
        try:
            return rss_mib(psutil.Process(pid))
        except psutil.NoSuchProcess:
            return None

    def run(self, steps: int, reporter: Reporter) -> None:
        from provergym.coq.env import CoqFile

        args, rng, tally = self.args, self.rng, self.tally
        paths = [Path(p) if Path(p).is_absolute() else COQ_THEORIES / p for p in args.coq_files]
        lemma_counts = [args.coq_lemmas // len(paths) + (i < args.coq_lemmas % len(paths))
                        for i in range(len(paths))]
        total_lemmas = sum(lemma_counts)
        step_counts = [steps // total_lemmas + (i < steps % total_lemmas)
                       for i in range(total_lemmas)]
        # Loops and kills at fixed, evenly spread step numbers (kills between loops: the
        # second kill lands during a looping tactic).
        loop_at = {int((i + 0.5) * steps / args.loops) for i in range(args.loops)} if args.loops else set()
        kill_at = {int((i + 1) * steps / (args.kills + 1)) for i in range(args.kills)}
        kill_during_loop = sorted(kill_at)[1] if len(kill_at) >= 2 else None
        if kill_during_loop is not None:
            loop_at.discard(kill_during_loop)
        step_number = 0
        lemma_index = 0
        for path, count in zip(paths, lemma_counts):
            if count == 0:
                continue
            try:
                coq_file = CoqFile(path, step_timeout=args.step_timeout)
            except ProverError as error:
                self.open_errors.append(f"{path}: {error}"[:300])
                for _ in range(sum(step_counts[lemma_index:lemma_index + count])):
                    reporter.advance()
                lemma_index += count
                continue
            self.current = coq_file
            self.observe(coq_file)
            names = sorted(rng.sample(list(coq_file.lemmas), min(count, len(coq_file.lemmas))),
                           key=lambda n: coq_file.lemmas[n].index)
            record = {"file": str(path), "lemmas": len(names), "first_pid": coq_file.session.pid,
                      "rss_mib_start": None, "rss_mib_end": None, "rss_mib_max": 0.0,
                      "open_seconds": 0.0, "rss_mib_series": []}
            self.files.append(record)
            pools: dict[str, Pool] = {}
            last_progress: tuple[ProofState, str, Any] | None = None
            try:
                for position, name in enumerate(names):
                    budget = step_counts[lemma_index + position]
                    started = time.perf_counter()
                    try:
                        opening = coq_file.open(name)
                    except ProverError as error:
                        self.open_errors.append(f"{path.name}:{name}: {error}"[:300])
                        for _ in range(budget):
                            reporter.advance()
                        step_number += budget
                        continue
                    except Exception as error:  # noqa: BLE001 - undocumented
                        tally.fail("open", name, "", error)
                        for _ in range(budget):
                            reporter.advance()
                        step_number += budget
                        continue
                    finally:
                        record["open_seconds"] += time.perf_counter() - started
                    self.opened += 1
                    self.observe(coq_file)
                    if record["rss_mib_start"] is None:
                        record["rss_mib_start"] = self.coq_rss(coq_file)
                    pool = pools[name] = Pool(opening, args.pool)
                    lemma = coq_file.lemmas[name]
                    human = [s for s in lemma.body if s.strip() not in ("Qed.", "Defined.")]
                    path_state, path_next = opening, 0
                    previous_rss = self.coq_rss(coq_file)
                    previous_step = "open"
                    for _ in range(budget):
                        step_number += 1
                        if step_number in kill_at:
                            last_progress = self.kill(coq_file, step_number,
                                                      step_number == kill_during_loop,
                                                      pool, last_progress)
                            previous_rss, previous_step = self.coq_rss(coq_file), "kill"
                            if step_number == kill_during_loop:
                                reporter.advance()
                                continue
                        theorem = name
                        if step_number in loop_at:
                            state, action, kind = pool.pick(rng), rng.choice(LOOPS), "loop"
                        elif rng.random() < args.proposed_share:
                            if path_next < len(human) and rng.random() < 0.4:
                                state, action, kind = path_state, human[path_next], "human"
                            else:
                                if len(pools) > 1 and rng.random() < 0.05:  # an earlier lemma
                                    theorem = rng.choice(list(pools))
                                state = pools[theorem].pick(rng)
                                action, kind = self.proposed_action(state, lemma.body), "proposed"
                        else:
                            state = pool.pick(rng)
                            action, kind = self.random_action(state)
                        result = self.step(coq_file, theorem, state, action, kind)
                        if isinstance(result, Progress):
                            pools[theorem].add(result.state, rng)
                            last_progress = (state, action, result.state.goals)
                        if kind == "human":
                            if isinstance(result, Progress):
                                path_state, path_next = result.state, path_next + 1
                            else:
                                if isinstance(result, Rejected):
                                    tally.findings.append({
                                        "what": "a sentence of the lemma's own proof was rejected",
                                        "theorem": name, "action": short(action),
                                        "reason": result.reason[:300]})
                                path_state, path_next = opening, 0
                        if step_number % 100 == 0:
                            self.observe(coq_file)
                        rss = self.coq_rss(coq_file)
                        if rss is not None:
                            if previous_rss is not None and rss - previous_rss >= 50:
                                self.growth.append({"mib": round(rss - previous_rss, 1),
                                                    "rss_mib": rss, "file": path.name,
                                                    "theorem": theorem, "kind": kind,
                                                    "action": short(action),
                                                    "previous_step": previous_step})
                            record["rss_mib_max"] = max(record["rss_mib_max"], rss)
                            if step_number % 250 == 0:
                                record["rss_mib_series"].append((step_number, rss))
                        previous_rss = rss
                        previous_step = f"{kind} {short(action, 60)} -> {outcome_of(result)}"
                        reporter.advance()
                    if len(pools) > 12:  # keep the latest lemmas' states only
                        pools.pop(next(iter(pools)))
            finally:
                record["rss_mib_end"] = self.coq_rss(coq_file)
                self.snapshots.append(snapshot(f"coq: {path.name} before close"))
                record["rss_mib_max"] = max(record["rss_mib_max"], record["rss_mib_end"] or 0.0,
                                            record["rss_mib_start"] or 0.0)
                record["restarts"] = coq_file.session.restarts
                record["last_pid"] = coq_file.session.pid
                record["open_seconds"] = round(record["open_seconds"], 2)
                self.observe(coq_file)
                started = time.perf_counter()
                try:
                    coq_file.close()
                    coq_file.close()  # safe to call twice
                except Exception as error:  # noqa: BLE001
                    tally.fail("close", str(path), "", error)
                record["close_seconds"] = round(time.perf_counter() - started, 3)
                self.current = None
            lemma_index += count

    def step(self, coq_file: Any, theorem: str, state: ProofState, action: str,
             kind: str) -> Any:
        tally = self.tally
        faulthandler.dump_traceback_later(self.args.hang_after)
        started = tally.start_step()
        try:
            result = coq_file.step(state, action)
        except ProverError as error:  # documented: an infrastructure failure
            seconds = time.perf_counter() - started
            tally.record(kind, "ProverError", seconds, theorem, action)
            tally.prover_errors.append({"theorem": theorem, "action": short(action),
                                        "error": f"{type(error).__name__}: {error}"[:500]})
            return None
        except Exception as error:  # noqa: BLE001 - undocumented: a failure
            seconds = time.perf_counter() - started
            tally.record(kind, "failure", seconds, theorem, action)
            tally.fail("step", theorem, action, error)
            return None
        finally:
            faulthandler.cancel_dump_traceback_later()
            self.observe(coq_file, scan=False)  # (no /proc scan: a pid look-up, ~1 µs)
        seconds = time.perf_counter() - started
        outcome = outcome_of(result)
        tally.record(kind, outcome, seconds, theorem, action)
        if kind == "vernacular" and not (isinstance(result, Rejected)
                                         and result.reason.startswith("refused")):
            tally.findings.append({"what": "vernacular or a give-up passed the tactic filter",
                                   "theorem": theorem, "action": short(action),
                                   "outcome": outcome,
                                   "reason": getattr(result, "reason", "")[:300]})
        if kind == "loop" and not isinstance(result, Rejected):
            tally.findings.append({"what": "a looping tactic was not stopped",
                                   "theorem": theorem, "action": short(action),
                                   "outcome": outcome})
        return result

    def proposed_action(self, state: ProofState, body: tuple[str, ...]) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            return rng.choice([a for a, _ in self.policy.propose(state, 32)])
        if roll < 0.6:
            return rng.choice(COMMON_TACTICS)
        if roll < 0.8:
            sentences = [s for s in body if s.strip() not in ("Qed.", "Defined.")]
            if sentences:
                return rng.choice(sentences)
        names = [h.name for g in state.goals[:1] for h in g.hypotheses]
        if names:
            verb = rng.choice(("destruct", "induction", "apply", "rewrite", "exact", "inversion",
                               "rewrite <-", "case", "elim", "clear", "revert"))
            return f"{verb} {rng.choice(names)}."
        return rng.choice(("intros.", "intro.", "auto.", "constructor."))

    def random_action(self, state: ProofState) -> tuple[str, str]:
        """A random step and its kind (``vernacular``: the filter must refuse it)."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            return rng.choice(VERNACULAR), "vernacular"
        if roll < 0.5:
            words = ("apply", "exact", "rewrite", "destruct", "induction", "unfold", "eapply",
                     "pose", "assert", "specialize", "intros", "inversion", "subst", "omega")
            names = [h.name for g in state.goals[:1] for h in g.hypotheses] + \
                ["foo", "H", "n", "Nat.add_comm", "I", "(fun x => x)", "_", "nat", "0", "x'"]
            arguments = " ".join(rng.choice(names) for _ in range(rng.randint(0, 3)))
            return f"{rng.choice(words)} {arguments}.", "random"
        return random_text(rng), "random"

    def kill(self, coq_file: Any, step_number: int, during_loop: bool, pool: Pool,
             last_progress: tuple[ProofState, str, Any] | None) -> Any:
        """``kill -9`` coqidetop, between steps or during a looping tactic; then check the
        session recovered: a step taken before gives the same goals again."""
        session = coq_file.session
        pid, restarts_before = session.pid, session.restarts
        event: dict[str, Any] = {"step": step_number, "pid": pid, "during_loop": during_loop,
                                 "theorem": None}
        if pid is None:
            event["skipped"] = "no process running (it restarts lazily)"
            self.kills.append(event)
            return last_progress
        if during_loop:
            state = pool.pick(self.rng)
            event["theorem"] = state.theorem
            timer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
            timer.start()
            result = self.step(coq_file, state.theorem, state, LOOPS[0], "loop+kill")
            timer.join()
            event["loop_outcome"] = outcome_of(result) if result is not None else "error"
        else:
            os.kill(pid, signal.SIGKILL)
            psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=5)
        if last_progress is not None:
            state, action, goals = last_progress
            event["theorem"] = event["theorem"] or state.theorem
            result = self.step(coq_file, state.theorem, state, action, "after-kill")
            event["recheck_action"] = short(action)
            event["recovered"] = isinstance(result, Progress) and result.state.goals == goals
            if not event["recovered"]:
                self.tally.findings.append({"what": "a step re-taken after a kill gave another "
                                                    "answer", "theorem": state.theorem,
                                            "action": short(action),
                                            "outcome": outcome_of(result)})
        self.observe(coq_file)
        event["restarts_added"] = session.restarts - restarts_before
        event["new_pid"] = session.pid
        self.kills.append(event)
        return last_progress

    def status(self) -> str:
        rss = self.coq_rss(self.current) if self.current is not None else None
        return (f"lemmas {self.opened}, failures {len(self.tally.failures)}, "
                f"driver {rss_mib(psutil.Process())} MiB, coqidetop {rss} MiB")


# ---------------------------------------------------------------------------- main


STARTED = time.monotonic()


def write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(temporary, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="steps per backend")
    parser.add_argument("--mm-theorems", type=int, default=1_000)
    parser.add_argument("--mm-first", type=int, default=0,
                        help="sample from set.mm's first N theorems (0: all)")
    parser.add_argument("--coq-lemmas", type=int, default=100)
    parser.add_argument("--coq-files", nargs="+", default=list(COQ_FILES),
                        help=f"Coq files (relative to {COQ_THEORIES} or absolute)")
    parser.add_argument("--backend", action="append", choices=["metamath", "coq"],
                        help="run only this backend (repeatable; default both)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="output folder (default $PROVERGYM_HOME/benchmarks/soak-TIME)")
    parser.add_argument("--db", default=SET_MM)
    parser.add_argument("--proposed-share", type=float, default=0.5)
    parser.add_argument("--candidates", type=int, default=8, help="Metamath proposals per state")
    parser.add_argument("--pool", type=int, default=8, help="states kept per theorem")
    parser.add_argument("--step-timeout", type=float, default=2.0, help="Coq step timeout (s)")
    parser.add_argument("--loops", type=int, default=8, help="looping Coq tactics")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 of coqidetop")
    parser.add_argument("--heartbeat", type=float, default=30.0,
                        help="seconds between progress lines when stdout is not a terminal")
    parser.add_argument("--hang-after", type=float, default=120.0,
                        help="dump every thread's stack when one step runs this long")
    args = parser.parse_args()
    backends = args.backend or ["metamath", "coq"]
    if args.mm_theorems <= 0 and "metamath" in backends:
        backends.remove("metamath")
    if args.coq_lemmas <= 0 and "coq" in backends:
        backends.remove("coq")
    out = Path(args.out) if args.out else \
        provergym_home() / "benchmarks" / time.strftime("soak-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / "soak.json"
    rng = random.Random(args.seed)
    foreign = coqidetop_pids()  # other jobs' coqidetop processes, before we start any
    report: dict[str, Any] = {"command": " ".join([sys.executable, *sys.argv]),
                              "config": vars(args), "backends": backends,
                              "memory": [snapshot("start")], "started": time.strftime("%F %T")}
    write_json(result_path, report)
    print(f"soak: {args.steps} steps per backend ({', '.join(backends)}), seed {args.seed}, "
          f"output {result_path}", flush=True)
    tracked: set[int] = set()
    gc_pauses = GcPauses()
    started = time.perf_counter()

    if "metamath" in backends:
        tally = Tally("metamath", gc_pauses)
        phase = time.perf_counter()
        soak = MetamathSoak(args, tally, random.Random(rng.random()))
        report["memory"].append(snapshot("metamath: env and policy built"))
        print(f"metamath: set.mm loaded in {soak.load_seconds:.1f} s, frequency policy built in "
              f"{soak.policy_build_seconds:.1f} s, {len(soak.sample)} theorems", flush=True)
        reporter = Reporter("metamath", args.steps, args.heartbeat, soak.status)
        gc_pauses.reset()
        stepping = time.perf_counter()
        try:
            soak.run(args.steps, reporter)
        finally:
            reporter.close()
        wall = time.perf_counter() - stepping
        soak.env.close()
        report["memory"].append(snapshot("metamath: end"))
        report["metamath"] = {
            **tally.summary(), "theorems": len(soak.sample), "opened": soak.opened,
            "open_errors": soak.open_errors[:20],
            "with_human_steps": sum(1 for h in soak.human.values() if h),
            "load_seconds": round(soak.load_seconds, 2),
            "policy_build_seconds": round(soak.policy_build_seconds, 2),
            "stepping_wall_seconds": round(wall, 2), "gc": gc_pauses.summary(),
            "steps_per_s_wall": round(args.steps / wall, 1) if wall else None,
            "phase_wall_seconds": round(time.perf_counter() - phase, 2)}
        write_json(result_path, report)

    if "coq" in backends:
        tally = Tally("coq", gc_pauses)
        phase = time.perf_counter()
        soak_coq = CoqSoak(args, tally, random.Random(rng.random()))
        reporter = Reporter("coq", args.steps, args.heartbeat, soak_coq.status)
        gc_pauses.reset()
        try:
            soak_coq.run(args.steps, reporter)
        finally:
            reporter.close()
            if soak_coq.current is not None:
                soak_coq.current.close()
        wall = time.perf_counter() - phase
        tracked |= soak_coq.tracked
        report["memory"] += soak_coq.snapshots
        report["memory"].append(snapshot("coq: end"))
        report["coq"] = {
            **tally.summary(), "lemmas_opened": soak_coq.opened,
            "open_errors": soak_coq.open_errors[:20],
            "restarts": sum(f.get("restarts", 0) for f in soak_coq.files),
            "kills": soak_coq.kills, "files": soak_coq.files,
            "coqidetop_growth_steps": soak_coq.growth,
            "coqidetop_pids_seen": len(soak_coq.tracked),
            "phase_wall_seconds": round(wall, 2), "gc": gc_pauses.summary(),
            "steps_per_s_wall": round(args.steps / wall, 1) if wall else None}
        write_json(result_path, report)

    left = leftovers(tracked, foreign)
    report["memory"].append(snapshot("end, everything closed"))
    report["leftovers"] = left
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    failures = sum(report[b]["failures"] for b in backends if b in report)
    report["ok"] = failures == 0 and not left["orphans"]
    write_json(result_path, report)
    print_summary(report)
    print(f"figures written to {result_path}")
    return 0 if report["ok"] else 1


def print_summary(report: dict[str, Any]) -> None:
    print("\n== soak test ==")
    memory = report["memory"]
    start, end = memory[0], memory[-1]
    for m in memory:
        print(f"memory at {m['when']}: " + ", ".join(
            f"{p['kind']} {p['pid']} {p['rss_mib']} MiB" for p in m["processes"]))
    print(f"driver RSS: start {start['processes'][0]['rss_mib']} MiB, "
          + ", ".join(f"{m['when']} {m['processes'][0]['rss_mib']} MiB" for m in memory[1:])
          + f"; peak {end['driver_peak_rss_mib']} MiB")
    for backend in report["backends"]:
        figures = report.get(backend)
        if figures is None:
            continue
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(figures["outcomes"].items()))
        slowest = figures["slowest_steps"][0] if figures["slowest_steps"] else None
        print(f"{backend}: {figures['steps']} steps, {figures['steps_per_s_wall']} steps/s wall "
              f"({figures['steps_per_s_step_time']} steps/s of step time); {outcomes}; "
              f"failures {figures['failures']}, prover errors {figures['prover_errors']}, "
              f"findings {figures['finding_count']}")
        print(f"  step time p50 {figures['step_seconds']['p50'] * 1000:.2f} ms, "
              f"p90 {figures['step_seconds']['p90'] * 1000:.2f} ms, "
              f"p99 {figures['step_seconds']['p99'] * 1000:.2f} ms, "
              f"max {figures['step_seconds']['max']:.3f} s")
        if slowest:
            print(f"  slowest step: {slowest['seconds']:.3f} s (GC {slowest['gc_seconds']:.3f} s), "
                  f"{slowest['theorem']}, "
                  f"{slowest['kind']} {slowest['action']!r} -> {slowest['outcome']}")
        print(f"  GC: longest pause {figures['gc']['longest_pause_s']} s, seconds per "
              f"generation {figures['gc']['seconds']}, collections {figures['gc']['collections']}; "
              f"{figures['gc']['tracked_objects']:,} objects tracked, "
              f"{figures['gc']['frozen_objects']:,} frozen")
        if figures["policy_calls"]:
            print(f"  policy: {figures['policy_calls']} calls, {figures['policy_seconds_total']} s, "
                  f"slowest {figures['slowest_policy_call']['seconds']} s")
        if backend == "coq":
            print(f"  restarts {figures['restarts']}, kills {len(figures['kills'])} "
                  f"(recovered: {[k.get('recovered') for k in figures['kills']]}), "
                  f"lemmas opened {figures['lemmas_opened']}")
            for row in figures["files"]:
                print(f"  coqidetop {Path(row['file']).name}: RSS start {row['rss_mib_start']} MiB, "
                      f"end {row['rss_mib_end']} MiB, max {row['rss_mib_max']} MiB; "
                      f"restarts {row.get('restarts')}, open {row['open_seconds']} s; every 250 "
                      f"steps: {[rss for _, rss in row['rss_mib_series']]}")
            for row in figures["coqidetop_growth_steps"][:10]:
                print(f"  coqidetop grew {row['mib']} MiB (to {row['rss_mib']}) after "
                      f"{row['kind']} {row['action']!r} in {row['file']}:{row['theorem']}")
        for kind, count in figures["failure_kinds"].items():
            print(f"  failures: {count} x {kind}")
        for failure in figures["failure_details"][:2]:
            print(f"  FAILURE {failure['where']} {failure['theorem']} {failure['action']!r}: "
                  f"{failure['error']}\n{failure['traceback']}")
        for finding in figures["findings"][:10]:
            print(f"  finding: {finding}")
    left = report["leftovers"]
    print(f"orphans after close: {len(left['orphans'])} {left['orphans'] or ''}")
    if left["other_new_coqidetop"]:
        print(f"  (coqidetop processes of other jobs that appeared meanwhile: "
              f"{left['other_new_coqidetop']})")
    print(f"wall time {report['wall_seconds']} s; {'OK' if report['ok'] else 'NOT OK'}")


if __name__ == "__main__":
    sys.exit(main())
