"""JSON lines on stdout: each document encoded once, by orjson, straight to the byte stream.

A sync writes one line per record (50,000 and more), so this is the CLI's hottest line:
``json.dumps`` plus a text-layer write cost ~25 us a record, orjson to the binary buffer ~1 us.
Output is what ``json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)``
wrote before (UTF-8, compact); values orjson cannot encode (integers beyond 64 bits, lone
surrogates) fall back to exactly that.
"""

from __future__ import annotations

import json
from typing import IO, Any

import orjson

__all__ = ["JsonLines", "dumps_line"]

_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE
    | orjson.OPT_NON_STR_KEYS  # json.dumps turns int keys into strings too
    # default=str decides for these, as it did with json.dumps:
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps_line(value: Any) -> bytes:
    """One document and its newline, as UTF-8 bytes."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        return text.encode("utf-8") + b"\n"


class JsonLines:
    """Writes documents to a text stream, through its binary buffer when it has one (stdout does)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()  # whatever the text layer holds goes first
        self._buffer: IO[bytes] | None = buffer

    def write(self, value: Any) -> None:
        line = dumps_line(value)
        if self._buffer is not None:
            self._buffer.write(line)
        else:
            self._stream.write(line.decode("utf-8"))

    def write_raw(self, records: list[Any]) -> None:
        """Documents that are one line of JSON text each already (bytes-like): written as they are."""
        if not records:
            return
        data = b"\n".join(records)  # one copy of the page's records; the last newline apart, not a second
        if self._buffer is not None:
            self._buffer.write(data)
            self._buffer.write(b"\n")
        else:
            self._stream.write(data.decode("utf-8") + "\n")

    def flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()
        self._stream.flush()
