"""downloadInvoice: an invoice's PDF as a message attachment.

Billwerk serves documents in two steps (a short-lived download link, then the file), which a
declarative request cannot chain; this handler makes exactly those two calls.
"""

from __future__ import annotations

from typing import Any

from skiff.errors import ApiError
from skiff.message import Message
from skiff.run import Context

__all__ = ["process"]


async def process(ctx: Context, msg: Message, cfg: dict[str, Any]) -> Message:
    invoice_id = msg.body["invoiceId"]
    # Creating a download token changes nothing else, so a retried POST is harmless.
    link = await ctx.http.post(f"/Invoices/{invoice_id}/downloadLink", idempotent=True)
    url = link.get("Url") if isinstance(link, dict) else None
    if not isinstance(url, str) or not url:
        raise ApiError(f"POST /Invoices/{invoice_id}/downloadLink answered no Url")
    # An absolute URL on the API host: the HTTP layer refuses any other host (no token leaves it).
    pdf = await ctx.call({"method": "GET", "path": url, "responseType": "binary"}, emit=False)
    if not isinstance(pdf, Message):
        raise ApiError(f"the download of invoice {invoice_id} answered data, not a file")
    return Message(body={"invoiceId": invoice_id, **pdf.body}, attachments=pdf.attachments)
