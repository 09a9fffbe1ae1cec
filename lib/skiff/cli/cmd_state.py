"""``skiff state show|reset``: where each trigger stands, or start it over."""

from __future__ import annotations

import asyncio
import difflib
from typing import Any

import click

from ..errors import ConfigError

__all__ = ["state"]


def _explain(snapshot: dict[str, Any]) -> str:
    """One line a person can read: the cursor, how many boundary ids are kept, the size."""
    from ..polling import snapshot_size

    kind = snapshot.get("kind", "?")
    parts = [f"kind={kind}"]
    if "cursor" in snapshot:
        parts.append(f"cursor={snapshot['cursor']!r}")
    ids = snapshot.get("ids")
    if isinstance(ids, list):
        parts.append(f"boundary ids={len(ids)}")
    for key in ("seen", "count"):
        if key in snapshot and not isinstance(snapshot[key], dict | list):
            parts.append(f"{key}={snapshot[key]}")
    parts.append(f"size={snapshot_size(snapshot)} B")
    return " ".join(parts)


@click.group()
def state() -> None:
    """Inspect or reset trigger snapshots."""


@state.command("show")
@click.argument("key", required=False)
@click.option("--state", "uri", help="Snapshot store: a path (SQLite) or redis:// / postgresql:// URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshots as JSON.")
@click.option("--pretty", is_flag=True, help="Indent the JSON (for people; default: one line).")
def show(key: str | None, uri: str | None, as_json: bool, pretty: bool) -> None:
    """List snapshots (KEY: flow/component/trigger, or a prefix)."""
    from ..http.redact import redact_url
    from ..state import default_location, open_store

    async def go() -> list[tuple[str, dict[str, Any], Any]]:
        store = open_store(uri or default_location())
        try:
            rows = await store.list()
        finally:
            await store.close()
        return [r for r in rows if key is None or r[0] == key or r[0].startswith(key.rstrip("/") + "/")]

    rows = asyncio.run(go())
    if as_json or pretty:
        from . import echo_json

        echo_json({k: {"snapshot": s, "updated": str(u)} for k, s, u in rows}, pretty)
        return
    if not rows:
        click.echo("no snapshots" + (f" under {key}" if key else "") + f" in {redact_url(uri or default_location())}")
        return
    for k, snapshot, updated in rows:
        click.echo(f"{k}  (updated {updated})")
        click.echo(f"  {_explain(snapshot)}")


@state.command("reset")
@click.argument("key")
@click.option("--state", "uri", help="Snapshot store: a path (SQLite) or redis:// / postgresql:// URL.")
def reset(key: str, uri: str | None) -> None:
    """Delete a trigger's snapshot: its next poll starts from startTime again."""
    from ..http.redact import redact_url
    from ..state import default_location, open_store

    where = uri or default_location()

    async def go() -> None:
        store = open_store(where)
        try:
            if await store.get(key) is None:
                known = [k for k, _, _ in await store.list()]
                hint = difflib.get_close_matches(key, known, n=1)
                raise ConfigError(
                    f"no snapshot {key!r} in {redact_url(where)}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else f"; known: {', '.join(known) or 'none'}")
                )
            await store.delete(key)
        finally:
            await store.close()

    asyncio.run(go())
    click.echo(f"reset {key}")
