"""AES-256-CBC message encryption, checked against sailor-nodejs 2.7.8's own Encryptor."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from skiff.errors import ConfigError
from skiff.worker.crypto import DecodeError, MessageCipher
from tests.worker.sailor_npm import node_encryptor

PASSWORD = "testCryptoPassword"
IV = "iv=any16_symbols"
MESSAGE: dict[str, Any] = {
    "id": "m-1",
    "body": {"name": "Grüße", "n": 1.5, "list": [1, 2, None], "nested": {"ok": True}},
    "headers": {"x-eio-meta-trace": "abc"},
    "attachments": {},
}


@pytest.mark.parametrize("protocol", [1, 2])
@pytest.mark.parametrize("password", [PASSWORD, None])
def test_skiff_encrypts_what_sailor_decrypts_and_back(protocol: int, password: str | None) -> None:
    cipher = MessageCipher(password, IV)
    wire = cipher.encrypt(MESSAGE, protocol)
    decoded = node_encryptor("decrypt", password, IV, protocol, wire=base64.b64encode(wire).decode())
    assert decoded == {"payload": MESSAGE}
    from_node = node_encryptor("encrypt", password, IV, protocol, payload=MESSAGE)
    node_wire = base64.b64decode(from_node["wire"])
    assert node_wire == wire  # CBC with a fixed IV is deterministic: the very same bytes
    assert cipher.decrypt(node_wire, protocol) == MESSAGE


def test_protocol_1_is_base64_text_and_protocol_2_raw_bytes() -> None:
    cipher = MessageCipher(PASSWORD, IV)
    v1, v2 = cipher.encrypt(MESSAGE, 1), cipher.encrypt(MESSAGE, 2)
    assert base64.b64decode(v1) == v2 and len(v2) % 16 == 0
    assert MessageCipher(None, None).encrypt(MESSAGE, 2).startswith(b'{"id":"m-1"')


def test_undecodable_input_says_why() -> None:
    cipher = MessageCipher(PASSWORD, IV)
    wire = cipher.encrypt(MESSAGE, 1)
    with pytest.raises(DecodeError, match=r"AES blocks|wrong password or IV"):
        cipher.decrypt(wire, 2)  # base64 sent as protocol 2
    with pytest.raises(DecodeError, match="not base64"):
        cipher.decrypt(b'{"body": {}}', 1)  # plain JSON
    with pytest.raises(DecodeError, match=r"wrong password or IV|not JSON"):
        MessageCipher("another password", IV).decrypt(wire, 1)
    with pytest.raises(DecodeError, match="empty"):
        cipher.decrypt(b"", 1)
    # sailor-nodejs refuses the same inputs.
    assert "error" in node_encryptor("decrypt", PASSWORD, IV, 2, wire=base64.b64encode(wire).decode())


def test_iv_must_be_16_bytes() -> None:
    with pytest.raises(ConfigError, match="16 bytes"):
        MessageCipher(PASSWORD, "short")
    with pytest.raises(ConfigError, match="IV is missing"):
        MessageCipher(PASSWORD, None)
