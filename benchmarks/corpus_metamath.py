"""Time a fresh build of the set.mm proof-step corpus (issue 4's target: <= 5 min on 2 cores).

    python3 benchmarks/corpus_metamath.py [--db FILE] [--jobs 2] [--limit N] [--keep DIR]

Prints the records and theorems per split, the phases' times and the anchor from
PROVER-FACTS (1,100,365 |- steps executed by a full replay; 1,081,331 distinct
(theorem, |- expression) pairs). The build goes to a temporary folder unless --keep.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpora import metamath as mmcorpus  # noqa: E402
from corpora.common import SPLITS, read_build_info  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=mmcorpus.SET_MM)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--keep", help="build into this folder and keep it")
    args = parser.parse_args()
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="corpus-mm-")) / "mm"
    if args.keep and out.exists():
        shutil.rmtree(out)  # a benchmark measures a fresh build, never a resumed one
    start = time.perf_counter()
    mmcorpus.build_corpus(args.db, out, jobs=args.jobs, limit=args.limit, progress=True)
    seconds = time.perf_counter() - start
    # CPU time too: on a shared 2-core machine the wall time mostly measures the neighbours.
    cpu = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))
    info = read_build_info(out)
    records = sum(info["splits"].values())
    print(f"database: {args.db} (jobs {args.jobs}, cpus {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f})")
    for split in SPLITS:
        print(f"  {split:<5} {info['splits'][split]:>10,} records {info['keys'][split]:>7,} theorems")
    print(f"  total {records:>10,} records; counts {info['counts']}; "
          f"{len(info['failures'])} failures")
    print(f"  wall time {seconds:.1f} s ({records / seconds:,.0f} records/s); "
          f"target <= 300 s on 2 cores")
    print(f"  CPU time {cpu:.1f} s (user+sys, workers included): ideal 2-core wall "
          f"~{cpu / args.jobs:.0f} s + serial parts")
    print("  anchor (PROVER-FACTS): 1,081,331 distinct (theorem, |- expression) pairs")
    if not args.keep:
        shutil.rmtree(out.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
