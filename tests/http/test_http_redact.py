"""skiff.http.redact: secrets never reach a log line or an error."""

from __future__ import annotations

import base64

from skiff.http import redact, redact_url


def test_redact_masks_secret_and_its_encodings() -> None:
    secret = "s3cr3t/key+=="
    text = f"a {secret} b {secret.replace('/', '%2F').replace('+', '%2B').replace('=', '%3D')} c"
    text += " " + base64.b64encode(secret.encode()).decode()
    out = redact(text, [secret])
    assert "s3cr3t" not in out
    assert out.count("***") == 3


def test_redact_masks_basic_header_value() -> None:
    header = "Basic " + base64.b64encode(b"user:pa55word").decode()
    assert redact(header, ["user:pa55word"]) == "Basic ***"


def test_redact_ignores_empty_and_tiny_secrets() -> None:
    assert redact("order 1 of 10", ["", None, "1"]) == "order 1 of 10"


def test_redact_url_drops_userinfo_and_masks_sensitive_params() -> None:
    url = "https://bob:hunter22@api.example.com/v1/x?api_key=abc123&page=2&token=zzz"
    out = redact_url(url)
    assert "hunter22" not in out and "bob" not in out
    assert "abc123" not in out and "zzz" not in out
    assert "page=2" in out
    assert "api_key=***" in out


def test_redact_url_masks_known_secret_in_custom_param() -> None:
    out = redact_url("https://h.example/x?q=topsecretvalue", ["topsecretvalue"])
    assert out == "https://h.example/x?q=***"


def test_redact_url_leaves_a_url_without_secrets_as_typed() -> None:
    # A store URL in a message ("no snapshot 'k' in sqlite:///a.db") must read as the user typed it.
    for url in ("sqlite:///rel/state.db", "sqlite:////abs/state.db", ".skiff/state.db", "redis://127.0.0.1:6379/0"):
        assert redact_url(url) == url
    assert redact_url("redis://:pw-123456@127.0.0.1:6379/0") == "redis://***@127.0.0.1:6379/0"
