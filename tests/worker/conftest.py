"""Worker tests start real ``skiff worker`` processes: none outlives its test, even a failed one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.worker.broker import WorkerProcess


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    yield
    WorkerProcess.kill_all()
