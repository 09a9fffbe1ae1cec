"""``skiff studio``: prints a loopback URL with its token; the URL signs a browser in."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support import SKIFF


def test_skiff_studio_prints_a_url_with_a_token(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*SKIFF, "studio", "--port", "0", "--flows", str(tmp_path), "--home", str(tmp_path / "home")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{48})", line)
            url = m.group(1) if m else None
        assert url, "no URL printed"
        with httpx.Client(follow_redirects=True) as c:
            page = c.get(url)
            assert page.status_code == 200 and "skiff studio" in page.text
            assert "token=" not in str(page.url)  # the token left the address bar
            assert c.get(str(page.url.join("/api/components"))).status_code == 200
        assert httpx.get(url.split("?")[0] + "api/components").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    r = subprocess.run([*SKIFF, "studio", "--host", "0.0.0.0", "--home", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: ConfigError: --host 0.0.0.0: the studio listens on loopback only"


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            [*SKIFF, "studio", "--port", str(port), "--home", str(tmp_path)], capture_output=True, text=True
        )
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: ConfigError: cannot serve on 127.0.0.1:{port}: Address already in use"
