"""skiff.cli.progress: a record counter on a terminal, silence when piped."""

from __future__ import annotations

import io

from skiff.cli.progress import EVERY, Progress


def test_a_terminal_sees_the_count_every_hundred_records() -> None:
    err = io.StringIO()
    progress = Progress(err, enabled=True)
    for _ in range(2 * EVERY + 5):
        progress.tick()
    progress.close()
    assert err.getvalue() == f"\r{EVERY} records\r{2 * EVERY} records\r{2 * EVERY + 5} records\n"


def test_a_short_call_or_a_pipe_shows_nothing() -> None:
    short = io.StringIO()
    progress = Progress(short, enabled=True)
    for _ in range(EVERY - 1):
        progress.tick()
    progress.close()
    piped = io.StringIO()  # not a tty: off by default
    counted = Progress(piped)
    for _ in range(3 * EVERY):
        counted.tick()
    counted.close()
    assert short.getvalue() == piped.getvalue() == "" and counted.count == 3 * EVERY
