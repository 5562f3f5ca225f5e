"""The Gymnasium ids, registered on ``import provergym`` without importing Gymnasium.

``gymnasium.make("provergym/Metamath-v0")`` must work right after ``import provergym``.
Importing Gymnasium costs about 0.15 s (it imports NumPy), which ``provergym --help`` and
every worker process would pay for nothing. So :func:`install` registers the ids at once if
Gymnasium is already imported, and otherwise as soon as it is: a finder at the front of
``sys.meta_path`` finds nothing itself, but has the ids registered right after Gymnasium's
own module has run, then leaves. The entry points are strings, so no backend is imported
before ``gymnasium.make``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

ENVIRONMENTS = {
    "provergym/Metamath-v0": "provergym.metamath.gym:MetamathGymEnv",
    "provergym/Coq-v0": "provergym.coq.gym:CoqEnv",
}


def register_environments() -> None:
    """Register :data:`ENVIRONMENTS` with Gymnasium (importing it). Idempotent: an id that
    is already there is left alone, so a second call does not warn about overriding."""
    from gymnasium.envs.registration import register, registry

    for env_id, entry_point in ENVIRONMENTS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point)


class _RegisterWhenImported:
    """A ``sys.meta_path`` finder that only watches for ``gymnasium``: it asks the finders
    after it for the real spec and wraps that spec's loader, so the ids are registered the
    moment the module has executed. It removes itself then."""

    provergym_hook = True

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name != "gymnasium":
            return None
        spec = None
        for finder in [f for f in sys.meta_path if f is not self]:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec  # not found (ImportError follows) or a loader we cannot wrap
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            del loader.exec_module  # the loader's own method again, for reload()
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            register_environments()

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def install() -> None:
    """Register the ids now if Gymnasium is imported, else when it is (see the module)."""
    if "gymnasium" in sys.modules:
        register_environments()
    elif not any(getattr(finder, "provergym_hook", False) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterWhenImported())
