"""setClientPropertyValue: one value per client and property, created or updated.

Billomat's ``POST /client-property-values`` adds a value even when the client has one for that
property already, and the client then shows two. This handler looks the value up first and
updates it in place, or creates it when there is none: two declarative calls, no more.
"""

from __future__ import annotations

from typing import Any

from skiff.errors import InputError
from skiff.message import Message
from skiff.run import Context

__all__ = ["process"]

_VALUES = "client-property-values.client-property-value"


async def process(ctx: Context, msg: Message, cfg: dict[str, Any]) -> Any:
    body = msg.body
    client_id = body["client_id"]
    property_id = body.get("client_property_id") or cfg.get("clientPropertyId")
    if property_id in (None, ""):
        raise InputError(
            "setClientPropertyValue: body.client_property_id: needed, or choose the field 'Client property'"
        )
    query = {"client_id": client_id, "client_property_id": property_id, "per_page": 1}
    found = await ctx.call(
        {"method": "GET", "path": "/client-property-values", "query": query}, records_path=_VALUES, emit=False
    )
    if found:
        value_id = int(found[0]["id"])  # digits: Billomat ids
        request = {"method": "PUT", "path": f"/client-property-values/{value_id}"}
        inner = {"value": body["value"]}
    else:
        request = {"method": "POST", "path": "/client-property-values"}
        inner = {"client_id": client_id, "client_property_id": property_id, "value": body["value"]}
    saved = await ctx.call(
        {**request, "body": {"client-property-value": inner}}, records_path="client-property-value", emit=False
    )
    return saved[0]
