"""Test-wide settings: every test gets a private PROVERGYM_HOME, so no test reads or
writes the user's cache (corpora, runs) and results never depend on what a machine has
left there. Tests that need a particular home still set their own with monkeypatch."""

import psutil
import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_provergym_home(tmp_path_factory):
    import os

    previous = os.environ.get("PROVERGYM_HOME")
    os.environ["PROVERGYM_HOME"] = str(tmp_path_factory.mktemp("provergym-home"))
    yield
    if previous is None:
        os.environ.pop("PROVERGYM_HOME", None)
    else:
        os.environ["PROVERGYM_HOME"] = previous


@pytest.fixture()
def no_leftover_coq():
    """Fail a test that leaves coqidetop or coqc processes of its own behind."""
    def ours() -> set[int]:
        me = psutil.Process()
        return {p.pid for p in me.children(recursive=True)
                if p.name().startswith(("coqidetop", "coqc"))}
    before = ours()
    yield
    left = ours() - before
    assert not left, f"processes left behind: {left}"


# -- hypothesis profiles for the property tests (tests/**/test_fuzz_*.py) -------------------
# "ci" (the default) is small and derandomized, so `make test` is reproducible and the whole
# fuzz set adds well under a minute; "fuzz" (`make fuzz`) runs many fresh examples. Neither
# keeps an example database: a failure prints the falsifying example, to be kept as an
# @example or a regular test. The tests bound their own time per call, so there is no
# deadline (a loaded CI machine would make it flaky).
def _register_hypothesis_profiles() -> None:
    import os

    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=100, derandomize=True, deadline=None, database=None,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile(
        "fuzz", max_examples=5000, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_register_hypothesis_profiles()
