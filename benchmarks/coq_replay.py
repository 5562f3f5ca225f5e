"""Replay against coqc on the same files, side by side (the anchor is measured in this run).

    python3 benchmarks/coq_replay.py                 # PeanoNat, List, seq, fintype
    python3 benchmarks/coq_replay.py --corpus        # + the stdlib dirs and mathcomp ssreflect
    python3 benchmarks/coq_replay.py --printing-all  # also time the second printing

Each file is compiled by ``coqc`` into a temporary directory (so the installed .vo files are
untouched), then replayed by ``provergym.coq.replay`` (Add + Goal after every sentence).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provergym.coq.replay import replay_file  # noqa: E402

STDLIB = Path("/usr/lib/ocaml/coq/theories")
MATHCOMP = Path("/usr/lib/ocaml/coq/user-contrib/mathcomp/ssreflect")
DEFAULT = [STDLIB / "Arith/PeanoNat.v", STDLIB / "Lists/List.v", MATHCOMP / "seq.v",
           MATHCOMP / "fintype.v"]
CORPUS_DIRS = [STDLIB / d for d in ("Arith", "Bool", "Lists", "Logic", "Relations", "Sorting",
                                    "Structures", "ZArith", "NArith")] + [MATHCOMP]


def load_paths(path: Path) -> list[str]:
    """mathcomp files that ``Require`` siblings by short name (all_ssreflect.v) need their
    library bound as it was when mathcomp was built."""
    return ["-R", str(MATHCOMP), "mathcomp.ssreflect"] if MATHCOMP in path.parents else []


def coqc_seconds(path: Path, out_dir: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["coqc", "-q", *load_paths(path), str(path), "-o",
                    str(out_dir / (path.stem + ".vo"))],
                   check=True, capture_output=True, timeout=1200)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--corpus", action="store_true",
                        help="replay every file of the issue's stdlib dirs and mathcomp")
    parser.add_argument("--printing-all", action="store_true")
    parser.add_argument("--no-coqc", action="store_true", help="skip the anchor (corpus runs)")
    args = parser.parse_args()
    files = args.files or DEFAULT
    if args.corpus:
        files = sorted(f for d in CORPUS_DIRS for f in d.rglob("*.v"))
    rows, failures = [], []
    totals = {"sentences": 0, "lemmas": 0, "states": 0, "goals_parsed": 0, "goals_failed": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for path in tqdm(files, unit="file", disable=len(files) < 5):
            anchor = None if args.no_coqc else coqc_seconds(path, Path(tmp))
            result = replay_file(path, load_paths(path), printing_all=args.printing_all,
                                 progress=False)
            if result.error:
                failures.append(result.error)
            totals["sentences"] += result.sentences
            totals["lemmas"] += result.lemmas
            totals["states"] += len(result.records)
            totals["goals_parsed"] += result.ast_parsed
            totals["goals_failed"] += result.ast_failed
            rows.append((path, result.seconds, anchor))
            if len(files) < 5:
                ratio = f"{result.seconds / anchor:5.2f}x" if anchor else "  -  "
                print(f"{path.name:22} replay {result.seconds:7.2f} s  coqc "
                      f"{anchor if anchor else float('nan'):7.2f} s  {ratio}  "
                      f"({result.sentences} sentences, {len(result.records)} states)")
    replay_total = sum(r[1] for r in rows)
    print(f"files {len(rows)}, sentences {totals['sentences']}, lemmas {totals['lemmas']}, "
          f"tactic states {totals['states']}, failed files {len(failures)}")
    if not args.no_coqc:
        coqc_total = sum(r[2] for r in rows)
        ratios = [r[1] / r[2] for r in rows]
        print(f"replay {replay_total:.1f} s, coqc {coqc_total:.1f} s: total ratio "
              f"{replay_total / coqc_total:.2f}x, median per file {statistics.median(ratios):.2f}x")
    else:
        print(f"replay {replay_total:.1f} s")
    if args.printing_all:
        parsed, failed = totals["goals_parsed"], totals["goals_failed"]
        print(f"Printing All goals parsed: {parsed} of {parsed + failed} "
              f"({100 * parsed / max(1, parsed + failed):.3f}%)")
    for failure in failures:
        print("FAILED", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
