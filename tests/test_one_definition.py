"""One definition of each idea: a second copy (as there were two MISSINGs and two dot-path readers) fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skiff.dotpath import MISSING, get_path
from skiff.message import page_body, page_records
from skiff.validation import check_schema

LIB = Path(__file__).resolve().parents[1] / "lib" / "skiff"

DEFINITIONS = {
    "MISSING": r"^MISSING\b.*=",
    "a dot-path reader": r"^def (get_path|get_field)\(",
    "redact_url": r"^\s*def redact_url\(",
    "the list of secret-looking names": r"(_SECRET_PARTS|SECRET_WORDS)\s*=",
    "NAME_PATTERN": r"^NAME_PATTERN\s*=",
    "SNAPSHOT_LIMIT": r"^SNAPSHOT_LIMIT\b.*=",
    "the emit behaviours": r"Literal\[\"emitIndividually\"",
    "a duration parser": r"^_DURATION\s*=",
}


@pytest.mark.parametrize("idea", sorted(DEFINITIONS))
def test_defined_once(idea: str) -> None:
    pattern = re.compile(DEFINITIONS[idea], re.MULTILINE)
    found = [
        str(p.relative_to(LIB)) for p in sorted(LIB.rglob("*.py")) if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert len(found) == 1, f"{idea} is defined in {found}"


def test_dot_paths_mean_the_same_for_records_and_cursors() -> None:
    record = {"data": {"items": [{"updatedAt": "2024-01-01"}]}, "meta.updated": "x"}
    assert get_path(record, "data.items.0.updatedAt") == "2024-01-01"  # list indices, everywhere
    assert get_path(record, "meta.updated") == "x"  # a key with a dot
    assert get_path(record, "data.nope", MISSING) is MISSING
    with pytest.raises(TypeError):
        bool(MISSING)  # compared with 'is', never by truth


def test_one_page_shape_for_actions_and_triggers() -> None:
    assert page_body([1, 2], 3) == {"results": [1, 2], "page": 3}
    assert page_body([1]) == {"results": [1]}
    assert page_records(page_body([1], 1)) == [1] and page_records({"results": 1}) is None


def test_one_json_schema_draft_for_checking_and_validating() -> None:
    # prefixItems is 2020-12: under draft 7 a number there passed unnoticed.
    assert check_schema({"type": "array", "prefixItems": 5}) is not None


VENDOR_TEXT = {"cli/cmd_demo.py"}
"""Files of lib/skiff that may name a vendor: the demo's user-facing text walks through one."""


def test_lib_skiff_names_no_vendor() -> None:
    # Vendors are the components shipped beside skiff (each has a folder under components/);
    # the runtime states the generic rule, and a component declares what its API needs.
    vendors = sorted(p.name for p in (LIB.parents[1] / "components").iterdir() if (p / "component.json").is_file())
    assert {"billbee", "billomat", "billwerk", "plenigo"} <= set(vendors)
    named = re.compile("|".join(vendors), re.IGNORECASE)
    found = [
        f"{p.relative_to(LIB)}:{n}: {line.strip()}"
        for p in sorted(LIB.rglob("*.py"))
        if str(p.relative_to(LIB)) not in VENDOR_TEXT
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if named.search(line)
    ]
    assert found == [], "\n".join(found)
