"""Property tests of the Metamath action parser and environment: random text, random
nesting and sizes up to 64 KB. ``MetamathEnv.step`` always answers with a value
(Progress, Proved or Rejected) within a time bound, never an exception, and it leaves the
state it was given as it was."""

from __future__ import annotations

import time

from hypothesis import event, example, given
from hypothesis import strategies as st

from provergym.api import Progress, ProofState, Proved, Rejected
from provergym.metamath.actions import canonical_action
from provergym.metamath.env import Action, parse_action
from provergym.metamath.kernel import Kernel
from tests.metamath.mmdb import environment

STEP_SECONDS = 2.0  # per call, also on a loaded 2-core CI machine
MAX_SIZE = 64 * 1024
# (database, theorem): demo0's th1 (term and wff grammar, $e-free) and hol's simpl,
# whose constants include ":" and "." and "?", which actions also use.
THEOREMS = [("demo0", "th1"), ("hol", "simpl")]


def step_in_time(env, state: ProofState, action) -> Progress | Proved | Rejected:
    """``env.step``, checked to answer with a value in time and leave ``state`` as it was."""
    goals = state.goals
    start = time.perf_counter()
    result = env.step(state, action)
    seconds = time.perf_counter() - start
    assert seconds < STEP_SECONDS, (seconds, str(action)[:200])
    assert isinstance(result, (Progress, Proved, Rejected)), result
    assert state.goals == goals  # states are immutable handles
    if isinstance(result, Rejected):
        assert isinstance(result.reason, str) and result.reason
    elif isinstance(result, Progress):
        assert result.state.goals and result.state.theorem == state.theorem
    event(type(result).__name__)
    return result


# -- actions: random text, structured actions, deep nesting and big sizes ------------------
PIECES = ["{{", "}}", "{", "}", ":", " : ", " ", "\n", "\t", "(", ")", "( ", " )", "->", "=",
          "+", "0", "t", "r", "P", "Q", "R", "S", "mp", "a1", "a2", "th1", "tze", "tpl", "wp",
          "min", "ax-simpl", "ax-simpl.1", "|-", "|=", ",", ".", "?", "bool", "\x00", "\x1b",
          "é", "\u202e", "\u2028", "$.", "$(", "}}}", "{{{", "::"]
pieces_text = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
labels = st.sampled_from(["mp", "a1", "a2", "tze", "tpl", "weq", "wim", "th1", "min", "maj",
                          "tt", "wp", "syl", "ax-simpl", "ax-simpl.1", "simpl", "simpr",
                          "idi", "nonexistent", "a.b-c_1"])
variables = st.sampled_from(["P", "Q", "t", "r", "s", "R", "S", "A", "T", "al", "x", "P:",
                             ""])


def _terms(depth: int) -> st.SearchStrategy[str]:
    """demo0's terms, and hol's terms up to ``depth`` levels (with junk leaves)."""
    leaves = st.sampled_from(["t", "r", "s", "0", "R", "S", "T", "A", "al", "?", "ph", ":"])
    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds("( {} + {} )".format, inner, inner),
        st.builds("( {} , {} )".format, inner, inner),
        st.builds("( {} = {} )".format, inner, inner),
        st.builds("{} = {}".format, inner, inner),
        st.builds("( {} -> {} )".format, inner, inner)), max_leaves=depth)


expressions = st.one_of(_terms(12), pieces_text)
# demo0's own grammar: ``mp {{ P : wff }}`` applies to every goal, so these make progress.
demo0_terms = st.recursive(st.sampled_from(["t", "r", "s", "0"]),
                           lambda inner: st.builds("( {} + {} )".format, inner, inner),
                           max_leaves=8)
demo0_wffs = st.recursive(st.builds("{} = {}".format, demo0_terms, demo0_terms),
                          lambda inner: st.builds("( {} -> {} )".format, inner, inner),
                          max_leaves=4)
demo0_steps = st.builds("mp {{{{ P : {} }}}}".format, demo0_wffs)


@st.composite
def structured_actions(draw) -> str:
    """A label and ``{{ var : expr }}`` groups, with random spacing and broken braces."""
    groups = draw(st.lists(st.tuples(variables, expressions, st.sampled_from(
        ["{{ %s : %s }}", "{{%s:%s}}", "{{ %s :%s }}", "{{ %s : %s }", "{{ %s %s }}",
         "{{ %s : %s }}}}", "{{ {{ %s : %s }} }}"])), max_size=4))
    text = draw(labels) + "".join(" " + form % (var, expr) for var, expr, form in groups)
    return text + draw(st.sampled_from(["", " ", "\n", " x", " {{", " }}"]))


