"""The token, the session cookie, CSRF and Host checks, against a real studio."""

from __future__ import annotations

import httpx

from skiff.studio import StudioServer


def test_nothing_without_the_token(studio: StudioServer) -> None:
    with httpx.Client(base_url=studio.base_url) as c:
        for path in ("/", "/api/components", "/api/credentials", "/static/main.js"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert "token" in r.text
        r = c.post("/api/run", json={"component": "billbee", "function": "orderApiGetList"})
        assert r.status_code == 401


def test_wrong_token_is_refused(studio: StudioServer) -> None:
    with httpx.Client(base_url=studio.base_url) as c:
        r = c.get("/?token=" + "0" * 48)
        assert r.status_code == 403
        assert c.get("/api/components").status_code == 401


def test_token_becomes_a_strict_httponly_cookie_and_leaves_the_url(studio: StudioServer) -> None:
    with httpx.Client(base_url=studio.base_url) as c:
        r = c.get(studio.url)
        assert r.status_code == 303
        assert r.headers["location"] == "/"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert studio.settings.token not in r.headers["set-cookie"]
        assert c.get("/api/components").status_code == 200
        assert "skiff studio" in c.get("/").text


def test_state_changing_requests_need_the_csrf_header(studio: StudioServer) -> None:
    with httpx.Client(base_url=studio.base_url) as c:
        c.get(studio.url)
        body: dict[str, object] = {"component": "http", "cfg": {}}  # fails at once: no baseUrl
        refused = c.post("/api/verify", json=body)
        assert refused.status_code == 403
        assert "x-skiff-csrf" in refused.text
        csrf = c.get("/api/session").json()["csrf"]
        assert c.post("/api/verify", json=body, headers={"X-Skiff-CSRF": "nope"}).status_code == 403
        # A form posted by another site carries its Origin: refused even with a leaked header.
        other = c.post("/api/verify", json=body, headers={"X-Skiff-CSRF": csrf, "Origin": "https://evil.example"})
        assert other.status_code == 403
        ok = c.post("/api/verify", json=body, headers={"X-Skiff-CSRF": csrf, "Origin": studio.base_url})
        assert ok.status_code == 200
        assert ok.json()["error"]["field"] == "cfg.baseUrl"


def test_scripts_may_use_the_token_header(studio: StudioServer) -> None:
    with httpx.Client(base_url=studio.base_url) as c:
        headers = {"Authorization": f"token {studio.settings.token}"}
        assert c.get("/api/components", headers=headers).status_code == 200
        r = c.post("/api/verify", json={"component": "http", "cfg": {}}, headers=headers)
        assert r.status_code == 200


def test_foreign_host_header_is_refused(studio: StudioServer) -> None:
    # DNS rebinding: a page on attacker.example resolves its name to 127.0.0.1.
    with httpx.Client(base_url=studio.base_url) as c:
        r = c.get(studio.url, headers={"Host": f"attacker.example:{studio.port}"})
        assert r.status_code == 403
        assert "not allowed" in r.text
