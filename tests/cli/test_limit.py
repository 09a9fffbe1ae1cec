"""skiff.cli.limit: --limit N ends a call at the Nth record, past any handler."""

from __future__ import annotations

import pytest

from skiff.cli.limit import LimitReached, RecordLimit


def test_the_nth_record_ends_the_call() -> None:
    limit = RecordLimit(3)
    limit.took()
    limit.took()
    with pytest.raises(LimitReached):
        limit.took()
    assert limit.count == 3
    assert not issubclass(LimitReached, Exception)  # a handler's `except Exception` cannot swallow it


def test_no_limit_counts_only() -> None:
    limit = RecordLimit(None)
    for _ in range(1000):
        limit.took()
    assert limit.count == 1000
    with pytest.raises(ValueError):
        RecordLimit(0)
