"""Operations of the "Orders", "Invoices" and "Offers" tags, plus the PDF/XML documents they serve."""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape

from starlette.responses import Response

from skiff.sandbox.pdf import make_pdf

from .core import (
    Ctx,
    OperationTable,
    PlenigoError,
    Record,
    bad_request,
    json_response,
    not_found,
    public,
    search_response,
    ts,
)
from .data import COMPANY_ID, PARTNER_COMPANY_ID, PARTNER_COMPANY_NAME, World
from .schemas import BODIES

__all__ = ["OPERATIONS", "invoice_xml", "make_pdf"]

OPERATIONS = OperationTable()
op = OPERATIONS.op


def world_of(ctx: Ctx) -> World:
    world: World = ctx.world
    return world


def money(value: float) -> str:
    return f"{value:,.2f} EUR".replace(",", "X").replace(".", ",").replace("X", ".")


def document_lines(record: Record) -> list[str]:
    address = record.get("invoiceAddress") or {}
    lines = [
        "Nordlicht Verlag GmbH, Holstenstraße 1, 24103 Kiel",
        "",
        " ".join(filter(None, [address.get("companyName")])),
        f"{address.get('firstName', '')} {address.get('lastName', '')}",
        f"{address.get('street', '')} {address.get('streetNumber', '')}",
        f"{address.get('postcode', '')} {address.get('city', '')}",
        "",
    ]
    for item in record.get("items", []):
        lines.append(
            f"{item.get('position', 1)}. {item.get('title', '')}  {item.get('quantity', 1)} x {money(item['price'])}"
        )
    lines += ["", f"Gesamt (inkl. MwSt.): {money(record.get('accumulatedPrice', 0.0))}"]
    return lines


def invoice_xml(invoice: Record) -> str:
    """The invoice as UBL 2.1 (XRechnung-like) XML."""
    address = invoice.get("invoiceAddress") or {}
    kind = "381" if invoice.get("type") != "INVOICE" else "380"
    lines = []
    for item in invoice.get("items", []):
        net = round(item["price"] * item["quantity"] / (1 + item.get("tax", 0) / 100), 2)
        lines.append(
            f"  <cac:InvoiceLine><cbc:ID>{item['position']}</cbc:ID>"
            f'<cbc:InvoicedQuantity unitCode="C62">{item["quantity"]}</cbc:InvoicedQuantity>'
            f'<cbc:LineExtensionAmount currencyID="EUR">{net:.2f}</cbc:LineExtensionAmount>'
            f"<cac:Item><cbc:Name>{escape(item.get('title', ''))}</cbc:Name>"
            f"<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{item.get('tax', 0):.1f}</cbc:Percent>"
            f"<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>"
            f'<cac:Price><cbc:PriceAmount currencyID="EUR">{item["price"]:.2f}</cbc:PriceAmount></cac:Price>'
            "</cac:InvoiceLine>"
        )
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<ubl:Invoice xmlns:ubl="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
            'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
            'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">',
            "  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
            "</cbc:CustomizationID>",
            f"  <cbc:ID>{invoice['invoiceId']}</cbc:ID>",
            f"  <cbc:IssueDate>{invoice['invoiceDate'][:10]}</cbc:IssueDate>",
            f"  <cbc:InvoiceTypeCode>{kind}</cbc:InvoiceTypeCode>",
            f"  <cbc:DocumentCurrencyCode>{invoice.get('currency', 'EUR')}</cbc:DocumentCurrencyCode>",
            f"  <cbc:BuyerReference>{escape(invoice.get('purchaseOrderIndicator') or invoice['invoiceCustomerId'])}"
            "</cbc:BuyerReference>",
            "  <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Nordlicht Verlag GmbH</cbc:Name>"
            "</cac:PartyName></cac:Party></cac:AccountingSupplierParty>",
            "  <cac:AccountingCustomerParty><cac:Party><cac:PostalAddress>"
            f"<cbc:StreetName>{escape(address.get('street', ''))} {escape(address.get('streetNumber', ''))}"
            "</cbc:StreetName>"
            f"<cbc:CityName>{escape(address.get('city', ''))}</cbc:CityName>"
            f"<cbc:PostalZone>{escape(address.get('postcode', ''))}</cbc:PostalZone>"
            f"<cac:Country><cbc:IdentificationCode>{escape(address.get('country', 'DE'))}</cbc:IdentificationCode>"
            "</cac:Country>"
            "</cac:PostalAddress></cac:Party></cac:AccountingCustomerParty>",
            f'  <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">{invoice["accumulatedPrice"]:.2f}'
            "</cbc:PayableAmount></cac:LegalMonetaryTotal>",
            *lines,
            "</ubl:Invoice>",
        ]
    )


