"""Saved credentials: one Fernet-encrypted file, and views of them that hold no secret.

The key lives in its own file (mode 0600) beside the data, or comes from ``SKIFF_STUDIO_KEY``;
the credentials file itself is ciphertext (AES-128-CBC + HMAC-SHA256, from ``cryptography``).
The browser only ever sees :meth:`Vault.public`: secret values are replaced by :data:`SAVED`,
and a value sent back as :data:`SAVED` (or an empty password) keeps the saved secret.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..http.redact import is_sensitive_name

__all__ = ["SAVED", "Vault", "secret_fields"]

SAVED = "\u2022saved\u2022"
_SECRET_VIEWS = frozenset({"PasswordFieldView"})


def secret_fields(fields: Mapping[str, Any]) -> set[str]:
    """Names of credential fields whose values are secrets (``fields``: name → FieldModel)."""
    return {n for n, f in fields.items() if getattr(f, "viewClass", None) in _SECRET_VIEWS or is_sensitive_name(n)}


def _mask(value: Any, secret: bool) -> Any:
    if secret:
        return SAVED if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: _mask(v, is_sensitive_name(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, False) for v in value]
    return value


def _unmask(new: Any, old: Any, secret: bool) -> Any:
    """Put the saved secrets back where the browser sent the placeholder (or left a password empty)."""
    if new == SAVED or (secret and new in (None, "") and old not in (None, "")):
        return old
    if isinstance(new, dict):
        prev = old if isinstance(old, dict) else {}
        return {k: _unmask(v, prev.get(k), is_sensitive_name(k)) for k, v in new.items()}
    return new


class Vault:
    """Named credential sets per component, encrypted at rest under ``home``."""

    def __init__(self, home: Path) -> None:
        from cryptography.fernet import Fernet

        self.home = home
        self.file = home / "credentials.enc"
        self._lock = threading.Lock()
        key = os.environ.get("SKIFF_STUDIO_KEY")
        if not key:
            key_file = home / "studio.key"
            if key_file.is_file():
                key = key_file.read_text(encoding="ascii").strip()
            else:
                home.mkdir(parents=True, exist_ok=True)
                key = Fernet.generate_key().decode("ascii")
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(key + "\n")
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except ValueError:
            raise ConfigError(
                "the studio key is not a valid Fernet key", where="SKIFF_STUDIO_KEY or studio.key"
            ) from None

    # ------------------------------------------------------------ storage

    def _load(self) -> dict[str, dict[str, Any]]:
        from cryptography.fernet import InvalidToken

        if not self.file.is_file():
            return {}
        try:
            data = json.loads(self._fernet.decrypt(self.file.read_bytes()))
        except InvalidToken:
            raise ConfigError("cannot decrypt: the key does not match this file", where=str(self.file)) from None
        return dict(data)

    def _store(self, data: dict[str, dict[str, Any]]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        blob = self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode())
        tmp = self.file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.file)

    # ------------------------------------------------------------ API

    def public(self, fields_of: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Every saved set with its secrets replaced by :data:`SAVED` (``fields_of``: component → fields)."""
        out = []
        for cid, entry in sorted(self._load().items(), key=lambda kv: (kv[1]["component"], kv[1]["name"])):
            hidden = secret_fields(fields_of.get(entry["component"], {}))
            cfg = {k: _mask(v, k in hidden) for k, v in entry["cfg"].items()}
            out.append({"id": cid, "name": entry["name"], "component": entry["component"], "cfg": cfg})
        return out

    def cfg(self, cid: str) -> tuple[str, dict[str, Any]]:
        """The component and the whole cfg of one saved set (server side only)."""
        entry = self._load().get(cid)
        if entry is None:
            raise ConfigError(f"no saved credentials {cid!r}")
        return entry["component"], dict(entry["cfg"])

    def merged(
        self, cid: str | None, cfg: Mapping[str, Any], hidden: set[str], *, overlay: bool = True
    ) -> dict[str, Any]:
        """``cfg`` from the page with its placeholders resolved from the saved set ``cid``.

        With ``overlay`` (a call), the saved set's other values stay (a canvas step sends only its
        own fields); without (saving the form), the form is the whole set, but an unsent secret stays.
        """
        old = self._load().get(cid or "", {}).get("cfg", {})
        sent = {k: _unmask(v, old.get(k), k in hidden) for k, v in cfg.items()}
        kept = old if overlay else {k: v for k, v in old.items() if k in hidden}
        out = {**kept, **sent}
        return {k: v for k, v in out.items() if v != SAVED}

    def save(self, cid: str | None, *, name: str, component: str, cfg: Mapping[str, Any], hidden: set[str]) -> str:
        with self._lock:
            data = self._load()
            full = self.merged(cid, cfg, hidden, overlay=False)
            cid = cid if cid in data else secrets.token_hex(6)
            data[cid] = {"name": name.strip() or component, "component": component, "cfg": full}
            self._store(data)
        return cid

    def delete(self, cid: str) -> None:
        with self._lock:
            data = self._load()
            if data.pop(cid, None) is None:
                raise ConfigError(f"no saved credentials {cid!r}")
            self._store(data)
