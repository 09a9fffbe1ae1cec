"""The CLI as a transport: what ``skiff run``/``skiff poll`` do with each event of a call.

``deliver`` prints each ``Data`` message as a JSON line (attachments written by
:class:`~skiff.cli.attachment_output.AttachmentOutput`), counts it (:class:`~skiff.cli.progress.Progress`,
:class:`~skiff.cli.limit.RecordLimit`), keeps the call's ``Error`` and writes new keys back
(:func:`~skiff.cli.cfg_keys.write_back_keys`). ``settle`` flushes stdout, so a trigger's snapshot
is stored only after the records before it were written out.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from ..errors import SkiffError
from ..run import Data, Error, Event, Records, UpdateKeys
from .attachment_output import AttachmentOutput
from .cfg_keys import write_back_keys
from .limit import RecordLimit
from .output import JsonLines
from .progress import Progress

__all__ = ["StdoutSink"]


class StdoutSink:
    """A :class:`~skiff.run.Transport` onto stdout (``out``) and stderr (``err``).

    ``messages``: print whole messages, not bodies; ``attachments``: a folder for them;
    ``limit``: stop after that many records; ``cfg``/``cfg_file``: where new keys go (the dict
    is updated in place, so the caller's next call uses them; the file is rewritten).
    """

    def __init__(
        self,
        out: IO[str],
        *,
        err: IO[str] | None = None,
        messages: bool = False,
        attachments: str | None = None,
        limit: int | None = None,
        cfg: dict[str, Any] | None = None,
        cfg_file: Path | None = None,
    ) -> None:
        self.err = err or sys.stderr
        self.lines = JsonLines(out)
        self.messages = messages
        self.attachments = AttachmentOutput(attachments)
        self.limit = RecordLimit(limit)
        self.progress = Progress(self.err)
        self.cfg = cfg if cfg is not None else {}
        self.cfg_file = cfg_file
        self.error: SkiffError | None = None

    @property
    def raw_records(self) -> bool:
        """Bodies only: records nothing reads may come as JSON text (``Records``), never parsed."""
        return not self.messages

    async def deliver(self, event: Event) -> None:
        if isinstance(event, Data):
            self.lines.write(await self.attachments.printable(event.message, whole=self.messages))
            self.progress.tick()
            self.limit.took()  # LimitReached: no further page is fetched
        elif isinstance(event, Records):  # a page of records as JSON text: one write
            records = self.limit.cut(event.records)
            self.lines.write_raw(records)
            self.progress.tick(len(records))
            self.limit.took(len(records))
        elif isinstance(event, Error):
            self.error = event.error
        elif isinstance(event, UpdateKeys):
            self.cfg.update(event.keys)
            print(write_back_keys(self.cfg_file, event.keys), file=self.err)

    async def settle(self) -> None:
        self.lines.flush()

    def close(self) -> None:
        """After the call: flush, end the progress line, say what was left out."""
        self.progress.close()
        self.lines.flush()
        if notice := self.attachments.notice():
            print(notice, file=self.err)
