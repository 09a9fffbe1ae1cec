"""The npm ``elasticio-sailor-nodejs`` 2.7.8, installed outside the repository for interop tests.

Installed once with npm into ``~/.cache/skiff-test-npm/sailor-2.7.8`` (or ``$SKIFF_TEST_NPM_DIR``);
never vendored. Tests that need it skip with the reason when node or npm are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SAILOR_VERSION = "2.7.8"
NPM_DIR = Path(os.environ.get("SKIFF_TEST_NPM_DIR", Path.home() / ".cache" / "skiff-test-npm")) / (
    f"sailor-{SAILOR_VERSION}"
)


PACKAGE = f"elasticio-sailor-nodejs@{SAILOR_VERSION}"


def sailor_package() -> Path:
    """The installed package folder (``.../node_modules/elasticio-sailor-nodejs``)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed: cannot run elasticio-sailor-nodejs")
    package = NPM_DIR / "node_modules" / "elasticio-sailor-nodejs"
    if not (package / "package.json").is_file():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        (NPM_DIR / "package.json").write_text('{"name": "skiff-sailor-test", "private": true}', encoding="utf-8")
        result = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"elasticio-sailor-nodejs@{SAILOR_VERSION}",
            ],
            cwd=NPM_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm install {PACKAGE} failed:\n{result.stderr[-2000:]}")
    return package


_ENCRYPTOR = r"""
const Encryptor = require(process.env.SAILOR + '/lib/encryptor.js');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const enc = new Encryptor(input.password, input.iv);
const encoding = input.protocol < 2 ? 'base64' : undefined;
if (input.op === 'encrypt') {
  process.stdout.write(JSON.stringify({wire: enc.encryptMessageContent(input.payload, encoding).toString('base64')}));
} else {
  try {
    const out = enc.decryptMessageContent(Buffer.from(input.wire, 'base64'), encoding);
    process.stdout.write(JSON.stringify({payload: out}));
  } catch (err) {
    process.stdout.write(JSON.stringify({error: err.message}));
  }
}
"""


def node_encryptor(op: str, password: str | None, iv: str | None, protocol: int, **fields: Any) -> dict[str, Any]:
    """Run sailor-nodejs' Encryptor once: ``encrypt`` a payload or ``decrypt`` wire bytes (base64 here)."""
    package = sailor_package()
    result = subprocess.run(
        ["node", "-e", _ENCRYPTOR],
        input=json.dumps({"op": op, "password": password, "iv": iv, "protocol": protocol, **fields}),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SAILOR": str(package), "LOG_LEVEL": "fatal"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]
