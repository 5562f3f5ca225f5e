"""GamePad's 24 tactic equivalence classes, adapted to Coq 8.16 tactic text and ssreflect.

GamePad (Huang, Dhariwal, Song, Sutskever 2019) labels each tactic by one of 24 classes of
the tactics its instrumented Coq recorded (``gamepad/coq/tactics.py``, TACTICS_INFO_EQUIV).
We classify the *source text* of a tactic sentence instead, by its head tactic. The classes,
with GamePad's members first and what we added for Coq 8.16 after the semicolon:

==============  ===============================================================================
class           tactics
==============  ===============================================================================
intro           intro, intros, ssreflect intro patterns; ``move=> pats`` (a move that only
                introduces), ``intros until``
done            done, assumption, trivial, reflexivity, discriminate, contradiction; ``by []``,
                eassumption, easy, ``over``, exfalso-free closers such as ``congruence``
clear           clear, clearbody, ssreflect ``{H}``; ``move=> {H}`` (only clears)
exact           exact, ssreflect ``exact:``; eexact, refine, ``simple refine``
constructor     constructor, econstructor; exists, eexists (constructor of a one-constructor
                type; GamePad filed ``exists`` with have)
left            left, eleft
right           right, eright
split           split, esplit
symmetry        symmetry
transitivity    transitivity, etransitivity
auto            auto, eauto; the other search and decision procedures: intuition, tauto,
                firstorder, lia, omega, nia, lra, nra, ring, field, psatz, decide, btauto,
                ``typeclasses eauto``, info_auto, ``solve_*``-free hammers (sauto, hauto, best)
apply           apply, ssreflect ``apply:`` and views ``apply/eqP``; eapply, rapply,
                ``apply ... in``, exfalso, absurd, contradict, ``simple apply``
case            case, ssreflect ``case:`` and ``case/orP``; destruct, edestruct, inversion,
                inversion_clear, injection, case_eq, ``dependent destruction``
simpl           compute, red, simpl; cbn, cbv, hnf, lazy, vm_compute, native_compute, unfold,
                fold, change, pattern (conversion steps)
congr           ssreflect congr; f_equal
elim            ssreflect elim; induction, einduction, ``functional induction``,
                ``dependent induction``, fix, cofix
have            ssreflect have (and GamePad's exists, see constructor); assert, ``pose proof``,
                specialize, ``gen have``, epose proof
move            ssreflect move (``move: x``, ``move/eqP``, bare ``move``); generalize, revert
pose            ssreflect pose; ``pose`` without ``proof``
rewrite         rewrite (also ``rewrite /def``, ``!``, ``-``, occurrences); erewrite, subst,
                replace, setoid_rewrite, autorewrite, under
set             ssreflect set; remember
suff            ssreflect suff, suffices; enough, cut
do              ssreflect do (``do 2 tac``, ``do !tac``); repeat
wlog            wlog, without loss
other           the catch-all: user Ltac, idtac, instantiate, shelve, ... (not a GamePad class)
==============  ===============================================================================

Reading the text: comments and the final ``.`` are dropped; goal selectors (``all:``,
``2:``, ``[x]:``) are skipped; the first tactic of a sequence ``t1; t2`` (or ``t1 => pat``,
or a branching ``t; [a | b]``) decides; wrappers that do not change what the tactic does
(``by``, ``now``, ``try``, ``progress``, ``abstract``, ``unshelve``, ``once``, ``time``,
``solve [...]``, ``first [...]``, outer parentheses) are looked through. Bullets and
braces are not tactic applications: :func:`tactic_class` refuses them.
"""

from __future__ import annotations

import re

CLASSES: tuple[str, ...] = (
    "intro", "done", "clear", "exact", "constructor", "left", "right", "split", "symmetry",
    "transitivity", "auto", "apply", "case", "simpl", "congr", "elim", "have", "move", "pose",
    "rewrite", "set", "suff", "do", "wlog",
)
OTHER = "other"  # the catch-all, outside GamePad's 24
ALL_CLASSES: tuple[str, ...] = (*CLASSES, OTHER)

# Head word (first identifier of the tactic) -> class.
_HEAD: dict[str, str] = {}


def _add(cls: str, words: str) -> None:
    for word in words.split():
        _HEAD[word] = cls


_add("intro", "intro intros")
_add("done", "done assumption eassumption trivial reflexivity discriminate contradiction "
             "easy over congruence")
_add("clear", "clear clearbody")
_add("exact", "exact eexact refine")
_add("constructor", "constructor econstructor exists eexists")
_add("left", "left eleft")
_add("right", "right eright")
_add("split", "split esplit")
_add("symmetry", "symmetry")
_add("transitivity", "transitivity etransitivity")
_add("auto", "auto eauto info_auto info_eauto intuition tauto itauto firstorder lia omega "
             "nia lra nra ring ring_simplify field field_simplify psatz decide btauto "
             "dintuition sauto hauto qauto best hammer lazy_auto typeclasses")
