"""A record counter on stderr while a long call runs, when stderr is a terminal (nothing when piped)."""

from __future__ import annotations

from typing import IO

__all__ = ["Progress"]

EVERY = 100
"""Records between two updates of the counter (and fewer than this are never shown)."""


class Progress:
    """Counts records; on a terminal, rewrites one ``N records`` line every :data:`EVERY`."""

    def __init__(self, stream: IO[str], *, enabled: bool | None = None) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.count = 0

    def tick(self, n: int = 1) -> None:
        before = self.count
        self.count += n
        if self.enabled and self.count // EVERY != before // EVERY:
            self.stream.write(f"\r{self.count} records")
            self.stream.flush()

    def close(self) -> None:
        """End the counter's line (the last count stays on screen)."""
        if self.enabled and self.count >= EVERY:
            self.stream.write(f"\r{self.count} records\n")
