"""downloadInvoice: an invoice's PDF as a message attachment.

Billwerk serves documents in two steps (a short-lived download link, then the file), which a
declarative request cannot chain; this handler does exactly those two calls.
"""

from __future__ import annotations

from typing import Any

from skiff.message import Message

__all__ = ["process"]


async def process(ctx: Any, msg: Message, cfg: dict[str, Any]) -> Message:
    invoice_id = msg.body["invoiceId"]
    # Creating the token changes nothing else, so a retry is harmless.
    link = await ctx.http.post(f"/Invoices/{invoice_id}/downloadLink", idempotent=True)
    # The link is an absolute URL on the API host; the HTTP layer refuses any other host.
    pdf = await ctx.call({"method": "GET", "path": link["Url"], "responseType": "binary"}, emit=False)
    if not isinstance(pdf, Message):
        raise TypeError(f"the invoice download answered {type(pdf).__name__}, not a file")
    return Message(body={"invoiceId": invoice_id, **pdf.body}, attachments=pdf.attachments)