_add("apply", "apply eapply rapply exfalso absurd contradict elimtype")
_add("case", "case ecase destruct edestruct inversion inversion_clear injection case_eq "
             "dependent_destruction simple_inversion")
_add("simpl", "simpl compute red hnf cbn cbv lazy vm_compute native_compute unfold fold "
              "change pattern")
_add("congr", "congr f_equal")
_add("elim", "elim eelim induction einduction fix cofix functional_induction "
             "dependent_induction")
_add("have", "have assert eassert specialize pose_proof epose_proof gen")
_add("move", "move generalize revert")
_add("pose", "pose epose")
_add("rewrite", "rewrite erewrite subst replace setoid_rewrite autorewrite under "
                "rewrite_strat")
_add("set", "set eset remember eremember")
_add("suff", "suff suffices enough eenough cut")
_add("do", "do repeat")
_add("wlog", "wlog without")

# Two-word heads, joined with ``_`` before the table lookup.
_TWO_WORDS = re.compile(r"^(?:e?pose\s+proof\b|functional\s+induction\b|"
                        r"dependent\s+(induction|destruction)\b|simple\s+inversion\b)")
# Prefixes that leave the tactic's class to what follows them.
# (``simple inversion`` is a tactic of its own, not ``inversion`` made simple.)
_WRAPPERS = re.compile(r"(by|now|try|progress|abstract|unshelve|once|time|notypeclasses|"
                       r"simple(?!\s+inversion)|solve|first|tryif)\b\s*")
_BULLET = re.compile(r"^([-+*])\1*\s+")
_SELECTOR = re.compile(r"(all|par|!|\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*|\[[^\]]*\])"
                       r"\s*:(?![=>])\s*")
_IDENT = re.compile(r"[A-Za-z_][\w']*")
_COMMENT = re.compile(r"\(\*.*?\*\)", re.S)


class NotATactic(ValueError):
    """The text is a bullet, a brace or empty: no tactic to classify."""


def _top_level_end(text: str, stops: str) -> int:
    """Index of the first character of ``stops`` outside brackets (or len(text))."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in stops:
            return index
    return len(text)


def _strip_parens(text: str) -> str:
    while text.startswith("(") and _matching(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _matching(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] in "([{":
            depth += 1
        elif text[index] in ")]}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _only_clears(pattern: str) -> bool:
    """An ssreflect intro pattern made only of ``{H1 H2}`` clear switches."""
    return bool(re.fullmatch(r"(\s*\{[^{}]*\})+\s*", pattern))


def tactic_head(text: str) -> str:
    """The tactic text that decides the class: comments, selectors, wrappers and the rest
    of a sequence removed (``by move=> x; rewrite foo.`` -> ``move=> x``)."""
    body = _COMMENT.sub(" ", text).strip()
    body = body[:-1] if body.endswith(".") and not body.endswith("..") else body
    body = body.strip()
    for _ in range(20):  # each round removes one layer
        before = body
        body = _BULLET.sub("", _strip_parens(body))
        selector = _SELECTOR.match(body)
        if selector and selector.end() < len(body):
            body = body[selector.end():].strip()
        wrapper = _WRAPPERS.match(body)
        if wrapper:
            rest = body[wrapper.end():].strip()
            if wrapper.group(1) in ("solve", "first") and rest.startswith("["):
                rest = rest[1:]  # the first alternative decides
                rest = rest[:_top_level_end(rest, "|]")].strip()
            if wrapper.group(1) == "by" and rest in ("[]", "done", ""):
                return "done"
            body = rest
        body = body[:_top_level_end(body, ";|")].strip()
        if body == before:
            break
    return body


def is_structural(text: str) -> bool:
    """Bullets (``-``, ``++``), braces and selector braces (``2:{``): not tactics."""
    stripped = _COMMENT.sub(" ", text).strip()
    return not stripped or bool(re.fullmatch(r"([-+*])\1*|[{}]|.*:\s*\{", stripped, re.S))


def tactic_class(text: str) -> str:
    """One of :data:`ALL_CLASSES` for a tactic sentence; :class:`NotATactic` for a bullet,
    a brace or empty text."""
    if is_structural(text):
        raise NotATactic(f"not a tactic: {text!r}")
    head = tactic_head(text)
    if head == "done":
        return "done"
    head = _TWO_WORDS.sub(lambda m: "_".join(m.group(0).split()), head, count=1)
    word = _IDENT.match(head)
    if word is None:
        return OTHER  # ``[> ...]`` and other shapes with no head word
    name = word.group(0)
    rest = head[word.end():].lstrip()
    if name == "move" and rest.startswith("=>"):
        # ssreflect: a move that only introduces is an intro (only clears: a clear).
        return "clear" if _only_clears(rest[2:]) else "intro"
    return _HEAD.get(name, OTHER)
