"""Test-wide settings: every test gets a private PROVERGYM_HOME, so no test reads or
writes the user's cache (corpora, runs) and results never depend on what a machine has
left there. Tests that need a particular home still set their own with monkeypatch."""

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
