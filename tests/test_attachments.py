"""Attachment stores: a local folder and an HTTP store on a real server on 127.0.0.1; what a
message's attachment URL may make skiff read (nothing outside the stores, no SSRF)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skiff.attachments import (
    AttachmentSources,
    FolderStore,
    HttpStore,
    declared_sources,
    folder_app,
    read_attachment,
    store_attachments,
)
from skiff.errors import ConfigError, TransientError
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
    store = FolderStore(tmp_path / "store")
    with pytest.raises(ConfigError, match="No such file"):
        await read_attachment({"url": (store.folder / "missing").as_uri()})


# ------------------------------------------------------------------ what a URL may not reach


async def test_a_file_url_outside_the_store_folders_is_refused(tmp_path: Path) -> None:
    FolderStore(tmp_path / "store")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret 1234")
    for url in ("file:///etc/passwd", secret.as_uri(), f"file://{tmp_path}/store/../secret.txt"):
        with pytest.raises(ConfigError, match="refused") as err:
            await read_attachment({"url": url})
        assert "secret 1234" not in str(err.value) and "root:" not in str(err.value)
        assert "\n" not in str(err.value)  # one line


async def test_a_symlink_out_of_the_store_is_refused(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "store")
    (store.folder).mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret 1234")
    (store.folder / "invoice.pdf").symlink_to(secret)
    (store.folder / "passwd").symlink_to("/etc/passwd")
    for name in ("invoice.pdf", "passwd"):
        with pytest.raises(ConfigError, match="refused") as err:
            await read_attachment({"url": (store.folder / name).as_uri()})
        assert "secret 1234" not in str(err.value)


async def test_a_file_url_with_a_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="remote host"):
        await read_attachment({"url": "file://evil.example/etc/passwd"})


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/x",
        "https://100.100.100.200/latest/meta-data",
        "https://10.255.255.1/files/1",
        "https://192.168.1.1/files/1",
    ],
)
async def test_metadata_link_local_and_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="refused"):
        await read_attachment({"url": url}, sources=AttachmentSources())


async def test_metadata_stays_refused_when_private_networks_are_allowed() -> None:
    allowed = AttachmentSources(allow_private=True)
    with pytest.raises(ConfigError, match="link-local"):
        await read_attachment({"url": "https://169.254.169.254/latest/meta-data/"}, sources=allowed)
    # A private address is tried now (nothing listens there: a transport error, not a refusal).
    with pytest.raises(TransientError):
        await read_attachment({"url": "https://10.255.255.1/files/1"}, sources=allowed, timeout=0.5)


async def test_plain_http_only_to_loopback_or_a_declared_store() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        await read_attachment({"url": "http://files.example.com/1"}, sources=AttachmentSources(allow_private=True))
    declared = AttachmentSources(hosts=frozenset({("10.255.255.1", 8200)}))
    with pytest.raises(TransientError):  # declared: private and plain http allowed, so it is tried
        await read_attachment({"url": "http://10.255.255.1:8200/files/1"}, sources=declared, timeout=0.5)
    with pytest.raises(ConfigError, match="refused"):  # another port of that host is not the store
        await read_attachment({"url": "http://10.255.255.1:22/"}, sources=declared)


async def test_an_attachment_larger_than_the_cap_is_not_read(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "store")
    msg = await store_attachments(_message(), store)
    small = declared_sources(max_bytes=100)
    with pytest.raises(ConfigError, match="limit of 100 bytes"):
        await read_attachment(msg.attachments["invoice 7.pdf"], sources=small)
    with serve_asgi(folder_app(tmp_path / "http")) as base:
        msg = await store_attachments(_message(), HttpStore(base))
        with pytest.raises(ConfigError, match="limit of 100 bytes"):
            await read_attachment(msg.attachments["invoice 7.pdf"], sources=small)
        assert await read_attachment(msg.attachments["invoice 7.pdf"]) == PDF
