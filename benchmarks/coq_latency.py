"""Per-step latency of the Coq environment against raw coqidetop (anchor in the same run).

    python3 benchmarks/coq_latency.py [--steps 300]

raw:     a bare client writing Add + Goal and reading up to ``</value>`` (no parsing beyond).
session: ``CoqSession.run`` (XML parsed, goals decoded).
env:     ``CoqFile.step`` (tactic filter, Coq ``Timeout`` prefix, structured goals).
branch:  ``CoqFile.step`` from an older state each time (Edit_at + Add + Goal).
printing all: the extra ``SetOptions`` + ``Goal`` + ``SetOptions`` for the second printing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provergym.api import Progress  # noqa: E402
from provergym.coq import protocol as P  # noqa: E402
from provergym.coq.env import CoqFile  # noqa: E402
from provergym.coq.session import BASE_ARGS, COQIDETOP, CoqSession  # noqa: E402

LEMMA = "Lemma bench (n m : nat) (H : n = m) : m + 0 = n /\\ True.\n"
TACTIC = "idtac."


def stats(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    print(f"{name:14} median {statistics.median(ms):6.2f} ms   p90 {p90:6.2f} ms   (n={len(ms)})")


def raw_coqidetop(steps: int) -> list[float]:
    process = subprocess.Popen([COQIDETOP, *BASE_ARGS], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, start_new_session=True)

    def call(xml: str) -> bytes:
        process.stdin.write(xml.encode())
        process.stdin.flush()
        data = b""
        while not data.endswith(b"</value>") and b'<value val="good"><state_id' not in data:
            data += os.read(process.stdout.fileno(), 1 << 16)
            if b"</value>" in data:
                break
        return data

    import re
    init = call(P.init_call())
    state = int(re.search(rb'state_id val="(\d+)"', init).group(1))
    reply = call(P.add_call(LEMMA.strip(), state))
    state = int(re.search(rb'state_id val="(\d+)"', reply).group(1))
    call(P.goal_call())
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        reply = call(P.add_call(TACTIC, state))
        state = int(re.search(rb'state_id val="(\d+)"', reply).group(1))
        call(P.goal_call())
        times.append(time.perf_counter() - start)
    call(P.quit_call())
    process.wait(timeout=10)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    stats("raw coqidetop", raw_coqidetop(args.steps))

    with CoqSession() as session:
        node = session.run(CoqSession.ROOT, LEMMA.strip()).node
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            node = session.run(node, TACTIC).node
            times.append(time.perf_counter() - start)
        stats("session", times)
        times = []
        for _ in range(min(args.steps, 100)):
            start = time.perf_counter()
            session.goals(node, printing_all=True)
            times.append(time.perf_counter() - start)
        stats("+printing all", times)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Bench.v"
        path.write_text(LEMMA + "Proof.\n  split; [subst; apply eq_sym, plus_n_O | exact I].\nQed.\n",
                        encoding="utf-8")
        with CoqFile(path) as env:
            state = env.open("bench")
            times = []
            for _ in range(args.steps):
                start = time.perf_counter()
                result = env.step(state, TACTIC)
                times.append(time.perf_counter() - start)
                assert isinstance(result, Progress)
                state = result.state
            stats("env step", times)
            root = env.open("bench")
            chain = [root]
            for tactic in ["subst n.", "split."]:
                chain.append(env.step(chain[-1], tactic).state)
            times = []
            for index in range(args.steps):
                start = time.perf_counter()
                env.step(chain[index % len(chain)], "simpl.")
                times.append(time.perf_counter() - start)
            stats("env branch", times)
    stats("raw (again)", raw_coqidetop(args.steps))  # the machine may be shared: show drift
    return 0


if __name__ == "__main__":
    sys.exit(main())