# ------------------------------------------------------------------------------------ orders


def order_or_404(ctx: Ctx) -> Record:
    order = world_of(ctx).orders.get(ctx.int_path("orderId"))
    if order is None:
        raise not_found()
    return order


@op("GET", "/orders", "searchOrders", "Orders")
async def search_orders(ctx: Ctx) -> Response:
    params = ctx.search()
    rows = world_of(ctx).orders.list()
    external = ctx.query.get("externalSystemId")
    if external:
        rows = [r for r in rows if r.get("externalSystemId") == external]
    return search_response(rows, params, id_field="orderId")


@op("GET", "/orders/additionalData", "searchAdditionalDataOrders", "Orders")
async def search_order_additional_data(ctx: Ctx) -> Response:
    params = ctx.search()
    return search_response(world_of(ctx).order_data.list(), params, id_field="orderId")


@op("GET", "/orders/{orderId}", "getOrder", "Orders")
async def get_order(ctx: Ctx) -> Response:
    order = public(order_or_404(ctx))
    order["usedBy"] = {"voucherPurchases": [], "relationRules": [], "ageRules": []}
    return json_response(order)


@op("GET", "/orders/{orderId}/additionalData", "getOrderAdditionalData", "Orders")
async def get_order_additional_data(ctx: Ctx) -> Response:
    order = order_or_404(ctx)
    record = world_of(ctx).order_data.get(order["orderId"])
    if record is None:
        return json_response(
            {
                "orderId": order["orderId"],
                "data": {},
                "createdDate": order["createdDate"],
                "changedDate": order["createdDate"],
            }
        )
    return json_response(public(record))


@op("GET", "/orders/{orderId}/file", "getOrderPdf", "Orders")
async def get_order_pdf(ctx: Ctx) -> Response:
    order = order_or_404(ctx)
    pdf = make_pdf(f"Bestellbestätigung {order['orderId']}", document_lines(order))
    return json_response({"pdf": base64.b64encode(pdf).decode()})


@op("GET", "/orders/purchasedAddons", "searchPurchasedAddons", "Orders")
async def search_purchased_addons(ctx: Ctx) -> Response:
    params = ctx.search()
    return search_response(world_of(ctx).addons.list(), params, id_field="purchasedAddonId")


def addon_or_404(ctx: Ctx) -> Record:
    addon = world_of(ctx).addons.get(ctx.int_path("purchasedAddonId"))
    if addon is None:
        raise not_found()
    return addon


@op("GET", "/orders/purchasedAddons/{purchasedAddonId}", "getPurchasedAddonById", "Orders")
async def get_purchased_addon(ctx: Ctx) -> Response:
    return json_response(public(addon_or_404(ctx)))


@op("PUT", "/orders/purchasedAddons/{purchasedAddonId}/trackingData", "updatePurchasedAddonTrackingData", "Orders")
async def update_addon_tracking(ctx: Ctx) -> Response:
    world = world_of(ctx)
    addon = addon_or_404(ctx)
    body = await ctx.body(BODIES["updatePurchasedAddonTrackingData"])
    addon["status"] = body["status"]
    if "trackingData" in body:
        addon["trackingData"] = dict(body["trackingData"])
    if body["status"] == "DELIVERED" and not addon.get("deliveryDate"):
        addon["deliveryDate"] = ts(world.now())
    world.touch(world.addons, addon)
    return json_response(public(addon))


@op("GET", "/orders/crossClientTransactions", "searchCrossClientTransactions", "Orders")
async def search_cross_client_transactions(ctx: Ctx) -> Response:
    params = ctx.search()
    wanted = {name: ctx.int_query(name) for name in ("orderId", "subscriptionId", "invoiceId")}
    kind = ctx.enum_query("type", ("LOSS", "REFUND", "PAYMENT"))
    paid = ctx.enum_query("paidStatus", ("OPEN", "PAID"))
    company = ctx.query.get("connectedCompanyId")
    rows = [
        r
        for r in world_of(ctx).cross_transactions
        if all(v is None or r.get(k) == v for k, v in wanted.items())
        and (kind is None or r["type"] == kind)
        and (paid is None or r["paidStatus"] == paid)
        and (not company or r["connectedCompanyId"] == company)
    ]
    return search_response(rows, params, id_field="crossClientTransactionId")


