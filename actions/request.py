"""The ``http`` component's ``request`` action: any REST call, declared in the message body."""

from __future__ import annotations

from typing import Any


async def process(ctx: Any, msg: Any, cfg: dict[str, Any]) -> Any:
    body = msg.body
    # Everything else (auth, limits, retries, paging, emit behaviour) is the executor's job.
    await ctx.call(
        {
            "method": body.get("method", "GET"),
            "path": body["path"],
            "query": body.get("query") or {},
            "headers": body.get("headers") or {},
            "body": body.get("body"),
        },
        pagination=body.get("pagination"),
        records_path=body.get("recordsPath"),
        emit_behavior=body.get("emitBehavior"),
        max_pages=body.get("maxPages"),
        idempotent=body.get("idempotent"),
    )
