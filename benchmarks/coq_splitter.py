"""Check the sentence splitter against ``coqc -time``, the exact oracle.

``coqc -time`` prints ``Chars A - B`` (UTF-8 byte offsets) for every sentence it runs. We
compile a copy of each file in a scratch folder (the installed ``.vo`` files supply its
dependencies), map the byte ranges to characters and compare with ``split_sentences``.

    python3 benchmarks/coq_splitter.py                # a spread of stdlib and mathcomp files
    python3 benchmarks/coq_splitter.py FILE.v ...     # your own files

It prints, per file, the sentences compared, the mismatches, coqc's time and the
splitter's time, and exits non-zero on any mismatch or compile failure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provergym.coq.sentences import byte_offsets_to_chars, split_sentences  # noqa: E402

COQ_LIB = Path("/usr/lib/ocaml/coq")
STDLIB = COQ_LIB / "theories"
MATHCOMP = COQ_LIB / "user-contrib" / "mathcomp" / "ssreflect"

# A spread: arithmetic, lists, logic, structures, notations with "..", ssreflect tactics,
# selectors and bullets. Relative to the stdlib or mathcomp folder.
DEFAULT_FILES = [
    STDLIB / "Arith" / "PeanoNat.v",
    STDLIB / "Lists" / "List.v",
    STDLIB / "Bool" / "Bool.v",
    STDLIB / "Logic" / "ClassicalFacts.v",
    STDLIB / "Relations" / "Operators_Properties.v",
    STDLIB / "Sorting" / "Permutation.v",
    STDLIB / "Structures" / "Orders.v",
    STDLIB / "ZArith" / "Zeuclid.v",
    STDLIB / "NArith" / "BinNat.v",
    STDLIB / "Program" / "Wf.v",
    MATHCOMP / "ssrnat.v",
    MATHCOMP / "seq.v",
    MATHCOMP / "path.v",
    MATHCOMP / "fintype.v",
    MATHCOMP / "bigop.v",
]

_CHARS = re.compile(r"Chars (\d+) - (\d+) \[")


@dataclass(frozen=True)
class FileReport:
    path: Path
    oracle: list[tuple[int, int]]
    ours: list[tuple[int, int]]
    coqc_seconds: float
    split_seconds: float
    error: str = ""

    @property
    def mismatches(self) -> list[int]:
        """Indices where the two lists differ (length differences count as mismatches)."""
        count = max(len(self.oracle), len(self.ours))
        return [i for i in range(count)
                if i >= len(self.oracle) or i >= len(self.ours) or self.oracle[i] != self.ours[i]]


def coqc_ranges(path: Path, timeout: float = 300.0) -> tuple[list[tuple[int, int]], float, str]:
    """Compile a copy of ``path`` with ``coqc -time``; its sentence ranges in characters."""
    text = path.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="provergym-split-") as scratch:
        copy = Path(scratch) / path.name
        shutil.copyfile(path, copy)
        arguments = ["coqc", "-q", "-time"]
        if "theories/Init/" in str(path):
            arguments.append("-noinit")
        begin = time.perf_counter()
        # Its own process group, so a timeout kills coqc and anything it started.
        process = subprocess.Popen([*arguments, copy.name], cwd=scratch, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return [], time.perf_counter() - begin, f"coqc timed out after {timeout:.0f} s"
        seconds = time.perf_counter() - begin
    to_char = byte_offsets_to_chars(text)
    ranges = [(to_char[int(m.group(1))], to_char[int(m.group(2))])
              for m in _CHARS.finditer(stdout)]
    error = "" if process.returncode == 0 else (stderr.strip() or f"exit {process.returncode}")
    return ranges, seconds, error


def check_file(path: Path) -> FileReport:
    oracle, coqc_seconds, error = coqc_ranges(path)
    text = path.read_text(encoding="utf-8")
    begin = time.perf_counter()
    sentences = split_sentences(text)
    split_seconds = time.perf_counter() - begin
    ours = [(s.start, s.end) for s in sentences]
    if error:  # coqc stopped early: compare only what it reached
        ours = ours[: len(oracle)]
    return FileReport(path, oracle, ours, coqc_seconds, split_seconds, error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    files = args.files or [f for f in DEFAULT_FILES if f.exists()]
    failed = 0
    total_sentences = total_chars = 0
    total_coqc = total_split = 0.0
    print(f"{'file':<28} {'sentences':>9} {'mismatch':>8} {'coqc s':>7} {'split ms':>8}")
    for path in files:
        report = check_file(path)
        text = path.read_text(encoding="utf-8")
        mismatches = report.mismatches
        total_sentences += len(report.oracle)
        total_chars += len(text)
        total_coqc += report.coqc_seconds
        total_split += report.split_seconds
        print(f"{path.name:<28} {len(report.oracle):>9} {len(mismatches):>8} "
              f"{report.coqc_seconds:>7.2f} {report.split_seconds * 1e3:>8.1f}")
        if report.error:
            failed += 1
            print(f"  coqc failed: {report.error.splitlines()[-1][:200]}")
        if mismatches:
            failed += 1
            first = mismatches[0]
            for label, ranges in (("coqc", report.oracle), ("ours", report.ours)):
                if first < len(ranges):
                    start, end = ranges[first]
                    print(f"  first mismatch #{first} {label}: {start}-{end} {text[start:end]!r:.120}")
                else:
                    print(f"  first mismatch #{first} {label}: (none)")
    print(f"total: {total_sentences} sentences in {len(files)} files; coqc {total_coqc:.1f} s; "
          f"splitter {total_split * 1e3:.0f} ms ({total_chars / max(total_split, 1e-9) / 1e6:.1f} "
          f"M chars/s); {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
