"""The backward environment on real databases: unification, rejections, $d, scope rules,
immutable states, and kernel-checked proofs."""

import pytest

from provergym.api import Progress, Proved, Rejected
from provergym.metamath.env import Action, parse_action
from tests.metamath.mmdb import environment, own_steps


def test_parse_action_round_trip():
    action = parse_action("ax-mp {{ ph : ( ps -> ch ) }} {{ ps : ps }}")
    assert action == Action("ax-mp", (("ph", "( ps -> ch )"), ("ps", "ps")))
    assert parse_action(str(action)) == action
    assert parse_action("idi") == Action("idi")


@pytest.mark.parametrize("text", ["", "{{ ph : ps }}", "ax-mp {{ ph ps }}", "a b c", "ax-mp }}"])
def test_bad_action_text_is_rejected_not_raised(text):
    env = environment("demo0")
    result = env.step(env.open("th1"), text)
    assert isinstance(result, Rejected)


def test_demo0_by_hand():
    env = environment("demo0")
    state = env.open("th1")
    assert [g.conclusion for g in state.goals] == ["|- t = t"]
    # mp needs P and Q; Q is fixed by the goal, P must be given.
    result = env.step(state, "mp")
    assert isinstance(result, Rejected) and "unbound" in result.reason
    result = env.step(state, "mp {{ P : ( t + 0 ) = t }}")
    assert isinstance(result, Progress)
    goals = [g.conclusion for g in result.state.goals]
    assert goals == ["|- ( t + 0 ) = t", "|- ( ( t + 0 ) = t -> t = t )"]
    # The old state is still usable: step it again with another action.
    again = env.step(state, "mp {{ P : t = t }}")
    assert isinstance(again, Progress)
    assert [g.conclusion for g in again.state.goals] == ["|- t = t", "|- ( t = t -> t = t )"]
    # a2 closes the first goal (t := t by unification), leaving the second.
    after = env.step(result.state, "a2")
    assert isinstance(after, Progress)
    assert [g.conclusion for g in after.state.goals] == ["|- ( ( t + 0 ) = t -> t = t )"]


def test_unification_failure_and_contradicting_substitution():
    env = environment("demo0")
    state = env.open("th1")
    assert "does not unify" in env.step(state, "a2").reason
    result = env.step(state, "mp {{ P : t = t }} {{ Q : r = r }}")
    assert isinstance(result, Rejected) and "contradicts" in result.reason


def test_unparsable_substitution_and_unknown_variable():
    env = environment("demo0")
    state = env.open("th1")
    assert "unparsable" in env.step(state, "mp {{ P : ( t + }}").reason
    assert "not a variable of mp" in env.step(state, "mp {{ R : t = t }}").reason
    assert "unknown label" in env.step(state, "nonexistent").reason


def test_cannot_cite_itself_or_later_statements():
    env = environment("set")
    state = env.open("a1i")
    assert "theorem being proved" in env.step(state, "a1i").reason
    later = env.step(state, "mpbi {{ ph : ps }}")  # mpbi comes after a1i in set.mm
    assert isinstance(later, Rejected) and "comes after" in later.reason


def test_hypotheses_of_other_theorems_cannot_be_cited():
    env = environment("set")
    state = env.open("a1i")
    result = env.step(state, "mp2.1")
    assert isinstance(result, Rejected) and "not one of a1i's hypotheses" in result.reason


def test_disjoint_variable_violation_is_rejected():
    # ax-5 is |- ( ph -> A. x ph ) with $d x ph. Proving an instance where the wff
    # contains x itself must be refused.
    env = environment("set")
    state = env.goal_state("19.21v", "|- ( x = y -> A. x x = y )")
    result = env.step(state, "ax-5")
    assert isinstance(result, Rejected) and "$d" in result.reason
    # With a variable the theorem keeps distinct from x, the same step is accepted.
    state = env.goal_state("19.21v", "|- ( ph -> A. x ph )")
    assert isinstance(env.step(state, "ax-5"), Proved)


def test_syntactic_goals_close_themselves():
    env = environment("set")
    state = env.open("a1i")  # |- ( ps -> ph ) from |- ph
    result = env.step(state, "ax-mp {{ ph : ph }}")
    assert isinstance(result, Progress)
    # Only the two |- hypotheses remain; the wff hypotheses of ax-mp are gone.
    assert [g.conclusion for g in result.state.goals] == ["|- ph", "|- ( ph -> ( ps -> ph ) )"]
    step = env.step(result.state, "a1i.1")
    assert isinstance(step, Progress)
    done = env.step(step.state, "ax-1")
    assert isinstance(done, Proved)
    env.kernel.verify_normal("a1i", done.proof.split())  # the proof is real


