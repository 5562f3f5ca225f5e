"""Databases and environments shared by the Metamath tests, parsed once per process."""

from __future__ import annotations

import functools
import os

DATABASES = "/usr/share/metamath/databases"


def path(name: str) -> str:
    return os.path.join(DATABASES, f"{name}.mm")


@functools.cache
def database(name: str):
    from provergym.metamath.database import parse_database

    return parse_database(path(name))


@functools.cache
def environment(name: str):
    from provergym.metamath.env import MetamathEnv

    return MetamathEnv(database(name))


def own_steps(env, label: str):
    """The logical steps of ``label``'s own proof, as environment actions."""
    from provergym.metamath.env import Action
    from provergym.metamath.prooftree import logical_steps, proof_tree

    root = proof_tree(env.db, label)
    return [Action(s.label, s.substitution) for s in logical_steps(env.db, root, env.syntax_typecodes)]
