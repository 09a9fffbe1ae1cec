"""``skiff run --attachments DIR``: where an emitted message's attachments go on the command line.

With a folder, each attachment's bytes become a file there and the printed output names it
(a whole message carries the ``file://`` url; a printed body gets ``"attachments": {name: path}``).
Without one, nothing is written and :meth:`AttachmentOutput.notice` says how many were left out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from ..message import Message

__all__ = ["AttachmentOutput"]


class AttachmentOutput:
    """Writes attachments into ``folder`` (None: counts them as not written)."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self.unwritten = 0
        self._store: Any = None

    async def printable(self, message: Message, *, whole: bool) -> Any:
        """What to print for ``message``: the whole message (``whole``) or its body, files named."""
        if message.attachments and self.folder is not None:
            from ..attachments import FolderStore, store_attachments

            self._store = self._store or FolderStore(self.folder)
            await store_attachments(message, self._store)
            if not whole and isinstance(message.body, dict):  # a body alone: say where the files are
                paths = {n: url2pathname(urlparse(a.url).path) for n, a in message.attachments.items() if a.url}
                return {**message.body, "attachments": paths}
        elif message.attachments:
            self.unwritten += len(message.attachments)
        return message.to_dict() if whole else message.body

    def notice(self) -> str | None:
        """One line for stderr when attachments were left out, else None."""
        if not self.unwritten:
            return None
        return f"{self.unwritten} attachment(s) not written: --attachments DIR writes them"
