"""``skiff run --attachments DIR``: each emitted attachment is written there; the message carries its url."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support import SKIFF

ECHO = Path(__file__).resolve().parents[1] / "worker" / "echo"


def test_attachments_are_written_to_the_folder(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            *SKIFF,
            "run",
            str(ECHO),
            "attach",
            "--body",
            '{"n": 3}',
            "--messages",
            "--attachments",
            str(tmp_path / "att"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    message = json.loads(out.stdout)
    att = message["attachments"]["invoice.txt"]
    assert att["size"] == len(b"invoice 3\n") and att["content-type"] == "text/plain"
    [file] = (tmp_path / "att").iterdir()
    assert att["url"] == file.as_uri() and file.read_bytes() == b"invoice 3\n"
