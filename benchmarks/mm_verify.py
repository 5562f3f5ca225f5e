"""Verify all of set.mm with our kernel and with metamath-exe, side by side.

Usage: python3 benchmarks/mm_verify.py [--database PATH] [--jobs 2] [--repeat 3]
                                        [--baseline GIT_REV]

``--baseline`` also runs the kernel of an earlier commit (extracted with ``git archive``)
in the same rounds, so a change is measured side by side with what it replaces.

Each repetition runs both, alternating which goes first, so both see the same machine
load; the figures are wall times of whole processes (start-up and exit included), with
min and median over the repetitions, and their ratio (target: ours <= 1.0x metamath's).
Peak memory is sampled over our process tree (RSS summed over the parent and its workers,
an upper bound since forked workers share pages), and the largest single RSS from the
kernel's accounting. Parse and verify times come from our summary line (with 2 jobs our
checking starts during the parse, and "verify" is the time after the parse ends).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil

from provergym.paths import SET_MM

SUMMARY = re.compile(r"verified (\d+) proofs, (\d+) errors.* in ([\d.]+) s \(parse ([\d.]+) s, "
                     r"verify ([\d.]+) s")


def run_sampled(command: list[str], cwd: str | None = None) -> tuple[float, int, str, int]:
    """Run ``command``; return (wall seconds, peak summed RSS of its tree in bytes, stdout,
    exit code)."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = process.communicate(timeout=600)
    finally:
        done.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
    wall = time.perf_counter() - start
    return wall, peak, out + err, process.returncode


def metamath_errors(output: str) -> int:
    # metamath-exe prints "All proofs ... verified" even after a $d error: count ?Error lines.
    return sum(1 for line in output.splitlines() if line.startswith("?Error"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=SET_MM)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="GIT_REV",
                        help="also run this commit's kernel, in the same rounds")
    args = parser.parse_args()
    metamath = shutil.which("metamath")
    if metamath is None:
        print("metamath (metamath-exe) is not installed: apt-get install metamath",
              file=sys.stderr)
        return 2
    database = os.path.abspath(args.database)
    # metamath-exe reads '/' as the start of a command qualifier: run it in the folder.
    exe = [metamath, f"read {os.path.basename(database)}", "verify proof *", "exit"]
    ours = [sys.executable, "-m", "provergym.cli", "mm", "verify", database,
            "--jobs", str(args.jobs)]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    walls: dict[str, list[float]] = {"metamath-exe": [], "provergym": []}
    with tempfile.TemporaryDirectory() as baseline_dir:
        if args.baseline:
            archive = subprocess.run(["git", "-C", repo, "archive", args.baseline, "provergym",
                                      "corpora", "agents"], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", baseline_dir], input=archive.stdout, check=True)
            walls[f"baseline {args.baseline}"] = []
        code = _rounds(args, exe, ours, database, repo, baseline_dir, walls)
    return code


def _rounds(args: argparse.Namespace, exe: list[str], ours: list[str], database: str,
            repo: str, baseline_dir: str, walls: dict[str, list[float]]) -> int:
    parse_times, verify_times, peaks = [], [], []
    for rep in range(args.repeat):
        order = list(walls) if rep % 2 == 0 else list(reversed(walls))
        for name in order:
            if name.startswith("baseline"):
                wall, _, output, code = run_sampled(ours, cwd=baseline_dir)
                if code != 0 or SUMMARY.search(output) is None:
                    print(output[-2000:], file=sys.stderr)
                    return 1
                print(f"  {name}  {wall:6.2f} s", flush=True)
            elif name == "metamath-exe":
                wall, _, output, code = run_sampled(exe, cwd=os.path.dirname(database))
                errors = metamath_errors(output)
                print(f"  metamath-exe  {wall:6.2f} s  ({errors} ?Error lines)", flush=True)
            else:
                wall, peak, output, code = run_sampled(ours, cwd=repo)
                match = SUMMARY.search(output)
                if code != 0 or match is None:
                    print(output[-2000:], file=sys.stderr)
                    print(f"provergym mm verify failed (exit {code})", file=sys.stderr)
                    return 1
                parse_times.append(float(match.group(4)))
                verify_times.append(float(match.group(5)))
                peaks.append(peak)
                print(f"  provergym     {wall:6.2f} s  (parse {match.group(4)} s, verify "
                      f"{match.group(5)} s, {match.group(1)} proofs, peak "
                      f"{peak / 2**20:.0f} MiB)", flush=True)
            walls[name].append(wall)
    print()
    print(f"{'':14} {'min':>7} {'median':>7}")
    for name, values in walls.items():
        print(f"{name:14} {min(values):6.2f}s {statistics.median(values):6.2f}s")
    for name, values in walls.items():
        if name.startswith("baseline"):
            ratios = [o / b for o, b in zip(walls["provergym"], values)]
            print(f"ratio provergym / {name}: {min(walls['provergym']) / min(values):.2f}x "
                  f"(min/min), {statistics.median(ratios):.2f}x (median of per-run ratios)")
    print(f"{'parse':14} {min(parse_times):6.2f}s {statistics.median(parse_times):6.2f}s")
    print(f"{'verify':14} {min(verify_times):6.2f}s {statistics.median(verify_times):6.2f}s")
    ratio_min = min(walls["provergym"]) / min(walls["metamath-exe"])
    ratios = [o / m for o, m in zip(walls["provergym"], walls["metamath-exe"])]
    print(f"ratio provergym / metamath-exe: {ratio_min:.2f}x (min/min), "
          f"{statistics.median(ratios):.2f}x (median of per-run ratios)")
    print(f"peak memory (RSS summed over our process tree): {max(peaks) / 2**20:.0f} MiB")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
