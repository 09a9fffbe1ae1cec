"""skiff.http.urls: the https rule, base URL joining and endpoint keys."""

from __future__ import annotations

import httpx
import pytest

from skiff.errors import ConfigError
from skiff.http import HttpClient, check_url, endpoint_template, is_loopback, join_url
from skiff.specs import HttpSpec, OAuth2ClientCredentials


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "[::1]", "api.localhost"])
def test_plain_http_allowed_to_loopback(host: str) -> None:
    assert check_url(f"http://{host}:8080/x").scheme == "http"


def test_https_anywhere() -> None:
    assert check_url("https://api.billbee.io/api/v1").host == "api.billbee.io"


@pytest.mark.parametrize("host", ["10.0.0.1", "example.com", "128.0.0.1", "localhost.example.com"])
def test_plain_http_to_remote_host_is_config_error(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="must use https"):
        check_url(f"http://{host}/api")


def test_config_error_names_url_without_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        check_url("http://bob:pw-123456@api.example.com/v1?api_key=K3Y-999&x=1")
    text = str(info.value)
    assert "api.example.com/v1" in text
    assert "pw-123456" not in text and "K3Y-999" not in text
    assert "\n" not in text


def test_client_refuses_remote_http_base_url() -> None:
    with pytest.raises(ConfigError, match=r"http://api\.example\.com/v1 must use https"):
        HttpClient(HttpSpec(baseUrl="http://api.example.com/v1"))


def test_client_refuses_remote_http_token_url() -> None:
    oauth = OAuth2ClientCredentials(tokenUrl="http://auth.example.com/oauth/token", clientId="a", clientSecret="b")
    with pytest.raises(ConfigError, match="tokenUrl"):
        HttpClient(HttpSpec(baseUrl="https://api.example.com", auth=[oauth]))


def test_join_keeps_base_path() -> None:
    base = httpx.URL("https://api.billbee.io/api/v1/")
    assert str(join_url(base, "/orders")) == "https://api.billbee.io/api/v1/orders"
    assert str(join_url(base, "orders/5?x=1")) == "https://api.billbee.io/api/v1/orders/5?x=1"
    assert str(join_url(base, "https://api.billbee.io/other")) == "https://api.billbee.io/other"


def test_join_refuses_other_host() -> None:
    with pytest.raises(ConfigError, match="same host"):
        join_url(httpx.URL("https://api.billbee.io/api/v1"), "https://evil.example.com/x")


def test_endpoint_template() -> None:
    assert endpoint_template("get", "/orders/123?x=1") == "GET /orders/{id}"
    assert endpoint_template("PUT", "/contracts/5f1a2b3c4d5e6f7a8b9c0d1e/usage") == "PUT /contracts/{id}/usage"
    assert endpoint_template("GET", "/orders") == "GET /orders"
