"""agents.tasks' shape check of Metamath actions answers at once, whatever the text (the
environment's old action parser took minutes on some; this pattern never backtracked)."""

from __future__ import annotations

import time

import pytest

from agents.tasks import metamath_well_formed


@pytest.mark.parametrize("tail", ["x", " x", "{{", " {{", " }}", " {{ ph :"])
@pytest.mark.parametrize("groups", [30, 200, 5000])
def test_metamath_well_formed_is_fast_on_groups_that_never_close(groups: int, tail: str):
    for text in ("ax-mp " + "{{ ph : ph }} " * groups, "ax-mp" + " {{ ph : ph }}" * groups):
        start = time.perf_counter()
        assert not metamath_well_formed(text + tail)
        assert time.perf_counter() - start < 2.0


def test_metamath_well_formed_shapes():
    assert metamath_well_formed("ax-mp {{ ph : ( ps -> ch ) }} {{ ps : ps }}")
    assert metamath_well_formed("idi")
    assert metamath_well_formed("mi {{ x : }}")  # miu.mm needs empty substitutions
    assert not metamath_well_formed("ax-mp {{ ph : ( ps -> ch ) }")
    assert not metamath_well_formed("ax-mp {{ ph ps }}")
