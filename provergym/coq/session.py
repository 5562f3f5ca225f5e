"""One long-lived ``coqidetop`` process, seen as a tree of sentences.

Coq's document is a single chain of states, and Add is accepted only at its tip. The session
hides that: every sentence that ran becomes a *node* (an int that stays valid for the life
of the session), and ``run(parent, sentence)`` moves the document to ``parent`` first
(Edit_at back to the common prefix, then Add the missing sentences again). If the process
dies, it is restarted and the path to the wanted node is replayed, transparently; only a
second failure raises ``ProverCrash``.

Every read has a deadline. A sentence that overruns gets the ladder: SIGINT (coqidetop
answers "User interrupt." and stays usable), and if that is not answered either, the
process group is killed and the session restarts lazily.
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import threading
import time
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from provergym.api import InitError, ProverCrash, ProverError, ProverTimeout
from provergym.coq import protocol as P

COQIDETOP = "coqidetop.opt"
BASE_ARGS = ("-main-channel", "stdfds", "-async-proofs", "off")
WIDE = 1_000_000  # Printing Width for Printing All: one term per line, no wrapping
DEFAULT_WIDTH = 78


class SentenceFailed(ProverError):
    """A sentence of a batch (a file prefix) failed; ``node`` is the one that failed."""

    def __init__(self, node: int, message: str) -> None:
        super().__init__(message)
        self.node, self.message = node, message


class _Dead(Exception):
    """The process closed its output (crashed or was killed)."""


class _Deadline(Exception):
    """No answer before the deadline."""


@dataclass(frozen=True)
class Ran:
    """The sentence ran: its node and, if asked, the goals after it (None outside proofs)."""

    node: int
    goals: P.GoalsReply | None


@dataclass(frozen=True)
class Failed:
    """Coq refused the sentence (the document is back at the parent). ``timed_out`` says the
    ladder stopped it."""

    message: str
    loc: tuple[int, int] | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class _Node:
    parent: int | None
    sentence: str


def _kill_tree(pid: int) -> None:
    """Kill a process, its process group and every descendant; wait for them (no zombies)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        processes = []
    try:
        os.killpg(pid, signal.SIGKILL)  # the session leader's group: workers that forked
    except (ProcessLookupError, PermissionError):
        pass
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=5)


class _Reader(threading.Thread):
    """Turns coqidetop's stdout into a queue of top-level XML elements (or None at EOF)."""

    def __init__(self, stream, out: queue.Queue) -> None:
        super().__init__(daemon=True)
        self.stream, self.out = stream, out

    def run(self) -> None:
        parser = ET.XMLPullParser(events=("start", "end"))
        parser.feed(b"<root>")
        depth, pending = 0, b""
        root = ET.Element("root")
        try:
            while True:
                chunk = os.read(self.stream.fileno(), 1 << 16)
                if not chunk:
                    break
                data = pending + chunk
                # Keep a possibly cut entity (``&nbs``) for the next chunk.
                amp = data.rfind(b"&")
                if amp != -1 and data.find(b";", amp) == -1:
                    data, pending = data[:amp], data[amp:]
                else:
                    pending = b""
                parser.feed(P.fix_entities(data))
                for event, element in parser.read_events():
                    if event == "start":
                        if depth == 0:
                            root = element
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 1:  # a complete message directly under <root>
                            self.out.put(element)
                            root.remove(element)  # keep memory flat
        except (OSError, ET.ParseError) as error:
            self.out.put(error)
        self.out.put(None)


