"""The baseline reader: the loop a person writes by hand with httpx, as a whole process.

Sequential GETs of every page with the same auth and headers as the bench component (API key
header + Basic), ``response.json()``, a check of ``ErrorCode``, one JSON line per record on
stdout. ``all.py`` times it beside ``skiff run`` of ``bench/paged``.

    python bench/httpx_loop.py BASE_URL > out.jsonl
"""

from __future__ import annotations

import json
import sys

import httpx


def main() -> None:
    base = sys.argv[1]
    out = sys.stdout
    with httpx.Client(
        base_url=base,
        auth=("bench@example.com", "bench-pass"),
        headers={"X-Api-Key": "bench-key", "Accept": "application/json"},
    ) as client:
        page = 1
        while True:
            response = client.get("/orders", params={"page": page, "pageSize": 250})
            response.raise_for_status()
            body = response.json()
            if body["ErrorCode"] != 0:
                raise SystemExit(f"error: {body['ErrorMessage']}")
            for record in body["Data"]:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if not body["Data"] or page >= body["Paging"]["TotalPages"]:
                break
            page += 1


if __name__ == "__main__":
    main()
