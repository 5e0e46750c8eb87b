"""retained_heap: glibc's thresholds raised once for nested loops, restored and trimmed at the outermost exit."""

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


def test_nested_loops_set_the_thresholds_once_and_restore_them_on_error(monkeypatch):
    fake = FakeGlibc()
    monkeypatch.setattr(heap, "_glibc", lambda: fake)
    with pytest.raises(RuntimeError), heap.retained_heap():
        with heap.retained_heap():
            assert fake.calls == [("mallopt", -3, heap.HEAP_BLOCK_BYTES), ("mallopt", -1, heap.RETAINED_BYTES)]
        assert len(fake.calls) == 2  # the inner exit keeps them
        raise RuntimeError
    assert fake.calls[2:] == [("mallopt", -3, 128 * 1024), ("mallopt", -1, 128 * 1024), ("malloc_trim", 0)]


def test_without_glibc_it_does_nothing(monkeypatch):
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    with heap.retained_heap():
        pass