class CoqSession:
    """A coqidetop process driven as a tree of sentences. Use as a context manager."""

    ROOT = 0

    def __init__(self, coq_args: Sequence[str] = (), *, cwd: str | None = None,
                 reply_timeout: float = 600.0, grace: float = 2.0) -> None:
        self.coq_args = tuple(coq_args)
        self.cwd = cwd
        self.reply_timeout = reply_timeout  # for anything but a timed sentence
        self.grace = grace  # slack after a sentence's own timeout before SIGINT
        self.restarts = 0
        self.sentences_added = 0  # Add calls: lets tests see that nothing is replayed twice
        self._nodes: dict[int, _Node] = {self.ROOT: _Node(None, "")}
        self._children: dict[tuple[int, str], int] = {}
        self._chain: list[tuple[int, int]] = []  # (node, coq state id), root first
        self._process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None
        self._replies: queue.Queue = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=50)
        self.messages: list[P.Feedback] = []  # feedback of the last request
        self._start()

    # ------------------------------------------------------------------ process

    def _start(self) -> None:
        try:
            self._process = subprocess.Popen(
                [COQIDETOP, *BASE_ARGS, *self.coq_args], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.cwd,
                start_new_session=True)  # its own group, so hammer workers die with it
        except OSError as error:
            raise InitError(f"cannot start {COQIDETOP}: {error}") from error
        self._finalizer = weakref.finalize(self, _kill_tree, self._process.pid)
        self._replies = queue.Queue()
        _Reader(self._process.stdout, self._replies).start()
        threading.Thread(target=self._drain_stderr, args=(self._process.stderr,),
                         daemon=True).start()
        try:
            value = self._request(P.init_call(), 60.0)
        except (_Dead, _Deadline) as error:
            detail = " ".join(self._stderr).strip()
            self._stop()
            raise InitError(f"coqidetop did not start ({type(error).__name__}): {detail}") \
                from error
        if isinstance(value, P.Fail):
            self._stop()
            raise InitError(f"coqidetop Init failed: {value.message}")
        self._chain = [(self.ROOT, P.init_result_state(value))]

    def _drain_stderr(self, stream) -> None:
        for line in iter(stream.readline, b""):
            self._stderr.append(line.decode("utf-8", "replace"))

    def _stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills the tree once; later calls do nothing
        if self._process is not None:
            for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
                try:
                    stream.close()
                except OSError:
                    pass
            self._process.wait()
        self._process = None
        self._chain = []

    def restart(self) -> None:
        """Start a fresh process; nodes stay valid and are replayed on demand."""
        self._stop()
        self.restarts += 1
        self._start()

    def close(self) -> None:
        """Quit politely, then make sure nothing is left (safe to call twice)."""
        if self._process is not None and self._process.poll() is None:
            try:
                self._request(P.quit_call(), 2.0)
            except (_Dead, _Deadline, OSError):
                pass
        self._stop()

    def __enter__(self) -> CoqSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill_children(self) -> None:
        """Kill coqidetop's descendants but not coqidetop (CoqHammer's ``best`` workers)."""
        if self._process is None:
            return
        try:
            children = psutil.Process(self._process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(children, timeout=5)

    # ------------------------------------------------------------------ wire

    def _request(self, xml: str, timeout: float) -> P.Value | P.Fail:
        """Send one call and wait for its value; feedback messages go to ``self.messages``."""
        if self._process is None:
            raise _Dead()
        if xml.startswith('<call val="Add"'):
            self.sentences_added += 1
        self.messages = []
        try:
            self._process.stdin.write(xml.encode("utf-8"))
            self._process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise _Dead() from error
        return self._await_value(time.monotonic() + timeout)

    def _await_value(self, deadline: float) -> P.Value | P.Fail:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline()
            try:
                element = self._replies.get(timeout=remaining)
            except queue.Empty as error:
                raise _Deadline() from error
            if element is None or isinstance(element, Exception):
                raise _Dead()
            if element.tag == "value":
                return P.decode_value(element)
            if element.tag == "feedback":
                feedback = P.decode_feedback(element)
                if feedback is not None:
                    self.messages.append(feedback)

    def _checked(self, xml: str, timeout: float | None = None) -> P.Value:
        value = self._request(xml, self.reply_timeout if timeout is None else timeout)
        if isinstance(value, P.Fail):
            raise ProverError(f"coqidetop refused {xml[:60]}...: {value.message}")
        return value

    def _interrupt(self) -> bool:
        """SIGINT a busy coqidetop; True if it answered (and is usable), else kill it."""
        try:
            os.kill(self._process.pid, signal.SIGINT)
            self._await_value(time.monotonic() + 3.0)
            return True
        except (_Dead, _Deadline, ProcessLookupError, AttributeError):
            self._stop()  # restarted lazily by the next call
            return False

    # ------------------------------------------------------------------ the tree

    def path(self, node: int) -> list[int]:
        """Nodes from the root to ``node`` (both included)."""
        nodes = []
        current: int | None = node
        while current is not None:
            nodes.append(current)
            current = self._nodes[current].parent
        return nodes[::-1]

    def sentence(self, node: int) -> str:
        return self._nodes[node].sentence

    def _new_node(self, parent: int, sentence: str) -> int:
        key = (parent, sentence)
        if key not in self._children:
            self._children[key] = len(self._nodes)
            self._nodes[len(self._nodes)] = _Node(parent, sentence)
        return self._children[key]

    def _state_of(self, node: int) -> int:
        for chain_node, state_id in self._chain:
            if chain_node == node:
                return state_id
        raise KeyError(node)

    def _move_to(self, node: int) -> None:
        """Make ``node`` the document's tip: Edit_at back, then Add (and run) what is missing."""
        if self._process is None:
            self._start_again()
        if self._chain[-1][0] == node:  # the common case (replay, stepping the newest state)
            return
        path = self.path(node)
        common = 0
        while (common < len(path) and common < len(self._chain)
               and self._chain[common][0] == path[common]):
            common += 1
        if common < len(self._chain):
            self._checked(P.edit_at_call(self._chain[common - 1][1]))
            del self._chain[common:]
        if common == len(path):
            return
        for missing in path[common:]:
            added = self._request(P.add_call(self.sentence(missing), self._chain[-1][1]),
                                  self.reply_timeout)
            if isinstance(added, P.Fail):  # a parse error: that sentence was not added
                raise SentenceFailed(missing, added.message)
            self._chain.append((missing, P.add_result_state(added)))
        value = self._request(P.status_call(), self.reply_timeout)
        if isinstance(value, P.Fail):
            # Either a batch (file prefix) failed, or a sentence that ran before fails now.
            failed = next((later for (_, good), (later, _) in zip(self._chain, self._chain[1:])
                           if good == value.state_id), node)
            self._recover(value)
            raise SentenceFailed(failed, value.message)

    def _start_again(self) -> None:
        self.restarts += 1
        self._start()

    def _recover(self, fail: P.Fail) -> None:
        """After a failure, move the document back to the last good state Coq reports."""
        good = fail.state_id
        for index, (_, state_id) in enumerate(self._chain):
            if state_id == good:
                self._checked(P.edit_at_call(good))
                del self._chain[index + 1:]
                return
        # The reported state is not ours (e.g. 0 for a parse error at Add): nothing added.

    def _with_restart(self, action):
        """Run ``action``; if the process died, restart, replay and try exactly once more."""
        try:
            return action()
        except _Dead:
            self.restart()
        except _Deadline as error:
            raise ProverTimeout("coqidetop did not answer in time") from error
        try:
            return action()
        except _Dead as error:
            detail = " ".join(self._stderr).strip()[-500:]
            raise ProverCrash(f"coqidetop died twice in a row: {detail}") from error
        except _Deadline as error:
            raise ProverTimeout("coqidetop did not answer in time") from error

    # ------------------------------------------------------------------ public calls

    def run(self, parent: int, sentence: str, *, timeout: float | None = None,
            with_goals: bool = True) -> Ran | Failed:
        """Run one sentence after ``parent``. ``timeout`` bounds its execution (the ladder
        starts ``grace`` seconds after it); None means the session's reply timeout."""
        return self._with_restart(lambda: self._run(parent, sentence, timeout, with_goals))

    def _run(self, parent: int, sentence: str, timeout: float | None,
             with_goals: bool) -> Ran | Failed:
        self._move_to(parent)
        tip = self._chain[-1][1]
        added = self._request(P.add_call(sentence, tip), self.reply_timeout)
        if isinstance(added, P.Fail):  # a parse error: nothing was added
            self._recover(added)
            return Failed(added.message, _char_loc(sentence, added))
        state_id = P.add_result_state(added)
        node = self._new_node(parent, sentence)
        self._chain.append((node, state_id))
        limit = self.reply_timeout if timeout is None else timeout + self.grace
        try:
            # Goal executes the new sentence and answers with the goals after it.
            value = self._request(P.goal_call() if with_goals else P.status_call(), limit)
        except _Deadline:
            if self._interrupt():
                self._recover(P.Fail(tip, ""))
                return Failed("Timeout: interrupted", None, timed_out=True)
            return Failed("Timeout: the prover was restarted", None, timed_out=True)
        if isinstance(value, P.Fail):
            self._recover(value)
            if self._chain[-1][0] != parent:  # be sure we are at the parent again
                self._move_to(parent)
            return Failed(value.message, _char_loc(sentence, value),
                          timed_out=value.message.startswith("Timeout"))
        goals = P.decode_goals(value.payload) if with_goals else None
        return Ran(node, goals)

    def run_many(self, parent: int, sentences: Sequence[str]) -> int:
        """Add several sentences and run them in one go (loading a file prefix). Raises
        ``SentenceFailed`` naming the node that failed."""
        def action() -> int:
            self._move_to(parent)
            node = parent
            for sentence in sentences:
                node = self._new_node(node, sentence)
            self._move_to(node)
            return node
        return self._with_restart(action)

    def goals(self, node: int, *, printing_all: bool = False) -> P.GoalsReply | None:
        """The goals at ``node``; with ``printing_all``, in ``Set Printing All`` form."""
        def action() -> P.GoalsReply | None:
            self._move_to(node)
            if not printing_all:
                return P.decode_goals(self._checked(P.goal_call()).payload)
            # Options live outside the document: toggling them moves no state.
            self._checked(P.set_options_call({("Printing", "All"): True,
                                              ("Printing", "Width"): WIDE}))
            try:
                return P.decode_goals(self._checked(P.goal_call()).payload)
            finally:
                self._checked(P.set_options_call({("Printing", "All"): False,
                                                  ("Printing", "Width"): DEFAULT_WIDTH}))
        return self._with_restart(action)

    def query(self, node: int, command: str, timeout: float | None = None) -> list[str] | Failed:
        """Run a read-only command (``Search``, ``Check``, ...) at ``node`` through Query,
        which never adds to the document: its printed messages, or ``Failed`` with Coq's
        error. An overrun gets the ladder (SIGINT, then a restart) and a timed-out Failed."""
        def action() -> list[str] | Failed:
            self._move_to(node)
            limit = self.reply_timeout if timeout is None else timeout + self.grace
            try:
                value = self._request(P.query_call(command, self._chain[-1][1]), limit)
            except _Deadline:
                stopped = self._interrupt()
                return Failed("Timeout: interrupted" if stopped
                              else "Timeout: the prover was restarted", None, timed_out=True)
            if isinstance(value, P.Fail):
                return Failed(value.message, _char_loc(command, value))
            return [m.text for m in self.messages]
        return self._with_restart(action)


def _char_loc(sentence: str, fail: P.Fail) -> tuple[int, int] | None:
    """Coq reports byte offsets (shifted by bp, which we send as 0): make them characters."""
    if fail.loc_start is None or fail.loc_end is None:
        return None
    data = sentence.encode("utf-8")
    start = len(data[:fail.loc_start].decode("utf-8", "ignore"))
    end = len(data[:fail.loc_end].decode("utf-8", "ignore"))
    return start, end
