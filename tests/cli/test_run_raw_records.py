"""``skiff run`` of a paged list without a schema: records go out as the server's JSON text.

Nothing reads them on the way (no schema, bodies only), so they are never parsed; what a user
gets must not change: one JSON document per line, the same values, ``--limit``, the loop
guard, and the out-schema check wherever a schema is declared.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import json_lines, serve_asgi, skiff_cmd

RECORDS = [
    {"Id": i, "Name": ["Müller", "Łukasz", "a\nb", '"q"'][i % 4], "Price": i * 0.5, "Tags": []} for i in range(7)
]
SIZE = 3  # three pages: 3, 3 and 1 records


def _page(records: list[dict[str, Any]], page: int, pretty: bool) -> bytes:
    body = {"Paging": {"Page": page, "TotalPages": 3}, "ErrorCode": 0, "ErrorMessage": None, "Data": records}
    if pretty:
        return json.dumps(body, indent=2, ensure_ascii=True).encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    async def orders(request: Request) -> Response:
        page = int(request.query_params["page"])
        pretty = request.query_params.get("pretty") == "1"
        if request.query_params.get("stuck") == "1":  # answers page 1 whatever is asked
            page = 1
        records = RECORDS[(page - 1) * SIZE : page * SIZE]
        return Response(_page(records, page, pretty), media_type="application/json")

    with serve_asgi(Starlette(routes=[Route("/orders", orders)])) as url:
        yield url


def component(tmp_path: Path, *, query: dict[str, str] | None = None, out: Any = None, total: bool = True) -> str:
    pagination: dict[str, Any] = {"type": "page", "pageParam": "page", "sizeParam": "size", "size": SIZE}
    if total:
        pagination["totalPagesPath"] = "Paging.TotalPages"
    action: dict[str, Any] = {
        "title": "Orders",
        "request": {"method": "GET", "path": "/orders", "query": query or {}},
        "pagination": pagination,
    }
    if out is not None:
        action["metadata"] = {"out": out}
    data = {
        "title": "Raw",
        "credentials": {"fields": {"baseUrl": {"label": "URL", "viewClass": "TextFieldView"}}},
        "http": {
            "baseUrl": "{{ cfg.baseUrl }}",
            "envelope": {"dataPath": "Data", "errorCodePath": "ErrorCode", "errorMessagePath": "ErrorMessage"},
        },
        "actions": {"orders": action},
    }
    (tmp_path / "component.json").write_text(json.dumps(data))
    return str(tmp_path)


def run(folder: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = skiff_cmd("run", folder, "orders", *extra, cfg={"baseUrl": url})
    return subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", timeout=60)


@pytest.mark.parametrize("pretty", [False, True])
def test_every_record_is_one_line_with_its_values(api: str, tmp_path: Path, pretty: bool) -> None:
    folder = component(tmp_path, query={"pretty": "1"} if pretty else {})
    done = run(folder, api)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == len(RECORDS)
    assert json_lines(done.stdout) == RECORDS


def test_the_output_is_what_parsing_and_encoding_wrote(api: str, tmp_path: Path) -> None:
    done = run(component(tmp_path), api)
    # The compact UTF-8 that orjson writes for a parsed record (the CLI's output before).
    expected = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in RECORDS)
    assert done.stdout == expected


def test_limit_stops_inside_a_page(api: str, tmp_path: Path) -> None:
    done = run(component(tmp_path), api, "--limit", "4")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout) == RECORDS[:4]


def test_messages_still_carry_parsed_bodies(api: str, tmp_path: Path) -> None:
    done = run(component(tmp_path), api, "--messages")
    assert done.returncode == 0, done.stderr
    assert [m["body"] for m in json_lines(done.stdout)] == RECORDS


def test_the_loop_guard_still_sees_a_repeated_page(api: str, tmp_path: Path) -> None:
    done = run(component(tmp_path, query={"stuck": "1"}, total=False), api)
    assert done.returncode == 4
    assert "pagination loop: page 2 repeats an earlier page" in done.stderr
    assert json_lines(done.stdout) == RECORDS[:SIZE]


def test_an_out_schema_still_checks_every_record(api: str, tmp_path: Path) -> None:
    schema = {"type": "array", "items": {"type": "object", "properties": {"Name": {"type": "string", "maxLength": 5}}}}
    done = run(component(tmp_path, out=schema), api)
    assert done.returncode != 0
    assert "does not match the out-schema" in done.stderr
