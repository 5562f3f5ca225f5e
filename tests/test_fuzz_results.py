"""Property tests of the ``results.jsonl`` readers (provergym.bench.runner): on random JSON
values and random bytes as lines, reading returns result records or raises a UserError
naming the file, never another exception; a file of results reads back as written."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from provergym.bench.runner import RESULTS, _end_last_line, read_results, read_results_file
from provergym.errors import UserError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
statuses = st.sampled_from(["proved", "exhausted", "error", "check_failed", ""])
# Result lines, and lines that are almost results (a key missing or of another type).
records = st.fixed_dictionaries(
    {"method": st.text(max_size=10), "theorem": st.text(max_size=10),
     "result": st.fixed_dictionaries(
         {"status": statuses,
          "stats": st.fixed_dictionaries({"expansions": st.integers(0, 10**6),
                                          "seconds": st.floats(0, 1e6)},
                                         optional={"nodes": json_values})},
         optional={"proof": st.none() | st.text(max_size=20)})},
    optional={"peak_rss_mb": st.floats(0, 1e4), "extra": json_values})
near_records = records.flatmap(
    lambda record: st.sampled_from(sorted(record)).flatmap(lambda key: st.one_of(
        json_values.map(lambda value: {**record, key: value}),  # another value
        st.just({k: v for k, v in record.items() if k != key}))))  # no such key


def as_line(value) -> bytes:
    return json.dumps(value).encode()


lines = st.one_of(
    records.map(as_line), near_records.map(as_line), json_values.map(as_line),
    st.binary(max_size=40),  # anything, including bytes that are not UTF-8
    records.map(as_line).flatmap(lambda line: st.integers(0, len(line)).map(
        lambda cut: line[:cut])),  # a line cut off by a kill
    st.sampled_from([b"", b" ", b"\r", b"{", b"[", b"\xef\xbb\xbf{}", b"NaN", b"1e999",
                     b'"\\ud800"', b"\xff\xfe", b"\x00"]))
files = st.tuples(st.lists(lines, max_size=6), st.booleans()).map(
    lambda parts: b"\n".join(parts[0]) + (b"\n" if parts[1] and parts[0] else b""))


def is_result(line) -> bool:
    """What a result line is (the reader's contract, restated)."""
    return (isinstance(line, dict) and isinstance(line.get("method"), str)
            and isinstance(line.get("theorem"), str) and isinstance(line.get("result"), dict)
            and isinstance(line["result"].get("status"), str)
            and isinstance(line["result"].get("proof"), (str, type(None)))
            and isinstance(line["result"].get("stats"), dict)
            and all(isinstance(line["result"]["stats"].get(key), (int, float))
                    and not isinstance(line["result"]["stats"].get(key), bool)
                    for key in ("expansions", "seconds")))


def read_or_user_error(data: bytes) -> list | None:
    """Both readers on a results file holding ``data``: the records they agree on, or None
    after checking that both raised a UserError naming the file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / RESULTS
        path.write_bytes(data)
        try:
            found = read_results_file(path)
        except UserError as error:
            assert str(path) in str(error), error
            event("UserError")
            with pytest.raises(UserError, match=re.escape(str(path))):
                read_results(directory)
            return None
        assert read_results(directory) == found
    event("records")
    assert isinstance(found, list) and all(is_result(line) for line in found), found
    return found


@given(files)
@example(b'{"method": "m", "theorem": "t", "result": {"status": "proved", "stats": '
         b'{"expansions": 1, "seconds": 0.1}}}\n{"meth')
@example(b"\xff\n")
@example(b"[]\n")
def test_reading_gives_records_or_a_user_error_naming_the_file(data: bytes) -> None:
    found = read_or_user_error(data)
    if found is not None:
        # Every complete line (ended by a newline) that is not blank is a record; the last
        # line, without a newline, is one or is skipped.
        complete = [row for row in data.split(b"\n")[:-1] if row.decode().strip()]
        assert len(complete) <= len(found) <= len(complete) + 1


@given(st.lists(records, max_size=6), st.binary(max_size=30))
@example([], b'{"cut')
def test_results_read_back_as_written_and_a_cut_last_line_is_skipped(
        written: list, tail: bytes) -> None:
    data = b"".join(as_line(record) + b"\n" for record in written)
    assert read_or_user_error(data) == written
    # What a kill leaves: a last line without its newline. A cut result is skipped (with
    # a warning); anything else is a complete line or an error.
    found = read_or_user_error(data + b"{" + tail.replace(b"\n", b" "))
    assert found is None or found[:len(written)] == written


@given(files)
@example(b'{"method": "m", "theorem": "t", "result": {"status": "proved", "stats": '
         b'{"expansions": 1, "seconds": 0.1}}}\n{"cut')
def test_ending_the_last_line_keeps_every_complete_line(data: bytes) -> None:
    """What run_bench does before appending to a results file: a cut last line goes, a
    complete one gets its newline; the lines before it stay as they were."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / RESULTS
        path.write_bytes(data)
        _end_last_line(path)
        after = path.read_bytes()
    before = data[:data.rfind(b"\n") + 1]
    assert after == b"" or after.endswith(b"\n")
    assert after.startswith(before)
    assert after in (before, data + b"\n", data)


# -- found by the properties: json.loads raises more than JSONDecodeError (fixed) ----------
@pytest.mark.parametrize("line", [b"1" * 5000, b'{"method": ' + b"1" * 5000 + b"}",
                                  b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000])
def test_pathological_json_line_is_a_user_error(tmp_path: Path, line: bytes) -> None:
    path = tmp_path / RESULTS
    path.write_bytes(line + b"\n")
    with pytest.raises(UserError, match=re.escape(str(path))):
        read_results_file(path)


def test_deeply_nested_cut_line_is_ended_without_a_crash(tmp_path: Path) -> None:
    path = tmp_path / RESULTS
    path.write_bytes(b"{}\n" + b"[" * 100_000)
    _end_last_line(path)
    assert path.read_bytes() == b"{}\n"
