"""Message encryption as the elastic.io sailor does it: AES-256-CBC over the message's JSON.

key = SHA-256 of ``MESSAGE_CRYPTO_PASSWORD``, IV = ``MESSAGE_CRYPTO_IV`` (16 bytes), PKCS#7
padding. Protocol version 1 puts the ciphertext on the wire as base64 text, version 2 and later
as raw bytes. Without a password the payload is the plain JSON (still base64-wrapped below
protocol 2: sailor-nodejs applies the encoding whether or not it encrypts). The npm
package ``elasticio-sailor-nodejs`` (``lib/encryptor.js``) is the reference the tests run against.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import ConfigError, InputError

__all__ = ["DecodeError", "MessageCipher"]


class DecodeError(InputError):
    """A message that cannot be decrypted or parsed (wrong key, wrong protocol, not JSON)."""

    kind = "DecodeError"


class MessageCipher:
    """Encrypts and decrypts message payloads for one password and IV."""

    __slots__ = ("_iv", "_key")

    def __init__(self, password: str | None, iv: str | bytes | None) -> None:
        self._key: bytes | None = None
        self._iv = b""
        if password:
            if not iv:
                raise ConfigError("ELASTICIO_MESSAGE_CRYPTO_IV is missing (needed with a crypto password)")
            raw_iv = iv.encode("utf-8") if isinstance(iv, str) else iv
            if len(raw_iv) != 16:
                raise ConfigError(f"ELASTICIO_MESSAGE_CRYPTO_IV must be 16 bytes, got {len(raw_iv)}")
            self._key = hashlib.sha256(password.encode("utf-8")).digest()
            self._iv = raw_iv

    @property
    def enabled(self) -> bool:
        return self._key is not None

    # ------------------------------------------------------------------ bytes

    def encrypt_bytes(self, plain: bytes) -> bytes:
        if self._key is None:
            return plain
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plain) + padder.finalize()
        enc = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return enc.update(padded) + enc.finalize()

    def decrypt_bytes(self, data: bytes) -> bytes:
        if self._key is None:
            return data
        if not data or len(data) % 16:
            raise DecodeError(f"ciphertext of {len(data)} bytes is not a whole number of AES blocks")
        dec = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        padded = dec.update(data) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise DecodeError("bad padding after decryption: wrong password or IV") from None

    # ------------------------------------------------------------------ messages

    def encrypt(self, payload: Any, protocol_version: int = 1) -> bytes:
        """The wire form of ``payload``: base64 text below protocol 2, raw bytes from 2 on."""
        raw = self.encrypt_bytes(orjson.dumps(payload))
        return base64.b64encode(raw) if protocol_version < 2 else raw

    def decrypt(self, data: bytes, protocol_version: int = 1) -> Any:
        """The payload of a wire message; raises DecodeError saying why it cannot be read."""
        if not data:
            raise DecodeError("empty message content")
        raw = data
        if protocol_version < 2:
            try:
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise DecodeError(f"protocol {protocol_version} message is not base64 text") from None
        plain = self.decrypt_bytes(raw)
        try:
            return orjson.loads(plain)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(f"decrypted content is not JSON: {exc}") from None
