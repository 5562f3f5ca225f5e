"""Small corpora in the issue-4 schemas, built once per session (tests of our own logic)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    # The CI machine has 2 cores shared with other work; 2 competing torch threads can be
    # several times slower than 1.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def corpora(tmp_path_factory) -> dict:
    from agents.synthetic import build_corpus

    root = tmp_path_factory.mktemp("corpora")
    return {task: build_corpus(task, root / task, sizes=(400, 60, 60), seed=1)
            for task in ("metamath", "coq", "rewrite")}
