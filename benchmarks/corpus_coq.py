"""Time a Coq corpus build over chosen files and print its counts (a throwaway folder, so the
real corpus under $PROVERGYM_HOME is untouched).

    python3 benchmarks/corpus_coq.py                     # the three-file --small set
    python3 benchmarks/corpus_coq.py --limit 10          # the first 10 default-build files
    python3 benchmarks/corpus_coq.py --libs stdlib --jobs 2
    python3 benchmarks/corpus_coq.py F.v G.v --coqc      # with coqc on the same files as anchor

The anchor (``--coqc``) compiles each file with ``coqc`` into a temporary directory in the
same run: the build replays every sentence with two Goal calls (default and Printing All),
so it costs a small multiple of compiling.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpora import coq as cc  # noqa: E402
from corpora.common import read_build_info  # noqa: E402


def coqc_seconds(path: Path, out_dir: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["coqc", "-q", *cc.load_paths(path), str(path), "-o",
                    str(out_dir / (path.stem + ".vo"))], check=True, capture_output=True,
                   timeout=1200)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--libs", default=None, help="e.g. stdlib,mathcomp (default: --small)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--coqc", action="store_true", help="time coqc on the same files")
    args = parser.parse_args()
    if args.files:
        files = args.files
    elif args.libs or args.limit:
        files = cc.library_files((args.libs or ",".join(cc.DEFAULT_LIBS)).split(","))
    else:
        files = list(cc.SMALL_FILES)
    if args.limit is not None:
        files = files[:args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        build_args = argparse.Namespace(files=files, small=False, libs="", limit=None,
                                        jobs=args.jobs, seed=cc.SPLIT_SEED,
                                        out=Path(tmp) / "coq", write_manifest=False)
        start = time.perf_counter()
        out = cc.build(build_args)
        seconds = time.perf_counter() - start
        info = read_build_info(out)
        anchor = None
        if args.coqc:
            anchor = sum(coqc_seconds(Path(f), Path(tmp)) for f in files)
    counts = info.get("counts", {})
    print(f"files {counts.get('files', 0)} (failed {counts.get('files_failed', 0)}), "
          f"lemmas {counts.get('lemmas', 0)}, states {counts.get('states', 0)}, "
          f"unparsed goal states {counts.get('sexp_failed', 0)}, "
          f"dropped unfinished {counts.get('states_dropped_unfinished', 0)}")
    print(f"build {seconds:.1f} s wall with {args.jobs} jobs "
          f"({counts.get('states', 0) / max(seconds, 1e-9):.1f} states/s); "
          f"replay {counts.get('seconds_replay', 0)} s summed over files")
    if anchor is not None:
        print(f"coqc on the same files, one at a time: {anchor:.1f} s")
    for name, reason in info.get("failures", []):
        print("FAILED", name, reason[:200])
    return 0


if __name__ == "__main__":
    sys.exit(main())
