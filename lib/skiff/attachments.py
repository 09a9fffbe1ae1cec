"""Attachment stores: where a message's binary parts live, addressed by URL.

elastic.io messages carry attachments as ``{url, size, content-type}``; the bytes are elsewhere,
readable by the next step. Two stores:

- :class:`FolderStore`: a local folder (``skiff run --attachments DIR``); URLs are ``file://``.
- :class:`HttpStore`: any HTTP server that stores a ``PUT`` body and serves it back on ``GET``
  at the same URL (a WebDAV folder, an object store's presigned prefix, or
  :func:`folder_app` served by uvicorn), so workers on several machines can read each
  other's attachments.

:func:`store_attachments` moves the in-memory bytes of a message's attachments into a store
before the message leaves the process; :func:`read_attachment` reads one back by its URL.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from .errors import ConfigError, TransientError
from .message import Attachment, Message

__all__ = ["AttachmentStore", "FolderStore", "HttpStore", "folder_app", "read_attachment", "store_attachments"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    return _SAFE.sub("_", name).strip("._") or "attachment"


class AttachmentStore(Protocol):
    async def put(self, name: str, content: bytes, content_type: str) -> str:
        """Store ``content``; return the URL the next step reads it from."""
        ...


class FolderStore:
    """Attachments as files in a local folder, one per attachment (never overwritten)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).resolve()

    async def put(self, name: str, content: bytes, content_type: str) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{uuid.uuid4().hex[:12]}-{_safe_name(name)}"
            path.write_bytes(content)
        except OSError as exc:
            raise ConfigError(f"attachments folder {self.folder}: {exc.strerror or exc}") from None
        return path.as_uri()


class HttpStore:
    """Attachments ``PUT`` under a base URL and read back with ``GET``."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout

    async def put(self, name: str, content: bytes, content_type: str) -> str:
        import httpx

        url = f"{self.base_url}/{uuid.uuid4().hex}/{_safe_name(name)}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.put(
                    url, content=content, headers={**self.headers, "content-type": content_type}
                )
        except httpx.HTTPError as exc:
            raise TransientError(f"attachment store {self.base_url}: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise TransientError(f"attachment store {self.base_url}: PUT answered {response.status_code}")
        return url


async def store_attachments(message: Message, store: AttachmentStore) -> Message:
    """Put every attachment that has bytes but no URL into ``store``; the bytes leave the message."""
    for name, att in message.attachments.items():
        if att.content is not None and att.url is None:
            att.url = await store.put(name, att.content, att.content_type)
            att.size = len(att.content)
            att.content = None
    return message


async def read_attachment(attachment: Attachment | dict[str, Any], *, timeout: float = 60.0) -> bytes:
    """The bytes of an attachment, from its ``file://`` or ``http(s)://`` URL."""
    att = attachment if isinstance(attachment, Attachment) else Attachment.from_dict(attachment)
    if att.content is not None:
        return att.content
    if not att.url:
        raise ConfigError("attachment has neither bytes nor a url")
    parsed = urlparse(att.url)
    if parsed.scheme == "file":
        try:
            return Path(unquote(parsed.path)).read_bytes()
        except OSError as exc:
            raise ConfigError(f"attachment {att.url}: {exc.strerror or exc}") from None
    if parsed.scheme in ("http", "https"):
        import httpx

        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.get(att.url)
        except httpx.HTTPError as exc:
            raise TransientError(f"attachment {att.url}: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise TransientError(f"attachment {att.url}: GET answered {response.status_code}")
        return response.content
    raise ConfigError(f"attachment url {att.url!r}: only file://, http:// and https:// are read")


def folder_app(folder: str | Path) -> Any:
    """A minimal HTTP attachment store over a folder: ``PUT /<id>/<name>`` then ``GET`` it back."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    root = Path(folder).resolve()

    def target(request: Request) -> Path | None:
        key, name = str(request.path_params["key"]), str(request.path_params["name"])
        if _safe_name(key) != key or _safe_name(name) != name:
            return None
        return root / key / name

    async def put(request: Request) -> Response:
        path = target(request)
        if path is None:
            return Response("bad name", 400)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(await request.body())
        path.with_name(path.name + ".type").write_text(request.headers.get("content-type", ""), encoding="utf-8")
        return Response(status_code=201)

    async def get(request: Request) -> Response:
        path = target(request)
        if path is None or not path.is_file():
            return Response("not found", 404)
        ctype = path.with_name(path.name + ".type")
        media = ctype.read_text(encoding="utf-8") if ctype.is_file() else "application/octet-stream"
        return FileResponse(path, media_type=media or "application/octet-stream")

    return Starlette(
        routes=[
            Route("/{key}/{name}", put, methods=["PUT"]),
            Route("/{key}/{name}", get, methods=["GET"]),
        ]
    )