def cross_transaction_or_404(ctx: Ctx) -> Record:
    record = world_of(ctx).cross_transactions.get(ctx.int_path("crossClientTransactionId"))
    if record is None:
        raise not_found()
    return record


@op(
    "GET",
    "/orders/crossClientTransactions/{crossClientTransactionId}",
    "getCrossClientTransactionById",
    "Orders",
)
async def get_cross_client_transaction(ctx: Ctx) -> Response:
    return json_response(public(cross_transaction_or_404(ctx)))


@op(
    "PUT",
    "/orders/crossClientTransactions/{crossClientTransactionId}/paidStatus",
    "updateCrossClientTransactionPaidStatus",
    "Orders",
)
async def update_cross_client_paid_status(ctx: Ctx) -> Response:
    world = world_of(ctx)
    record = cross_transaction_or_404(ctx)
    body = await ctx.body(BODIES["updateCrossClientTransactionPaidStatus"])
    record["paidStatus"] = body["paidStatus"]
    world.touch(world.cross_transactions, record)
    return json_response(public(record))


# ------------------------------------------------------------------------------------ invoices

INVOICE_TYPES = ("INVOICE", "CANCELLATION", "CANCELLATION_CORRECTION", "CORRECTION")


def invoice_or_404(ctx: Ctx) -> Record:
    invoice = world_of(ctx).invoices.get(ctx.int_path("invoiceId"))
    if invoice is None:
        raise not_found()
    return invoice


@op("GET", "/invoices", "searchInvoices", "Invoices")
async def search_invoices(ctx: Ctx) -> Response:
    params = ctx.search()
    order_id = ctx.int_query("orderId")
    item_id = ctx.int_query("subscriptionItemId")
    by_invoice_date = ctx.bool_query("filterByInvoiceDate")
    kind = ctx.enum_query("invoiceType", INVOICE_TYPES)
    rows = [
        r
        for r in world_of(ctx).invoices
        if (order_id is None or r.get("_orderId") == order_id)
        and (item_id is None or item_id in r["_subscriptionItemIds"])
        and (kind is None or r["type"] == kind)
    ]
    return search_response(
        rows, params, id_field="invoiceId", time_field="invoiceDate" if by_invoice_date else "changedDate"
    )


@op("GET", "/invoices/{invoiceId}", "getInvoice", "Invoices")
async def get_invoice(ctx: Ctx) -> Response:
    return json_response(public(invoice_or_404(ctx)))


@op("GET", "/invoices/{invoiceId}/file", "getInvoicePdf", "Invoices")
async def get_invoice_pdf(ctx: Ctx) -> Response:
    invoice = invoice_or_404(ctx)
    title = "Rechnung" if invoice["type"] == "INVOICE" else "Stornorechnung"
    pdf = make_pdf(f"{title} {invoice['invoiceId']} vom {invoice['invoiceDate'][:10]}", document_lines(invoice))
    return json_response({"pdf": base64.b64encode(pdf).decode()})


@op("GET", "/invoices/{invoiceId}/xml", "getInvoiceXml", "Invoices")
async def get_invoice_xml(ctx: Ctx) -> Response:
    return json_response({"xml": invoice_xml(invoice_or_404(ctx))})


