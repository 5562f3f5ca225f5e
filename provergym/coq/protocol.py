"""coqidetop's XML protocol (version 20220205, Coq 8.16) as typed calls and answers.

Calls are built by small encoders; answers are decoded from ``xml.etree`` elements into
frozen dataclasses. Nothing here talks to a process: see ``session.py`` for that.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

PROTOCOL_VERSION = "20220205"

# ---------------------------------------------------------------------------- encoding


def _string(text: str) -> str:
    return f"<string>{escape(text)}</string>"


def _int(value: int) -> str:
    return f"<int>{int(value)}</int>"


def _bool(value: bool) -> str:
    return f'<bool val="{"true" if value else "false"}"/>'


def _state_id(state_id: int) -> str:
    return f'<state_id val="{int(state_id)}"/>'


def _pair(first: str, second: str) -> str:
    return f"<pair>{first}{second}</pair>"


def _call(name: str, argument: str) -> str:
    return f'<call val="{name}">{argument}</call>'


def init_call() -> str:
    return _call("Init", '<option val="none"/>')


def add_call(sentence: str, state_id: int, bp: int = 0, line: int = 0, bol: int = 0) -> str:
    """``((((sentence, edit_id), (state_id, verbose)), bp), (line, bol))``: Add only parses."""
    inner = _pair(_pair(_string(sentence), _int(-1)), _pair(_state_id(state_id), _bool(True)))
    return _call("Add", _pair(_pair(inner, _int(bp)), _pair(_int(line), _int(bol))))


def goal_call() -> str:
    return _call("Goal", "<unit/>")


def edit_at_call(state_id: int) -> str:
    return _call("Edit_at", _state_id(state_id))


def status_call(force: bool = False) -> str:
    return _call("Status", _bool(force))


def query_call(text: str, state_id: int) -> str:
    """Run a read-only command (``Print Assumptions x.``) at a state; output comes as feedback."""
    return _call("Query", _pair('<route_id val="0"/>', _pair(_string(text), _state_id(state_id))))


def set_options_call(options: dict[tuple[str, ...], bool | int | str]) -> str:
    items = []
    for name, value in options.items():
        key = "<list>" + "".join(_string(part) for part in name) + "</list>"
        if isinstance(value, bool):
            encoded = f'<option_value val="boolvalue">{_bool(value)}</option_value>'
        elif isinstance(value, int):
            encoded = (f'<option_value val="intvalue"><option val="some">{_int(value)}'
                       "</option></option_value>")
        else:
            encoded = f'<option_value val="stringvalue">{_string(value)}</option_value>'
        items.append(_pair(key, encoded))
    return _call("SetOptions", "<list>" + "".join(items) + "</list>")


def quit_call() -> str:
    return _call("Quit", "<unit/>")


# ---------------------------------------------------------------------------- decoding

# Richpp uses HTML's &nbsp;, which XML parsers reject: map it to the numeric form first.
_NBSP = re.compile(rb"&nbsp;")
# Coq prints a string's control characters raw (``idtac "\x01"``), which XML 1.0 forbids:
# show each as its Control Pictures sign (U+2400 + code, so \x01 reads as U+2401). No byte
# of a multi-byte UTF-8 sequence is below 0x80, so this never cuts a character.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _control_picture(match: re.Match[bytes]) -> bytes:
    return chr(0x2400 + match.group(0)[0]).encode("utf-8")


def fix_entities(raw: bytes) -> bytes:
    """Make coqidetop's output well-formed XML: ``&nbsp;`` and raw control characters."""
    return _CONTROL.sub(_control_picture, _NBSP.sub(b"&#160;", raw))


def richpp_text(element: ET.Element | None) -> str:
    """The plain text of a ``<richpp>`` (markup dropped, non-breaking spaces made plain)."""
    if element is None:
        return ""
    return "".join(element.itertext()).replace("\xa0", " ")


