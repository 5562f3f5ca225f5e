"""How many ``Set Printing All`` goals the term grammar parses (target: at least 99.9%).

It replays .v files through coqidetop (a small driver of its own: Add and Goal after each
sentence, with ``Set Printing All`` and a huge ``Printing Width`` and ``Printing Depth``), collects every
hypothesis and conclusion of every goal, parses them with ``provergym.coq.terms`` and
prints the count parsed out of the total, the speed, and every failure (none is dropped).

    python3 benchmarks/coq_ast_coverage.py                       # a spread of files
    python3 benchmarks/coq_ast_coverage.py FILE.v ... [-j 2]
    python3 benchmarks/coq_ast_coverage.py --dump harvest.json   # also save the strings
    python3 benchmarks/coq_ast_coverage.py --load harvest.json   # parse saved strings only
    python3 benchmarks/coq_ast_coverage.py --fixture tests/coq/fixtures/terms_goals.txt

The goals of a replay can be checked with ``--replay-jsonl`` (the JSONL written by
``provergym coq replay`` with Printing All goals), and saved strings with ``--load``: a JSON
list of ``{"file": ..., "kind": "hyp"|"goal"|"term", "text": ...}`` objects, or of strings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provergym.coq.sentences import split_sentences  # noqa: E402

COQ_LIB = Path("/usr/lib/ocaml/coq")
STDLIB = COQ_LIB / "theories"
MATHCOMP = COQ_LIB / "user-contrib" / "mathcomp" / "ssreflect"
DEFAULT_FILES = [
    STDLIB / "Arith" / "PeanoNat.v",
    STDLIB / "Lists" / "List.v",
    STDLIB / "Sorting" / "Permutation.v",
    STDLIB / "ZArith" / "Zdiv.v",
    STDLIB / "Logic" / "ChoiceFacts.v",
    MATHCOMP / "seq.v",
    MATHCOMP / "fintype.v",
    MATHCOMP / "bigop.v",
    MATHCOMP / "finset.v",
]
# Printing Depth: past it (50 by default) Coq elides subterms as "...".
PREAMBLE = ["Set Printing All.", "Set Printing Width 100000.", "Set Printing Depth 1000000."]
READ_TIMEOUT = 60.0  # seconds for one answer; a sentence of the library never takes this long


class IdeTop:
    """A throwaway coqidetop driver for harvesting: Add, Goal, every read with a deadline."""

    def __init__(self, coq_args: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            ["coqidetop.opt", "-main-channel", "stdfds", "-async-proofs", "off", *coq_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True)  # its own group, so close() takes any children too
        self.buffer = b""
        answer = self.call('<call val="Init"><option val="none"/></call>')
        self.state_id = int(answer.find("state_id").get("val"))

    def call(self, xml: str) -> ElementTree.Element:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(xml.encode("utf-8"))
        self.process.stdin.flush()
        deadline = time.monotonic() + READ_TIMEOUT
        while b"</value>" not in self.buffer and b'<value val="good"/>' not in self.buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError("coqidetop did not answer in time")
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
            if not chunk:
                raise RuntimeError("coqidetop exited")
            self.buffer += chunk
        # Feedback messages come first; the answer is the one <value> element.
        start = self.buffer.index(b"<value")
        end_tag = self.buffer.find(b"</value>", start)
        end = end_tag + len(b"</value>") if end_tag >= 0 else self.buffer.index(b"/>", start) + 2
        raw, self.buffer = self.buffer[start:end], self.buffer[end:]
        return ElementTree.fromstring(raw.replace(b"&nbsp;", b"&#160;"))

    def add(self, sentence: str) -> None:
        answer = self.call(
            '<call val="Add"><pair><pair><pair><pair>'
            f"<string>{escape(sentence)}</string><int>-1</int></pair>"
            f'<pair><state_id val="{self.state_id}"/><bool val="true"/></pair></pair>'
            "<int>0</int></pair><pair><int>0</int><int>0</int></pair></pair></call>")
        if answer.get("val") != "good":
            raise RuntimeError(f"Add failed: {''.join(answer.itertext())[:300]}")
        self.state_id = int(answer.find("pair/state_id").get("val"))

    def goals(self) -> list[tuple[list[str], str]]:
        """The focused goals: (hypothesis strings, conclusion) each; runs pending sentences."""
        answer = self.call('<call val="Goal"><unit/></call>')
        if answer.get("val") != "good":
            raise RuntimeError(f"Goal failed: {''.join(answer.itertext())[:300]}")
        found = []
        for goal in answer.findall("option/goals/list[1]/goal"):
            hypotheses = ["".join(h.itertext()) for h in goal.findall("list/richpp")]
            conclusion = "".join(goal.find("richpp").itertext())
            found.append((hypotheses, conclusion))
        return found

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def harvest(path: Path, coq_args: tuple[str, ...] = ()) -> tuple[list[dict[str, str]], str]:
    """Every hypothesis and conclusion printed while replaying ``path`` (with the load
    paths of its _CoqProject, if any, and ``coq_args``), and an error message if the replay
    stopped early."""
    from provergym.coq.env import find_coq_args

    records: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    project_args, _ = find_coq_args(Path(path).resolve())
    top = IdeTop((*project_args, *coq_args))
    error = ""
    try:
        for sentence in PREAMBLE:
            top.add(sentence)
        for sentence in split_sentences(path.read_text(encoding="utf-8")):
            top.add(sentence.text)
            for hypotheses, conclusion in top.goals():
                for kind, text in [*(("hyp", h) for h in hypotheses), ("goal", conclusion)]:
                    if (kind, text) not in seen:  # goals repeat a lot from step to step
                        seen.add((kind, text))
                        records.append({"file": path.name, "kind": kind, "text": text})
    except (RuntimeError, TimeoutError) as failure:
        error = f"{path.name}: {failure}"
    finally:
        top.close()
    return records, error


def read_replay_jsonl(path: Path) -> list[dict[str, str]]:
    """The distinct Printing All strings of a replay JSONL (one tactic record a line, with
    ``printing_all`` goals whose hypotheses are already split into name, type and body)."""
    records: list[dict[str, str]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            tactic = json.loads(line)
            for goal in tactic["goals_before"] + tactic["goals_after"]:
                printed = goal.get("printing_all")
                if printed is None:
                    continue
                texts = [printed["conclusion"]]
                for hypothesis in printed["hypotheses"]:
                    texts += [hypothesis["type"]] + [hypothesis["body"]] * bool(hypothesis["body"])
                for text in texts:
                    if text not in seen:
                        seen.add(text)
                        records.append({"file": tactic["file"], "kind": "term", "text": text})
    return records


RARE_CONSTRUCTS = ("fix ", "cofix ", "let ", " in ", " as ", "?", ":=", "struct", "%", "<:")


def sample_fixture(records: list[dict[str, str]], size: int) -> list[dict[str, str]]:
    """A deterministic sample that over-represents rare constructs (a quarter of it) and
    keeps the shortest texts out of the way of the size budget."""
    chooser = random.Random(0)
    short = [r for r in records if len(r["text"]) <= 2000]
    rare = [r for r in short if any(c in r["text"].replace("\xa0", " ")
                                    for c in RARE_CONSTRUCTS)]
    picked = chooser.sample(rare, min(size // 4, len(rare)))
    chosen = {id(r) for r in picked}
    rest = [r for r in short if id(r) not in chosen]
    picked += chooser.sample(rest, min(size - len(picked), len(rest)))
    return picked


def parse_all(records: list[dict[str, str]]) -> tuple[int, list[tuple[dict[str, str], str]], float]:
    from provergym.coq.terms import TermParseError, parse_hypothesis, parse_term

    failures = []
    begin = time.perf_counter()
    for record in records:
        try:
            if record["kind"] == "hyp":
                parse_hypothesis(record["text"])
            else:
                parse_term(record["text"])
        except TermParseError as failure:
            failures.append((record, str(failure)))
    return len(records) - len(failures), failures, time.perf_counter() - begin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=1, help="coqidetop processes")
    from provergym.coq.cli import add_load_paths

    add_load_paths(parser)  # -Q/-R/-I, as coqc takes them
    parser.add_argument("--dump", type=Path, help="save the harvested strings as JSON")
    parser.add_argument("--load", type=Path, help="parse strings saved earlier, no harvest")
    parser.add_argument("--replay-jsonl", type=Path,
                        help="parse the Printing All goals of `provergym coq replay` JSONL")
    parser.add_argument("--fixture", type=Path, help="write a sample of strings for tests")
    parser.add_argument("--fixture-size", type=int, default=400)
    args = parser.parse_args(argv)

    errors: list[str] = []
    if args.replay_jsonl:
        records = read_replay_jsonl(args.replay_jsonl)
    elif args.load:
        loaded = json.loads(args.load.read_text(encoding="utf-8"))
        records = [r if isinstance(r, dict) else {"file": "?", "kind": "goal", "text": r}
                   for r in loaded]
    else:
        files = args.files or [f for f in DEFAULT_FILES if f.exists()]
        from tqdm import tqdm

        records = []
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            from functools import partial

            from provergym.coq.cli import load_path_args

            work = partial(harvest, coq_args=tuple(load_path_args(args)))
            for found, error in tqdm(pool.map(work, files), total=len(files),
                                     desc="harvest", unit="file"):
                records.extend(found)
                if error:
                    errors.append(error)
    if args.dump:
        args.dump.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    if args.fixture:
        sample = sample_fixture(records, args.fixture_size)
        # One record per paragraph: "kind<TAB>file" then the text (newlines kept), then
        # a line with a lone form feed.
        args.fixture.write_text("".join(f"{r['kind']}\t{r['file']}\n{r['text']}\n\f\n"
                                        for r in sample), encoding="utf-8")

    parsed, failures, seconds = parse_all(records)
    total = len(records)
    chars = sum(len(r["text"]) for r in records)
    for record, message in failures:
        print(f"FAIL {record['file']} {record['kind']}: {message}\n  {record['text'][:300]!r}")
    for error in errors:
        print(f"replay stopped early: {error}")
    print(f"parsed {parsed} / {total} distinct strings ({100 * parsed / max(total, 1):.3f}%), "
          f"{len(failures)} failures; {total / max(seconds, 1e-9):.0f} terms/s, "
          f"{chars / max(seconds, 1e-9) / 1e3:.0f} k chars/s")
    return 0 if total and parsed / total >= 0.999 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
