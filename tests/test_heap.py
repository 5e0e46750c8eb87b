"""retained_heap: glibc's thresholds raised once per process, the heap trimmed at each outermost exit."""

from __future__ import annotations

import pytest

from symmol.compile import heap


class FakeGlibc:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


def test_the_thresholds_are_raised_once_and_the_heap_trimmed_at_the_outermost_exit(monkeypatch):
    fake = FakeGlibc()
    monkeypatch.setattr(heap, "_glibc", lambda: fake)
    monkeypatch.setattr(heap, "_raised", False)
    raised = [("mallopt", -3, heap.HEAP_BLOCK_BYTES), ("mallopt", -1, heap.RETAINED_BYTES)]
    with pytest.raises(RuntimeError), heap.retained_heap():
        with heap.retained_heap():
            assert fake.calls == raised
        assert fake.calls == raised  # the inner exit does not trim
        raise RuntimeError
    assert fake.calls == [*raised, ("malloc_trim", 0)]
    with heap.retained_heap():  # a later loop: the thresholds stay, the heap is trimmed again
        pass
    assert fake.calls == [*raised, ("malloc_trim", 0), ("malloc_trim", 0)]


def test_without_glibc_it_does_nothing(monkeypatch):
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    with heap.retained_heap():
        pass