@dataclass(frozen=True)
class RawGoal:
    """One goal as coqidetop prints it: hypotheses still grouped (``n, m : nat``)."""

    goal_id: str
    hypotheses: tuple[str, ...]
    conclusion: str
    name: str | None = None


@dataclass(frozen=True)
class GoalsReply:
    """The answer to Goal in proof mode: focused goals and the others, by kind."""

    foreground: tuple[RawGoal, ...]
    background: tuple[RawGoal, ...] = ()
    shelved: tuple[RawGoal, ...] = ()
    given_up: tuple[RawGoal, ...] = ()

    @property
    def all_closed(self) -> bool:
        return not (self.foreground or self.background or self.shelved or self.given_up)

    @property
    def unfocused(self) -> tuple[RawGoal, ...]:
        return self.background + self.shelved + self.given_up


@dataclass(frozen=True)
class Fail:
    """A ``<value val="fail">``: the last good state, the message and its location."""

    state_id: int
    message: str
    loc_start: int | None = None
    loc_end: int | None = None


@dataclass(frozen=True)
class Feedback:
    """A ``<feedback>`` message (only the ones that carry text are kept by the session)."""

    state_id: int | None
    level: str
    text: str


@dataclass(frozen=True)
class Value:
    """A ``<value val="good">``, its payload still as an element."""

    payload: ET.Element | None = field(compare=False)


def decode_goal(element: ET.Element) -> RawGoal:
    children = list(element)
    goal_id = children[0].text or ""
    hypotheses = tuple(richpp_text(h) for h in children[1])
    conclusion = richpp_text(children[2])
    name = None
    if len(children) > 3 and children[3].get("val") == "some" and len(children[3]):
        name = children[3][0].text
    return RawGoal(goal_id, hypotheses, conclusion, name)


def _goal_list(element: ET.Element) -> tuple[RawGoal, ...]:
    return tuple(decode_goal(g) for g in element if g.tag == "goal")


def decode_goals(option: ET.Element) -> GoalsReply | None:
    """``<option>`` of Goal's answer: None outside proof mode."""
    if option.get("val") != "some":
        return None
    goals = option[0]
    foreground, background_stack, shelved, given_up = list(goals)
    background: list[RawGoal] = []
    # The background is a stack of (before, after) pairs of focused-away goals.
    for pair in background_stack:
        before, after = list(pair)
        background.extend(_goal_list(before))
        background.extend(_goal_list(after))
    return GoalsReply(_goal_list(foreground), tuple(background), _goal_list(shelved),
                      _goal_list(given_up))


def decode_value(element: ET.Element) -> Value | Fail:
    if element.get("val") == "good":
        return Value(element[0] if len(element) else None)
    state = element.find("state_id")
    loc_start, loc_end = element.get("loc_s"), element.get("loc_e")
    return Fail(int(state.get("val", "0")) if state is not None else 0,
                richpp_text(element.find("richpp")).strip(),
                int(loc_start) if loc_start else None, int(loc_end) if loc_end else None)


def decode_feedback(element: ET.Element) -> Feedback | None:
    """Keep the feedback that carries a message; state-processing notices return None."""
    content = element.find("feedback_content")
    if content is None or content.get("val") != "message":
        return None
    message = content.find("message")
    if message is None:
        return None
    level_element = message.find("message_level")
    level = level_element.get("val", "") if level_element is not None else ""
    state = element.find("state_id")
    state_id = int(state.get("val", "0")) if state is not None else None
    return Feedback(state_id, level, richpp_text(message.find("richpp")))


def add_result_state(value: Value) -> int:
    """The new state id from Add's answer ``(state_id, (in_l unit | in_r next_tip))``."""
    assert value.payload is not None
    return int(value.payload[0].get("val", "0"))


def init_result_state(value: Value) -> int:
    assert value.payload is not None
    return int(value.payload.get("val", "0"))
