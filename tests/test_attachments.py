"""Attachment stores: a local folder and an HTTP store on a real server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from skiff.attachments import FolderStore, HttpStore, folder_app, read_attachment, store_attachments
from skiff.errors import ConfigError
from skiff.message import Attachment, Message
from tests.support import serve_asgi

PDF = b"%PDF-1.4\n" + bytes(range(256))


def _message() -> Message:
    att = Attachment(content_type="application/pdf", size=len(PDF), content=PDF)
    return Message(body={"id": 7}, attachments={"invoice 7.pdf": att})


async def test_folder_store_writes_each_attachment_and_reads_it_back(tmp_path: Path) -> None:
    msg = await store_attachments(_message(), FolderStore(tmp_path / "out"))
    att = msg.attachments["invoice 7.pdf"]
    assert att.content is None and att.url is not None and att.url.startswith("file://")
    assert att.to_dict() == {"url": att.url, "size": len(PDF), "content-type": "application/pdf"}
    files = list((tmp_path / "out").iterdir())
    assert len(files) == 1 and files[0].name.endswith("invoice_7.pdf") and files[0].read_bytes() == PDF
    assert await read_attachment(msg.to_dict()["attachments"]["invoice 7.pdf"]) == PDF


async def test_http_store_round_trip(tmp_path: Path) -> None:
    with serve_asgi(folder_app(tmp_path / "store")) as base:
        msg = await store_attachments(_message(), HttpStore(base))
        url = msg.attachments["invoice 7.pdf"].url
        assert url is not None and url.startswith(base + "/")
        # Another process (the next step) has only the message's dict.
        assert await read_attachment(Message.from_dict(msg.to_dict()).attachments["invoice 7.pdf"]) == PDF


async def test_unreadable_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only file://"):
        await read_attachment({"url": "ftp://x/y"})
    with pytest.raises(ConfigError, match="No such file"):
        await read_attachment({"url": (tmp_path / "missing").as_uri()})