def test_split_gives_independent_single_goal_states():
    env = environment("demo0")
    state = env.step(env.open("th1"), "mp {{ P : ( t + 0 ) = t }}").state
    parts = env.split(state)
    assert [len(p.goals) for p in parts] == [1, 1]
    assert [p.goals[0] for p in parts] == list(state.goals)
    assert isinstance(env.step(parts[0], "a2"), Proved)


def test_state_keys_merge_equal_goals():
    env = environment("demo0")
    first = env.step(env.open("th1"), "mp {{ P : ( t + 0 ) = t }}").state
    second = env.step(env.open("th1"), "mp {{ P : ( t + 0 ) = t }}").state
    assert first == second and hash(first) == hash(second)


@pytest.mark.parametrize("name", ["demo0", "hol"])
def test_every_theorem_of_a_small_database_replays(name):
    env = environment(name)
    for theorem in env.db.theorems():
        result = env.prove(theorem.label, own_steps(env, theorem.label))
        assert isinstance(result, Proved), (theorem.label, result)


def test_random_text_never_crashes():
    import random

    env = environment("hol")
    rng = random.Random(0)
    alphabet = "abcdefghijklmnop{}:()->=|. \n"
    state = env.open("idi")
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        result = env.step(state, text)
        assert isinstance(result, (Rejected, Progress, Proved))


def test_goal_text_matches_its_syntax_tree():
    """Sub-goal text is printed by a template, not from the tree: both must agree."""
    import random

    from provergym.metamath.grammar import Node

    env = environment("set")
    rng = random.Random(7)
    for theorem in rng.sample(env.db.theorems(), 40):
        state = env.open(theorem.label)
        for action in own_steps(env, theorem.label):
            for goal in state.goals:
                fresh = Node(goal.data.label, goal.data.children)  # no cached text
                typecode = goal.conclusion.split()[0]
                assert goal.conclusion == " ".join([typecode, *env.grammar.symbols_of(fresh)])
            result = env.step(state, action)
            if isinstance(result, Proved):
                break
            assert isinstance(result, Progress), (theorem.label, result)
            state = result.state


def test_compiled_patterns_agree_with_the_trees():
    """_apply runs flat programs compiled per label; the public match_pattern and
    instantiate on any pattern tree (hypotheses included) must give the same answers."""
    import random

    from provergym.metamath.grammar import Node

    env = environment("set")

    def match(pattern, p, t, sigma):  # the definition, on trees
        var = pattern.var_of_float.get(p.label)
        if var is not None:
            return sigma.setdefault(var, t) == t
        return p.label == t.label and all(match(pattern, pc, tc, sigma)
                                          for pc, tc in zip(p.children, t.children))

    def instantiate(pattern, p, sigma):
        var = pattern.var_of_float.get(p.label)
        if var is not None:
            return sigma[var]
        return Node(p.label, tuple(instantiate(pattern, c, sigma) for c in p.children))

    rng = random.Random(3)
    checked = 0
    for theorem in rng.sample(env.db.theorems(), 30):
        state = env.open(theorem.label)
        for action in own_steps(env, theorem.label):
            goal = state.goals[0].data
            pattern = env.pattern(action.label) if action.label in env.db.statements else None
            if pattern is not None and not isinstance(pattern, str) \
                    and env.db.statements[action.label].kind in "ap":
                for other in [goal, *[g.data for g in state.goals[1:]]]:
                    fast, slow = {}, {}
                    assert env.match_pattern(pattern, pattern.conclusion, other, fast) \
                        == match(pattern, pattern.conclusion, other, slow)
                    if fast == slow and len(fast) == len(pattern.variables):
                        for hyp in pattern.hyps:
                            if hyp[0] == "e":
                                assert env.instantiate(pattern, hyp[2], fast) \
                                    == instantiate(pattern, hyp[2], fast)
                                checked += 1
            result = env.step(state, action)
            if isinstance(result, Proved):
                break
            state = result.state
    assert checked > 50


def test_assembly_of_steps_that_do_not_fit_is_an_error():
    from provergym.metamath.kernel import ProofError

    env = environment("demo0")
    with pytest.raises(ProofError, match="do not close"):
        env.assemble(None)
    with pytest.raises(ProofError, match="do not close"):
        env.assemble((("mp", (None, None)), None))  # two sub-goals, no steps for them
    with pytest.raises(ProofError, match="more steps"):
        env.assemble((("a2", ()), (("a2", ()), None)))
    assert env.assemble((("a2", ()), (("a2", ()), (("mp", (None, None)), None)))) \
        == ["a2", "a2", "mp"]
