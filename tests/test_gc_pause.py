import gc

import pytest

from vaultline.resolve import _gc


def test_collector_is_paused_inside_and_restored_after() -> None:
    seen: list[bool] = []

    @_gc.paused
    def work() -> str:
        seen.append(gc.isenabled())
        return "done"

    assert gc.isenabled()
    assert work() == "done"
    assert seen == [False] and gc.isenabled()


def test_collector_is_restored_when_the_work_raises() -> None:
    @_gc.paused
    def boom() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        boom()
    assert gc.isenabled()


def test_an_application_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    try:
        _gc.paused(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()