@st.composite
def nested_actions(draw) -> str:
    """Deep ``( ( ( ...`` or ``{{ {{ ...`` nesting, balanced or not, up to 64 KB."""
    depth = draw(st.integers(0, 30_000))
    close = draw(st.one_of(st.just(depth), st.integers(0, 30_000)))
    opener, closer, core = draw(st.sampled_from([
        ("( ", " )", "t = t"), ("( t + ", " )", "0 = t"), ("( t = t -> ", " )", "t = t"),
        ("{{ ", " }}", "P : t = t"), ("{{ P : ", " }}", "t = t"), ("-. ", "", "ph")]))
    inner = (opener * depth + core + closer * close)[:MAX_SIZE]
    form = draw(st.sampled_from(["mp {{ P : %s }}", "%s", "mp %s", "a2 {{ t : %s }}"]))
    return (form % inner)[:MAX_SIZE]


@st.composite
def big_actions(draw) -> str:
    """A short piece repeated up to 64 KB, after a label or not."""
    piece = draw(st.one_of(pieces_text, structured_actions(), st.text(max_size=20)))
    count = draw(st.integers(0, MAX_SIZE // max(1, len(piece))))
    prefix = draw(st.sampled_from(["", "mp ", "a2", "mp {{ P : "]))
    return (prefix + piece * count)[:MAX_SIZE]


actions = st.one_of(st.text(max_size=200), pieces_text, structured_actions(), nested_actions(),
                    big_actions(), demo0_steps)


# -- properties ----------------------------------------------------------------------------
@given(actions)
@example("mp {{ P : ( t + 0 ) = t }}")  # Progress
@example("mp {{ " + ":" * (MAX_SIZE - 10) + " }}")
@example("mp " + "{{ P : t = t }} " * 4000)
@example("mp {{ P : " + "( " * 30_000 + " }}")
def test_parse_action_gives_an_action_or_a_value_error(text: str) -> None:
    try:
        action = parse_action(text)
    except ValueError:
        return
    assert isinstance(action, Action)
    assert parse_action(str(action)) == action  # what it prints, it reads back


@given(st.sampled_from(THEOREMS), actions)
@example(("demo0", "th1"), "mp {{ P : ( t + 0 ) = t }}")
@example(("demo0", "th1"), "mp {{ P : " + "( " * 30_000 + "t = t" + " )" * 30_000 + " }}")
@example(("hol", "simpl"), "ax-simpl {{ R : R }} {{ S : ( R , S ) }}")
def test_step_answers_any_text_with_a_value_in_time(theorem: tuple[str, str], text: str) -> None:
    env = environment(theorem[0])
    state = env.open(theorem[1])
    event("up to 1 KB" if len(text) <= 1024 else "up to 16 KB" if len(text) <= 16384
          else "up to 64 KB")
    result = step_in_time(env, state, text)
    assert step_in_time(env, state, text) == result  # the same answer again
    start = time.perf_counter()
    canonical = canonical_action(env, theorem[1], text)
    assert time.perf_counter() - start < STEP_SECONDS
    if canonical is not None:
        assert parse_action(canonical).label == parse_action(text).label


PROOF_OF_TH1 = ["mp {{ P : ( t + 0 ) = t }}", "a2", "mp {{ P : ( t + 0 ) = t }}", "a2", "a1"]


@given(st.lists(st.one_of(structured_actions(), demo0_steps, st.sampled_from(PROOF_OF_TH1)),
                max_size=8))
@example(PROOF_OF_TH1)
def test_a_walk_of_random_steps_answers_every_step(texts: list[str]) -> None:
    """Steps from the goal th1 on, each on the first goal of the last state reached; a
    proof, if one is found, checks with the kernel on its own."""
    env = environment("demo0")
    state = env.open("th1")
    for text in texts:
        result = step_in_time(env, state, text)
        if isinstance(result, Proved):
            Kernel(env.db).verify_normal("th1", result.proof.split())
            return
        if isinstance(result, Progress):
            state = result.state
