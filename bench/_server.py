"""The benchmarks' local API: a raw ASGI app under uvicorn, every answer pre-serialised.

GET /api/v1/orders?page=P&pageSize=250   Billbee envelope, page P of N orders
GET /api/v1/orders/ID                      one order (about 1 KB) in the envelope (per-call overhead)
GET /api/v1/small                          a tiny JSON document
Prints "ready" on stdout once the pages are built; the parent waits for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PAGE_SIZE, make_order

_JSON = [(b"content-type", b"application/json; charset=utf-8")]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _head(page: int, total_pages: int, records: int, page_size: int) -> bytes:
    paging = {"Page": page, "TotalPages": total_pages, "TotalRows": records, "PageSize": page_size}
    return b'{"Paging":' + _dumps(paging) + b',"ErrorCode":0,"ErrorMessage":null,"ErrorDescription":null,"Data":'


def build_pages(records: int, page_size: int = PAGE_SIZE) -> list[bytes]:
    total_pages = max(1, -(-records // page_size))
    pages: list[bytes] = []
    for p in range(1, total_pages + 1):
        data = [make_order(i) for i in range((p - 1) * page_size, min(records, p * page_size))]
        pages.append(_head(p, total_pages, records, page_size) + _dumps(data) + b"}")
    return pages


class CyclicPages:
    """Pages of a large data set without holding it: ``distinct`` pages are built once and reused.

    Page P beyond them reuses the middle records of page ``(P - 1) % distinct + 1`` and gets its
    own first and last record (fresh ids), so a reader's loop guard sees distinct pages. Lets
    the memory benchmark read 20 x N records from a server of bounded size.
    """

    def __init__(self, records: int, distinct: int, page_size: int = PAGE_SIZE) -> None:
        self.records = records
        self.page_size = page_size
        self.total_pages = max(1, -(-records // page_size))
        self.middles: list[tuple[bytes, int]] = []
        for p in range(max(1, min(distinct, self.total_pages))):
            first, last = self._bounds(p)
            middle = b",".join(_dumps(make_order(i)) for i in range(first + 1, last - 1))
            self.middles.append((middle, last - first - 2))

    def _bounds(self, index: int) -> tuple[int, int]:
        first = index * self.page_size
        return first, min(self.records, first + self.page_size)

    def __len__(self) -> int:
        return self.total_pages

    def __getitem__(self, index: int) -> bytes:
        first, last = self._bounds(index)
        head = _head(index + 1, self.total_pages, self.records, self.page_size)
        middle, count = self.middles[index % len(self.middles)]
        if count != last - first - 2 or count < 1:  # a short last page: built whole
            return head + _dumps([make_order(i) for i in range(first, last)]) + b"}"
        return head + b"[" + _dumps(make_order(first)) + b"," + middle + b"," + _dumps(make_order(last - 1)) + b"]}"


def make_app(records: int, distinct: int | None = None) -> Any:
    pages: Any = build_pages(records) if distinct is None else CyclicPages(records, distinct)
    empty = json.dumps(
        {
            "Paging": {"Page": len(pages) + 1, "TotalPages": len(pages), "TotalRows": records, "PageSize": PAGE_SIZE},
            "ErrorCode": 0,
            "ErrorMessage": None,
            "Data": [],
        }
    ).encode()
    small = b'{"ErrorCode":0,"ErrorMessage":null,"Data":{"Id":1,"Name":"bench"}}'
    not_found = b'{"ErrorCode":1,"ErrorMessage":"not found","Data":null}'
    one = json.dumps(
        {"ErrorCode": 0, "ErrorMessage": None, "ErrorDescription": None, "Data": make_order(1)},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        status, body = 404, not_found
        if path == "/api/v1/orders":
            query = dict(parse_qsl(scope["query_string"].decode()))
            page = int(query.get("page", "1"))
            if int(query.get("pageSize", PAGE_SIZE)) != PAGE_SIZE:
                status, body = 400, b'{"ErrorCode":11,"ErrorMessage":"pageSize must be 250","Data":null}'
            else:
                status, body = 200, pages[page - 1] if 1 <= page <= len(pages) else empty
        elif path.startswith("/api/v1/orders/"):
            status, body = 200, one
        elif path == "/api/v1/small":
            status, body = 200, small
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--distinct", type=int, help="Build only this many pages and reuse them (large N).")
    args = parser.parse_args()
    app = make_app(args.records, args.distinct)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    print("ready", flush=True)
    server.run()


if __name__ == "__main__":
    main()
