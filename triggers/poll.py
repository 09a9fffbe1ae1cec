"""The ``http`` component's ``poll`` trigger: new and changed records of any paged JSON API."""

from __future__ import annotations

from typing import Any


async def process(ctx: Any, msg: Any, cfg: dict[str, Any]) -> Any:
    # The trigger's cfg describes the request; skiff.triggers does cursors, dedupe and snapshots.
    spec: dict[str, Any] = {
        "request": {"method": "GET", "path": cfg["path"], "query": cfg.get("query") or {}},
        "recordsPath": cfg.get("recordsPath"),
        "cursorKind": cfg.get("cursorKind") or "timestamp",
        "cursorField": cfg.get("cursorField"),
        "idField": cfg.get("idField") or "id",
        "cursorParam": cfg.get("cursorParam"),
        "pagination": cfg.get("pagination"),
        "order": cfg.get("order") or "any",
    }
    # cfg values are data, not templates: sent as typed, never rendered.
    await ctx.poll({k: v for k, v in spec.items() if v is not None}, template=False)
