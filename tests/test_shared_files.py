"""tests.shared_files: a missing ../shared file skips with one line naming it; under CI=true it fails."""

from __future__ import annotations

import pytest

from tests.shared_files import SHARED, shared_file


def test_missing_file_skips_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as info:
        shared_file("specs/no-such-spec.yaml")
    message = str(info.value)
    assert "\n" not in message and "../shared/specs/no-such-spec.yaml" in message


@pytest.mark.parametrize("value", ["true", "1"])
def test_missing_file_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=r"\.\./shared/seeds/nothing\.md"):
        shared_file("seeds/nothing.md")


def test_present_file_is_its_path(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent here: nothing present to find")
    present = next(p for p in sorted(SHARED.rglob("*")) if p.is_file())
    assert shared_file(present.relative_to(SHARED).as_posix()) == present
