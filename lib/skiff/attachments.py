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

An attachment's URL comes with a message, i.e. from whoever sent it, so reading it is an SSRF
and local-file risk: ``file://`` is read only inside a declared folder (every store skiff writes
into declares itself), ``http(s)`` goes through the HTTP layer's address guard, private hosts
only when declared (the worker declares the platform's hosts) or allowed, and the size is capped.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse
from urllib.request import url2pathname

from .errors import ConfigError, TransientError
from .message import Attachment, Message

__all__ = [
    "AttachmentSources",
    "AttachmentStore",
    "FolderStore",
    "HttpStore",
    "declare_store",
    "declared_sources",
    "folder_app",
    "read_attachment",
    "store_attachments",
]

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
        declare_store(self.folder)  # what this process stores, it may read back

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
        declare_store(self.base_url)
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


# The HTTP layer's default cap (``http.maxResponseBytes``): an attachment is no larger.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AttachmentSources:
    """Where :func:`read_attachment` may read from: a message's URL is data, not permission.

    ``folders``: the only places a ``file://`` URL may point into (symlinks resolved);
    ``hosts``: ``(host, port)`` of declared HTTP stores, which may be on a private network and
    use plain http; ``allow_private``: other hosts may be private too (a component's or cfg's
    ``allowPrivateNetworks``); ``max_bytes``: a longer attachment is refused, not buffered.
    Link-local and cloud metadata addresses are refused whatever is declared.
    """

    folders: tuple[Path, ...] = ()
    hosts: frozenset[tuple[str, int]] = frozenset()
    allow_private: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES


# Stores this process writes into or was told to read from (FolderStore, HttpStore, the worker's
# platform hosts): by default :func:`read_attachment` reads from these and nowhere else local.
_FOLDERS: set[Path] = set()
_HOSTS: set[tuple[str, int]] = set()


def _shown(url: str) -> str:
    from .http.redact import redact_url  # the HTTP layer loads only when a URL is shown

    return str(redact_url(url))


def _origin(url: str) -> tuple[str, int] | None:
    import httpx

    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed.host.lower().rstrip("."), parsed.port or (443 if parsed.scheme == "https" else 80)


def declare_store(location: str | Path) -> None:
    """Let :func:`read_attachment` read from this folder or HTTP store (scheme + host + port)."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        origin = _origin(text)
        if origin is None:
            raise ConfigError(f"attachment store {_shown(text)} is not a valid URL")
        _HOSTS.add(origin)
    else:
        _FOLDERS.add(Path(location).resolve())


def declared_sources(*, allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> AttachmentSources:
    """The stores declared in this process, as :class:`AttachmentSources`."""
    return AttachmentSources(tuple(_FOLDERS), frozenset(_HOSTS), allow_private, max_bytes)


def _read_file(url: str, path_text: str, sources: AttachmentSources) -> bytes:
    refused = ConfigError(
        "attachment url refused: a file:// url is read only inside the attachment folders "
        "skiff stores into (--attachments DIR)"
    )
    try:
        path = Path(url2pathname(path_text)).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        # Missing or a symlink loop: say which only when it would have been readable.
        path = Path(url2pathname(path_text)).resolve()
        if any(path.is_relative_to(folder) for folder in sources.folders):
            raise ConfigError(f"attachment {url}: No such file") from None
        raise refused from None
    if not any(path.is_relative_to(folder.resolve()) for folder in sources.folders):
        raise refused
    if not path.is_file():
        raise ConfigError(f"attachment {url}: not a file")
    try:
        with path.open("rb") as fh:
            content = fh.read(sources.max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"attachment {url}: {exc.strerror or exc}") from None
    if len(content) > sources.max_bytes:
        raise ConfigError(f"attachment {url}: larger than the limit of {sources.max_bytes:,} bytes; not read")
    return content


async def _read_http(url: str, sources: AttachmentSources, timeout: float) -> bytes:
    import httpx

    from .http.guard import BlockedAddress, GuardedBackend, GuardedTransport
    from .http.tls import shared_ssl_context
    from .http.urls import is_loopback

    shown = _shown(url)
    origin = _origin(url)
    if origin is None:
        raise ConfigError(f"attachment url {shown} is not a valid URL")
    declared = origin in sources.hosts
    if url.startswith("http://") and not declared and not is_loopback(origin[0]):
        raise ConfigError(f"attachment url {shown} refused: plain http only to localhost or a declared store")
    context = shared_ssl_context()
    backend = GuardedBackend(allow_private=declared or sources.allow_private)
    try:
        async with (
            httpx.AsyncClient(
                timeout=timeout,
                transport=GuardedTransport(ssl_context=context, backend=backend),
                verify=context,
                follow_redirects=False,  # a redirect would lead past the checks above
                trust_env=False,  # no proxy: it would connect past the address guard
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 300:
                raise TransientError(f"attachment {shown}: GET answered {response.status_code}")
            declared_size = response.headers.get("content-length", "")
            if declared_size.isdigit() and int(declared_size) > sources.max_bytes:
                raise ConfigError(f"attachment {shown}: larger than the limit of {sources.max_bytes:,} bytes; not read")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > sources.max_bytes:
                    raise ConfigError(
                        f"attachment {shown}: larger than the limit of {sources.max_bytes:,} bytes; not read"
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except BlockedAddress as exc:
        raise ConfigError(f"attachment url {shown} refused: {exc.message}") from None
    except httpx.HTTPError as exc:
        raise TransientError(f"attachment {shown}: {type(exc).__name__}") from None


async def read_attachment(
    attachment: Attachment | dict[str, Any], *, sources: AttachmentSources | None = None, timeout: float = 60.0
) -> bytes:
    """The bytes of an attachment, from its ``file://`` or ``http(s)://`` URL.

    A URL comes with the message, so it is checked before anything is read (``sources``, by
    default the stores declared in this process): ``file://`` only inside a declared folder,
    ``http(s)`` through the address guard (no metadata or link-local ever; private networks and
    plain http only for declared stores or with ``allow_private``), at most ``max_bytes``.
    """
    att = attachment if isinstance(attachment, Attachment) else Attachment.from_dict(attachment)
    if att.content is not None:
        return att.content
    if not att.url:
        raise ConfigError("attachment has neither bytes nor a url")
    sources = sources if sources is not None else declared_sources()
    parsed = urlparse(att.url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError("attachment url refused: a file:// url names a remote host")
        return _read_file(att.url, parsed.path, sources)
    if parsed.scheme in ("http", "https"):
        return await _read_http(att.url, sources, timeout)
    raise ConfigError(f"attachment url {_shown(att.url)!r}: only file://, http:// and https:// are read")


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