@op("PUT", "/invoices/{invoiceId}/cancel", "cancelInvoicePdf", "Invoices")
async def cancel_invoice(ctx: Ctx) -> Response:
    world = world_of(ctx)
    invoice = invoice_or_404(ctx)
    ctx.bool_query("suppressCustomerMail")
    suppress_refund = ctx.bool_query("suppressRefund")
    if invoice["type"] != "INVOICE":
        raise PlenigoError(400, 50401, "Only invoices of type INVOICE can be cancelled.")
    if invoice.get("cancellationInvoiceId"):
        return json_response({"success": True})  # already cancelled: nothing more to do
    now = world.now()
    cancellation: Record = {
        **{k: v for k, v in invoice.items() if k not in ("invoiceId", "transactionId", "precursorId", "successorId")},
        "invoiceDate": ts(now),
        "type": "CANCELLATION",
        "precursorId": invoice["invoiceId"],
        "items": [{**item, "createdDate": ts(now), "changedDate": ts(now)} for item in invoice["items"]],
        **world.audit(now, by="API"),
    }
    world.invoices.insert(cancellation)
    invoice["cancellationInvoiceId"] = cancellation["invoiceId"]
    invoice["successorId"] = cancellation["invoiceId"]
    world.touch(world.invoices, invoice)
    refund_failed = False
    if invoice["status"] == "PAID" and not suppress_refund:
        if invoice["paymentMethod"] in ("BILLING", "ZERO"):
            refund_failed = True  # money paid by bank transfer cannot be refunded automatically
        else:
            transaction = world.new_transaction(cancellation, now)
            transaction["paymentAction"] = {
                "CREDIT_CARD": "CREDIT_CARD_REFUND",
                "PAYPAL": "PAYPAL_REFUND",
            }.get(invoice["paymentMethod"], "SEPA_VOID")
            cancellation["transactionId"] = transaction["plenigoTransactionId"]
    if refund_failed:
        return Response(status_code=207)
    return json_response({"success": True})


@op("PUT", "/invoices/{invoiceId}/paymentFailed", "invoicePaymentFailed", "Invoices")
async def invoice_payment_failed(ctx: Ctx) -> Response:
    world = world_of(ctx)
    invoice = invoice_or_404(ctx)
    invoice["status"] = "NOT_PAID"
    world.touch(world.invoices, invoice)
    return json_response({"success": True})


@op("PUT", "/invoices/{invoiceId}/statusChange", "invoicePaymentStatusChange", "Invoices")
async def invoice_status_change(ctx: Ctx) -> Response:
    world = world_of(ctx)
    invoice = invoice_or_404(ctx)
    body = await ctx.body(BODIES["invoicePaymentStatusChange"])
    if invoice["status"] != body["status"]:
        invoice["status"] = body["status"]
        world.touch(world.invoices, invoice)
    return json_response({"success": True})


# ------------------------------------------------------------------------------------ offers


def offer_search(ctx: Ctx, *, archived: bool) -> Response:
    params = ctx.search()
    plenigo_offer_id = ctx.query.get("plenigoOfferId")
    leaf = ctx.int_query("leafId")
    rows = [
        r
        for r in world_of(ctx).offers
        if r["archived"] is archived
        and (not plenigo_offer_id or r["plenigoOfferId"] == plenigo_offer_id)
        and (leaf is None or r.get("leafId") == leaf)
    ]
    return search_response(rows, params, id_field="offerId")


@op("GET", "/products/offers", "searchProductOffers", "Offers")
async def search_product_offers(ctx: Ctx) -> Response:
    return offer_search(ctx, archived=False)


@op("GET", "/products/offers/archived", "searchProductOffersArchived", "Offers")
async def search_product_offers_archived(ctx: Ctx) -> Response:
    return offer_search(ctx, archived=True)


@op("GET", "/products/offers/{offerId}", "getProductOffer", "Offers")
async def get_product_offer(ctx: Ctx) -> Response:
    raw = ctx.path("offerId")
    world = world_of(ctx)
    if raw.startswith("O_"):
        # Lenient: the documented id is the numeric offer id, but clients often hold the plenigo offer id.
        offer = world.offers.first(plenigoOfferId=raw)
    else:
        offer = world.offers.get(ctx.int_path("offerId", invalid=400))
    if offer is None:
        raise not_found()
    return json_response(public(offer))


@op("GET", "/products/offers/shared", "getSharedOffers", "Offers")
async def get_shared_offers(ctx: Ctx) -> Response:
    offers = [public(o) for o in world_of(ctx).shared_offers]
    return json_response(
        {"items": [{"companyId": PARTNER_COMPANY_ID, "companyName": PARTNER_COMPANY_NAME, "offers": offers}]}
    )


@op("GET", "/products/offers/shared/{sourceCompanyId}/{sharedOfferId}", "getSharedOffer", "Offers")
async def get_shared_offer(ctx: Ctx) -> Response:
    company = ctx.path("sourceCompanyId")
    if len(company) > 20:
        raise bad_request("sourceCompanyId", "max", company)
    offer = world_of(ctx).shared_offers.get(ctx.int_path("sharedOfferId", invalid=400))
    if offer is None or offer.get("_companyId") != company or company == COMPANY_ID:
        raise not_found()
    return json_response(public(offer))
