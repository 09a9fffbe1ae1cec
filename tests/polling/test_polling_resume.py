"""A failed unsorted (``order: any``) poll is continued by the next one, not read again (issue 11, item 9).

The fake API pages by keyset (each page names the place of its last record), the way ``fromId``
and cursor-token paging do, so a place from a failed poll is still valid in the next one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from skiff.polling import PollOptions
from skiff.polling.resume import MAX_TRIES
from tests.polling.polling_fake import BASE, FakeApi, Harness, ts

PAGE = 10


class Clock:
    def __init__(self, second: int) -> None:
        self.second = second

    def now(self) -> Any:
        return BASE + timedelta(seconds=self.second)


def _api(records: int = 5 * PAGE - 3) -> FakeApi:
    api = FakeApi(page_size=PAGE, order="shuffled", positions=True)
    for second in range(records):
        api.insert(second)
    return api


def _harness(api: FakeApi, clock: Clock, **options: Any) -> Harness:
    return Harness(api, order="any", resume=True, now=clock.now, clock_skew=5, **options)


def _fail_from(api: FakeApi, page: int) -> None:
    """Page request number ``page`` (1-based) of the next poll fails, as after all its retries."""
    first = len(api.starts)
    api.fail = lambda start: len(api.starts) - first == page


def _counts(h: Harness, api: FakeApi) -> tuple[int, int]:
    emitted = h.record_versions()
    return len(api.versions() - set(emitted)), len(emitted) - len(set(emitted))


@pytest.mark.parametrize("commit_every", ["page", "record"])
async def test_a_poll_failing_on_page_3_of_5_is_continued_from_page_3(commit_every: str) -> None:
    api, clock = _api(), Clock(600)
    h = _harness(api, clock, commit_every=commit_every)
    _fail_from(api, 3)
    assert await h.poll() is None  # page 3 failed
    first = list(api.starts)
    assert len(first) == 3 and len(h.messages) == 2 * PAGE
    assert h.snapshot is not None and h.snapshot["resume"]["at"] == first[2]
    api.fail = None
    clock.second += 60
    result = await h.poll()
    second = api.starts[3:]
    lost, duplicated = _counts(h, api)
    print(f"pages requested: failed poll {len(first)}, next poll {len(second)}; lost {lost}, duplicated {duplicated}")
    assert result is not None and result.resumed and result.complete
    assert second == [first[2], *second[1:]] and len(second) == 3  # pages 3, 4 and 5 only
    assert (lost, duplicated) == (0, 0)
    assert h.snapshot is not None and "resume" not in h.snapshot
    clock.second += 60
    assert await h.poll() is not None and h.per_poll[-1] == []  # and the next poll finds nothing


@pytest.mark.parametrize("commit_every", ["page", "record"])
async def test_a_crash_between_commits_on_page_3_resumes_there(commit_every: str) -> None:
    api, clock = _api(), Clock(600)
    h = _harness(api, clock, commit_every=commit_every)
    assert await h.poll(crash_after=2 * PAGE + 4) is None  # dies emitting the 5th record of page 3
    page3 = api.starts[2]
    clock.second += 60
    result = await h.poll()
    lost, duplicated = _counts(h, api)
    print(
        f"commit per {commit_every}: pages requested after the crash {len(api.starts) - 3}, "
        f"lost {lost}, duplicated {duplicated}"
    )
    assert result is not None and result.resumed
    assert api.starts[3] == page3 and len(api.starts) == 6
    assert lost == 0
    # A record emitted but not yet committed is emitted again (same message id); with a commit
    # per record nothing is.
    assert duplicated == (0 if commit_every == "record" else 4)


async def test_changes_between_the_failed_poll_and_its_continuation_are_not_lost() -> None:
    api, clock = _api(), Clock(600)
    h = _harness(api, clock)
    _fail_from(api, 3)
    assert await h.poll() is None
    read = [m.body["id"] for m in h.messages]
    api.fail = None
    clock.second += 30
    unread = sorted(set(api.rows) - set(read))
    api.update(read[0], clock.second)  # on a page the continuation does not read again
    api.update(unread[0], clock.second)  # on a page it reads
    new = api.insert(clock.second)[0]
    for _ in range(3):
        clock.second += 30
        await h.poll()
    lost, duplicated = _counts(h, api)
    print(f"changed between polls: lost {lost}, duplicated {duplicated}")
    assert (lost, duplicated) == (0, 0)
    assert (read[0], ts(630)) in h.record_versions() and (new, ts(630)) in h.record_versions()
    assert h.per_poll[-1] == []


async def test_a_position_the_api_keeps_refusing_is_given_up() -> None:
    api, clock = _api(), Clock(600)
    h = _harness(api, clock)
    _fail_from(api, 3)
    assert await h.poll() is None
    page2, refused = api.starts[1:3]
    # Say, an expired cursor token: refused when a poll starts there, fine when reached by paging.
    api.fail = lambda start: start == refused and api.starts[-2] != page2
    for _ in range(MAX_TRIES):
        clock.second += 60
        assert await h.poll() is None
    clock.second += 60
    before = len(api.starts)
    result = await h.poll()
    assert result is not None and result.complete and not result.resumed
    assert api.starts[before] is None and len(api.starts) - before == 5  # from the first page
    lost, _ = _counts(h, api)
    assert lost == 0


async def test_bounded_polls_read_on_instead_of_from_the_start() -> None:
    api, clock = _api(), Clock(600)
    h = _harness(api, clock, single_page_per_interval=True)
    polls = 0
    while True:
        polls += 1
        clock.second += 60
        result = await h.poll()
        assert result is not None
        if result.complete:
            break
    lost, duplicated = _counts(h, api)
    print(f"one page per poll: polls {polls}, page requests {len(api.starts)}, lost {lost}, duplicated {duplicated}")
    assert polls == 5 and len(api.starts) == 5
    assert (lost, duplicated) == (0, 0)


async def test_another_window_starts_over() -> None:
    api, clock = _api(), Clock(600)
    h = _harness(api, clock)
    _fail_from(api, 3)
    assert await h.poll() is None
    api.fail = None
    h.options = PollOptions(**{**_options(h.options), "page_size": PAGE * 2})
    result = await h.poll()
    assert result is not None and not result.resumed and api.starts[3] is None
    lost, _ = _counts(h, api)
    assert lost == 0


def _options(options: PollOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}


@pytest.mark.parametrize("kind", ["timestamp", "id"])
async def test_resume_point_stays_within_the_snapshot_budget(kind: str) -> None:
    api = FakeApi(page_size=50, order="shuffled", positions=True, id_stride=7)  # no id runs
    for second in range(400):
        api.insert(600 + second % 3)  # past the cap: every record is remembered by (cursor, id)
    clock = Clock(600)
    options: dict[str, Any] = {"cursor_kind": kind}
    if kind == "id":
        options["cursor_field"] = "id"
    h = _harness(api, clock, commit_every="record", **options)
    _fail_from(api, 6)
    assert await h.poll() is None
    api.fail = None
    for _ in range(3):
        clock.second += 60
        await h.poll()
    lost, duplicated = _counts(h, api)
    print(f"{kind}: largest snapshot {h.max_snapshot} bytes, lost {lost}, duplicated {duplicated}")
    assert lost == 0 and h.max_snapshot <= 5120
