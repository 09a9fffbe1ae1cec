"""Operations of the "Subscriptions" and "Access Rights" tags."""

from __future__ import annotations

from datetime import UTC, date, datetime

from starlette.responses import Response

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
from .customers import access_rights_of, customer_or_404
from .data import COMPANY_ID, PARTNER_COMPANY_ID, PARTNER_PRODUCT, SubPlan, World, add_span
from .schemas import BODIES

__all__ = ["OPERATIONS", "has_access"]

OPERATIONS = OperationTable()
op = OPERATIONS.op

SUBSCRIPTION_TYPES = (
    "CREDIT_BASED",
    "CREDIT_TIME_BASED",
    "CREDIT_TRIGGER_BASED",
    "CROSS_COMPANY_TIME_BASED",
    "ISSUE_BASED",
    "TIME_BASED",
    "TIME_BASED_MULTIUSER",
    "TIME_CREDIT_BASED",
    "VOUCHER_CREDIT_BASED",
    "VOUCHER_CREDIT_TIME_BASED",
    "VOUCHER_CREDIT_TRIGGER_BASED",
    "VOUCHER_ISSUE_BASED",
    "VOUCHER_TIME_BASED",
    "VOUCHER_TIME_CREDIT_BASED",
)
NOT_ACTIVE = (40002, "Subscription is not active.")


def world_of(ctx: Ctx) -> World:
    world: World = ctx.world
    return world


def parse_stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ------------------------------------------------------------------------------------ subscriptions


def subscription_or_404(ctx: Ctx) -> Record:
    sub = world_of(ctx).subscriptions.get(ctx.int_path("subscriptionId"))
    if sub is None:
        raise not_found()
    return sub


def active_or_400(sub: Record) -> None:
    if sub["status"] != "ACTIVE":
        raise PlenigoError(400, *NOT_ACTIVE)


def subscription_search(ctx: Ctx, *, cross_client: bool) -> Response:
    params = ctx.search()
    item_id = ctx.int_query("subscriptionItemId")
    external = ctx.query.get("externalSystemId")
    kind = None if cross_client else ctx.enum_query("subscriptionType", SUBSCRIPTION_TYPES)
    rows = [
        s
        for s in world_of(ctx).subscriptions
        if (not cross_client or s["connectedOffer"])
        and (item_id is None or any(i["subscriptionItemId"] == item_id for i in s["items"]))
        and (not external or s.get("externalSystemId") == external)
        and (kind is None or s["subscriptionType"] == kind)
    ]
    return search_response(rows, params, id_field="subscriptionId")


@op("GET", "/subscriptions", "searchSubscriptions", "Subscriptions")
async def search_subscriptions(ctx: Ctx) -> Response:
    return subscription_search(ctx, cross_client=False)


@op("GET", "/subscriptions/crossClient", "searchCrossClientSubscriptions", "Subscriptions")
async def search_cross_client_subscriptions(ctx: Ctx) -> Response:
    return subscription_search(ctx, cross_client=True)


@op("GET", "/subscriptions/{subscriptionId}", "getSubscription", "Subscriptions")
async def get_subscription(ctx: Ctx) -> Response:
    return json_response(public(subscription_or_404(ctx)))


def changed(world: World, sub: Record) -> Response:
    world.touch(world.subscriptions, sub)
    return json_response(public(sub))


def set_access_items(world: World, sub: Record, **fields: object) -> None:
    """Mirror a subscription change onto the access right items it grants."""
    record = world.access_rights.get(sub["deliveryCustomerId"])
    if record is None:
        return
    item_ids = {str(i["subscriptionItemId"]) for i in sub["items"]}
    touched = False
    for item in record["items"]:
        if item.get("itemType") == "SUBSCRIPTION_ITEM" and item.get("itemId") in item_ids:
            item.update(fields)
            item["changedDate"] = ts(world.now())
            touched = True
    if touched:
        world.touch(world.access_rights, record, by="SYSTEM")


@op("PUT", "/subscriptions/{subscriptionId}/access", "changeSubscriptionAccess", "Subscriptions")
async def change_access(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionAccess"])
    sub["accessBlocked"] = body["accessBlocked"]
    set_access_items(world, sub, blocked=body["accessBlocked"])
    return changed(world, sub)


@op("PUT", "/subscriptions/{subscriptionId}/address", "changeSubscriptionAddress", "Subscriptions")
async def change_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionAddress"])
    address = world.addresses.get(body["addressId"])
    if address is None:
        raise not_found()
    owner = sub["invoiceCustomerId"] if body["addressType"] == "INVOICE" else sub["deliveryCustomerId"]
    if address["customerId"] != owner or address["type"] != body["addressType"]:
        raise bad_request("addressId", "address", str(body["addressId"]))
    sub["invoiceAddressId" if body["addressType"] == "INVOICE" else "deliveryAddressId"] = address["addressId"]
    return changed(world, sub)


@op("PUT", "/subscriptions/{subscriptionId}/analogInvoice", "changeSubscriptionAnalogInvoice", "Subscriptions")
async def change_analog_invoice(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionAnalogInvoice"])
    sub["analogInvoice"] = body["analogInvoice"]
    return changed(world, sub)


def possible_ends(world: World, sub: Record, *, accounting: bool = False, count: int = 3) -> list[datetime]:
    """The next dates the subscription can end on, honouring its notice period."""
    start = parse_stamp(sub["startDate"])
    amount, span = (
        (sub["accountingPeriod"], sub["accountingPeriodTimeSpan"]) if accounting else (sub["term"], sub["termTimeSpan"])
    )
    if span == "NONE" or amount < 1:
        amount, span = 1, "MONTH"
    earliest = add_span(world.now(), sub["cancellationPeriod"], sub["cancellationPeriodTimeSpan"])
    end, steps = add_span(start, amount, span), 1
    while end < earliest:
        steps += 1
        end = add_span(start, amount * steps, span)
    return [add_span(start, amount * (steps + n), span) for n in range(count)]


def cancel(world: World, sub: Record, end: datetime, ctx: Ctx) -> Response:
    ctx.bool_query("sendMail")
    reason = ctx.query.get("cancellationReasonUniqueId")
    sub["cancellationDate"] = ts(world.now())
    sub["endDate"] = ts(end)
    sub.pop("nextBookingDate", None)
    if reason:
        sub["cancellationReasonUniqueId"] = reason
    if end <= world.now():
        sub["status"] = "INACTIVE"
        for item in sub["items"]:
            item["status"] = "CANCELLED"
    set_access_items(world, sub, lifeTimeEnd=ts(end))
    return changed(world, sub)


@op("PUT", "/subscriptions/{subscriptionId}/cancel/at", "cancelSubscriptionAt", "Subscriptions")
async def cancel_at(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["cancelSubscriptionAt"])
    active_or_400(sub)
    raw = body.get("cancellationDate")
    if raw is None:
        return cancel(world, sub, possible_ends(world, sub)[0], ctx)
    end = datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
    if end.date() < world.now().date():
        raise bad_request("cancellationDate", "gtefield", raw)
    return cancel(world, sub, end, ctx)


@op("GET", "/subscriptions/{subscriptionId}/cancel/dates", "cancelSubscriptionDates", "Subscriptions")
async def cancel_dates(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    accounting = ctx.bool_query("useAccountingPeriod")
    active_or_400(sub)
    return json_response({"items": [d.date().isoformat() for d in possible_ends(world, sub, accounting=accounting)]})


@op("PUT", "/subscriptions/{subscriptionId}/cancel/now", "cancelSubscriptionNow", "Subscriptions")
async def cancel_now(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    active_or_400(sub)
    return cancel(world, sub, world.now(), ctx)


@op("PUT", "/subscriptions/{subscriptionId}/cancel/regular", "cancelSubscriptionRegular", "Subscriptions")
async def cancel_regular(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    active_or_400(sub)
    return cancel(world, sub, possible_ends(world, sub)[0], ctx)


@op("PUT", "/subscriptions/{subscriptionId}/cancel/undo", "undoSubscriptionCancellation", "Subscriptions")
async def cancel_undo(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    ctx.bool_query("sendMail")
    active_or_400(sub)
    if not sub.get("cancellationDate") or sub.get("durationPeriod"):
        raise PlenigoError(400, 40400, "Subscription is not cancelled.")
    for key in ("cancellationDate", "endDate", "cancellationReasonUniqueId"):
        sub.pop(key, None)
    set_access_items(world, sub, lifeTimeEnd=None)
    return changed(world, sub)


def item_or_400(sub: Record, item_id: int) -> Record:
    item: Record
    for item in sub["items"]:
        if item["subscriptionItemId"] == item_id:
            return item
    raise bad_request("subscriptionItemId", "exists", str(item_id))


@op("PUT", "/subscriptions/{subscriptionId}/discount", "changeSubscriptionDiscount", "Subscriptions")
async def change_discount(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionDiscount"])
    item = item_or_400(sub, body["subscriptionItemId"])
    discount = body.get("discountPercentage", 0)
    if discount >= 100:
        raise PlenigoError(400, 40003, "Discount percentage must not lead to a product with zero price.")
    item["discountPercentage"] = discount
    item["changedDate"] = ts(world.now())
    return changed(world, sub)


PAYMENT_TABLES = {"CREDIT_CARD": "credit_cards", "PAYPAL": "paypal_accounts", "BANK_ACCOUNT": "bank_accounts"}


@op("PUT", "/subscriptions/{subscriptionId}/payment", "changeSubscriptionPaymentMethod", "Subscriptions")
async def change_payment(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionPaymentMethod"])
    method, method_id = body["paymentMethod"], body["paymentMethodId"]
    if method != "BILLING":
        table = getattr(world, PAYMENT_TABLES[method]) if method in PAYMENT_TABLES else None
        account = table.get(method_id) if table is not None else None
        if account is None or account["customerId"] != sub["invoiceCustomerId"]:
            raise bad_request("paymentMethodId", "exists", str(method_id))
        sub["paymentMethodId"] = method_id
    else:
        sub.pop("paymentMethodId", None)
    sub["paymentMethod"] = method
    sub.pop("paymentMethodDetails", None)
    return changed(world, sub)


@op("PUT", "/subscriptions/{subscriptionId}/addDeliveries", "addSubscriptionDeliveries", "Subscriptions")
async def add_deliveries(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["addSubscriptionDeliveries"])
    active_or_400(sub)
    added = body["deliveryAddition"]
    sub["deliveries"] = sub.get("deliveries", 0) + added
    sub["openDeliveries"] = sub.get("openDeliveries", 0) + added
    return changed(world, sub)


@op("PUT", "/subscriptions/{subscriptionId}/quantity", "changeSubscriptionQuantity", "Subscriptions")
async def change_quantity(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionQuantity"])
    item = item_or_400(sub, body["subscriptionItemId"])
    item["quantity"] = body["quantity"]
    item["changedDate"] = ts(world.now())
    return changed(world, sub)


@op(
    "PUT",
    "/subscriptions/{subscriptionId}/suppressInvoiceSending",
    "changeSubscriptionSuppressInvoiceSending",
    "Subscriptions",
)
async def change_suppress_invoice_sending(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionSuppressInvoiceSending"])
    sub["suppressInvoiceSending"] = body["suppressInvoiceSending"]
    return changed(world, sub)


@op(
    "PUT",
    "/subscriptions/{subscriptionId}/purchaseOrderIndicator",
    "changeSubscriptionPurchaseOrderIndicator",
    "Subscriptions",
)
async def change_purchase_order_indicator(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    body = await ctx.body(BODIES["changeSubscriptionPurchaseOrderIndicator"])
    sub["purchaseOrderIndicator"] = body["purchaseOrderIndicator"]
    return changed(world, sub)


def pause_body(body: Record) -> Record:
    start, end = body.get("startPauseDate"), body.get("endPauseDate")
    if not start:
        raise bad_request("startPauseDate", "required", start)
    if not end:
        raise bad_request("endPauseDate", "required", end)
    if end <= start:
        raise bad_request("endPauseDate", "gtfield", end)
    return {"startPauseDate": start, "endPauseDate": end, "pauseType": body.get("pauseType", "STANDARD")}


@op("PUT", "/subscriptions/{subscriptionId}/pause", "pauseSubscription", "Subscriptions")
async def pause(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    ctx.bool_query("sendMail")
    body = await ctx.body(BODIES["pauseSubscription"])
    pause_data = pause_body(body)
    active_or_400(sub)
    # Documented: only subscriptions with the same accounting period and term can be paused.
    if (sub["term"], sub["termTimeSpan"]) != (sub["accountingPeriod"], sub["accountingPeriodTimeSpan"]):
        raise PlenigoError(400, 40401, "Only subscriptions with the same accounting period and term can be paused.")
    sub["paymentPaused" if pause_data["pauseType"] == "PAYMENT_ONLY" else "paused"] = pause_data
    return changed(world, sub)


@op("DELETE", "/subscriptions/{subscriptionId}/pause", "deletePauseSubscription", "Subscriptions")
async def delete_pause(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    ctx.bool_query("sendMail")
    if "paused" not in sub and "paymentPaused" not in sub:
        raise PlenigoError(400, 40400, "Subscription is not paused.")
    sub.pop("paused", None)
    sub.pop("paymentPaused", None)
    return changed(world, sub)


@op("GET", "/subscriptions/{subscriptionId}/pause/dates", "pauseSubscriptionDates", "Subscriptions")
async def pause_dates(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    active_or_400(sub)
    start = parse_stamp(sub["startDate"])
    amount, span = sub["accountingPeriod"], sub["accountingPeriodTimeSpan"]
    days: list[str] = []
    n = 1
    while len(days) < 3 and n < 2000:
        candidate = add_span(start, amount * n, span)
        if candidate > world.now() and (not sub.get("endDate") or ts(candidate) < sub["endDate"]):
            days.append(candidate.date().isoformat())
        n += 1
    return json_response({"items": days})


@op("PUT", "/subscriptions/{subscriptionId}/pause/delivery", "pauseSubscriptionDelivery", "Subscriptions")
async def pause_delivery(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    ctx.bool_query("sendMail")
    body = await ctx.body(BODIES["pauseSubscriptionDelivery"])
    pause_data = pause_body(body)
    active_or_400(sub)
    if not sub.get("recurringDeliveries"):
        raise PlenigoError(400, 40401, "Subscription has no deliveries to pause.")
    sub["deliveryPaused"] = pause_data
    return changed(world, sub)


@op("DELETE", "/subscriptions/{subscriptionId}/pause/delivery", "deletePauseSubscriptionDelivery", "Subscriptions")
async def delete_pause_delivery(ctx: Ctx) -> Response:
    world = world_of(ctx)
    sub = subscription_or_404(ctx)
    ctx.bool_query("sendMail")
    if "deliveryPaused" not in sub:
        raise PlenigoError(400, 40400, "Subscription delivery is not paused.")
    del sub["deliveryPaused"]
    return changed(world, sub)


def chain_or_404(ctx: Ctx, *, cross_client: bool | None = None) -> list[Record]:
    chain_id = ctx.int_path("chainId")
    subs = [
        s
        for s in world_of(ctx).subscriptions
        if s["chainId"] == chain_id and (cross_client is None or s["connectedOffer"] is cross_client)
    ]
    if not subs:
        raise not_found()
    return subs


@op("GET", "/subscriptions/chain/{chainId}", "getSubscriptionsByChain", "Subscriptions")
async def get_chain(ctx: Ctx) -> Response:
    return json_response({"items": [public(s) for s in chain_or_404(ctx)]})


@op("GET", "/subscriptions/chain/{chainId}/additionalData", "getSubscriptionChainAdditionalData", "Subscriptions")
async def get_chain_data(ctx: Ctx) -> Response:
    subs = chain_or_404(ctx)
    record = world_of(ctx).chain_data.get(subs[0]["chainId"])
    return json_response({"data": dict(record["data"]) if record else {}})


@op(
    "PUT",
    "/subscriptions/chain/{chainId}/additionalData",
    "replaceSubscriptionChainAdditionalData",
    "Subscriptions",
)
async def replace_chain_data(ctx: Ctx) -> Response:
    world = world_of(ctx)
    subs = chain_or_404(ctx)
    body = await ctx.body(BODIES["replaceSubscriptionChainAdditionalData"])
    chain_id = subs[0]["chainId"]
    record = world.chain_data.get(chain_id) or world.chain_data.insert({"chainId": chain_id, "data": {}})
    record["data"] = dict(body.get("data") or {})
    return json_response({"data": dict(record["data"])})


@op("GET", "/subscriptions/chain/{chainId}/statusHistory", "getSubscriptionChainStatusHistory", "Subscriptions")
async def get_chain_status_history(ctx: Ctx) -> Response:
    subs = chain_or_404(ctx)
    params = ctx.search()
    rows = world_of(ctx).chain_status.list(chainId=subs[0]["chainId"])
    return search_response(rows, params, id_field="statusChangeId")


@op("GET", "/subscriptions/crossClient/chain/{chainId}", "getCrossClientSubscriptionsByChain", "Subscriptions")
async def get_cross_client_chain(ctx: Ctx) -> Response:
    return json_response({"items": [public(s) for s in chain_or_404(ctx, cross_client=True)]})


@op(
    "GET",
    "/subscriptions/deliveryLists/dates",
    "searchSubscriptionDeliveryListDeliveryDates",
    "Subscriptions",
)
async def search_delivery_dates(ctx: Ctx) -> Response:
    params = ctx.search()
    customer = ctx.query.get("deliveryCustomerId")
    subscription = ctx.int_query("subscriptionId")
    rows = [
        r
        for r in world_of(ctx).delivery_dates
        if (not customer or r["deliveryCustomerId"] == customer)
        and (subscription is None or r["subscriptionId"] == subscription)
    ]
    return search_response(rows, params, id_field="subscriptionDeliveryDateId")


@op(
    "GET",
    "/subscriptions/crossClient/deliveryLists/{deliveryListId}/dates/{deliveryListDateId}",
    "searchCrossClientSubscriptionDeliveryDates",
    "Subscriptions",
)
async def search_cross_client_delivery_dates(ctx: Ctx) -> Response:
    world = world_of(ctx)
    list_id = ctx.int_path("deliveryListId", invalid=400)
    date_id = ctx.int_path("deliveryListDateId", invalid=400)
    params = ctx.search()
    customer = ctx.query.get("deliveryCustomerId")
    cross = {s["subscriptionId"] for s in world.subscriptions if s["connectedOffer"]}
    rows = [
        r
        for r in world.delivery_dates
        if r["deliveryListId"] == list_id
        and r["deliveryListDateId"] == date_id
        and r["subscriptionId"] in cross
        and (not customer or r["deliveryCustomerId"] == customer)
    ]
    return search_response(rows, params, id_field="subscriptionDeliveryDateId")


@op("POST", "/subscriptions/useCrossClientVoucher", "useCrossClientVoucher", "Subscriptions")
async def use_cross_client_voucher(ctx: Ctx) -> Response:
    world = world_of(ctx)
    body = await ctx.body(BODIES["useCrossClientVoucher"])
    customer = world.customers.get(body["customerId"])
    if customer is None:
        raise bad_request("customerId", "exists", body["customerId"])
    voucher = world.vouchers.get(body["voucherCode"])
    if voucher is None or voucher["used"]:
        raise bad_request("voucherCode", "voucher", body["voucherCode"])
    now = world.now()
    plan = SubPlan(customer, PARTNER_PRODUCT, now, world.payment_method(customer, now))
    record = world.subscription_record(plan)
    record.update(
        {
            "subscriptionType": "CROSS_COMPANY_TIME_BASED",
            "connectedOffer": True,
            "activePartners": [PARTNER_COMPANY_ID],
            "connectedOfferInfo": {
                "contractCompanyId": COMPANY_ID,
                "companyId": PARTNER_COMPANY_ID,
                "customerId": customer["customerId"],
                "plenigoOfferId": PARTNER_PRODUCT.plenigo_offer_id,
            },
            **world.audit(now, by="API"),
        }
    )
    world.subscriptions.insert(record)
    world.grant_subscription_access(record)
    voucher["used"] = True
    return json_response({"success": True})


@op("GET", "/subscriptions/paymentPeriods", "getSubscriptionPaymentPeriods", "Subscriptions")
async def get_payment_periods(ctx: Ctx) -> Response:
    world = world_of(ctx)
    # Documented: "the last 100 payment periods ... order by period start date descending".
    params = ctx.search(default_sort="DESC")
    subscription = ctx.int_query("subscriptionId")
    if subscription is not None and world.subscriptions.get(subscription) is None:
        raise not_found()
    rows = (
        world.payment_periods.list()
        if subscription is None
        else world.payment_periods.list(subscriptionId=subscription)
    )
    return search_response(rows, params, id_field="subscriptionPaymentPeriodId")


@op(
    "GET",
    "/subscriptions/paymentPeriods/{subscriptionPaymentPeriodId}",
    "getSubscriptionPaymentPeriod",
    "Subscriptions",
)
async def get_payment_period(ctx: Ctx) -> Response:
    record = world_of(ctx).payment_periods.get(ctx.int_path("subscriptionPaymentPeriodId", invalid=400))
    if record is None:
        raise not_found()
    return json_response({**public(record), "retryPaymentAllowed": not record["success"]})


# ------------------------------------------------------------------------------------ access rights


def item_granted(item: Record, now: str) -> bool:
    if item.get("blocked"):
        return False
    if item.get("lifeTimeStart") and item["lifeTimeStart"] > now:
        return False
    if item.get("lifeTimeEnd") and item["lifeTimeEnd"] < now:
        return False
    paused_from, paused_to = item.get("pausedTimeStart"), item.get("pausedTimeEnd")
    return not (paused_from and paused_to and paused_from <= now <= paused_to)


def has_access(world: World, customer: Record, unique_ids: list[str]) -> Record:
    now = ts(world.now())
    data = access_rights_of(world, customer)
    items = [
        {**item, "accessGranted": item_granted(item, now) and not data["customerBlocked"]}
        for item in data["items"]
        if item["accessRightUniqueId"] in unique_ids
    ]
    return {
        "customerId": customer["customerId"],
        "customerBlocked": data["customerBlocked"],
        "accessGranted": any(i["accessGranted"] for i in items),
        "items": items,
    }


def render_access(world: World, record: Record) -> Record:
    customer = world.customers.get(record["customerId"])
    shown = public(record)
    shown["customerBlocked"] = bool(customer and customer["status"] != "ACTIVATED")
    return shown


@op("GET", "/accessRights", "searchAccessRights", "Access Rights")
async def search_access_rights(ctx: Ctx) -> Response:
    world = world_of(ctx)
    params = ctx.search()
    rows = world.access_rights.list()
    return search_response(rows, params, id_field="customerId", render=lambda r: render_access(world, r))


@op("GET", "/accessRights/{customerId}", "getAccessRightsForCustomer", "Access Rights")
async def get_access_rights(ctx: Ctx) -> Response:
    return json_response(access_rights_of(world_of(ctx), customer_or_404(ctx)))


ITEM_FIELDS = (
    "lifeTimeStart",
    "lifeTimeEnd",
    "accessTimeStart",
    "accessTimeEnd",
    "pausedTimeStart",
    "pausedTimeEnd",
    "maxCacheDate",
    "data",
    "blocked",
    "activePartners",
)


@op("POST", "/accessRights/{customerId}", "createAccessRightsForCustomer", "Access Rights")
async def create_access_right(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["createAccessRightsForCustomer"])
    cid = customer["customerId"]
    unique_id = body["accessRightUniqueId"]
    record = world.access_rights.get(cid)
    if record is not None and any(
        i["accessRightUniqueId"] == unique_id and i["itemType"] == "EXTERNAL" for i in record["items"]
    ):
        return json_response(access_rights_of(world, customer), 208)  # documented: already exists
    now = world.now()
    item: Record = {"accessRightUniqueId": unique_id, "itemType": "EXTERNAL", "itemId": f"ext-{cid}-{unique_id}"[:30]}
    item.update({k: body[k] for k in ITEM_FIELDS if k in body})
    item.setdefault("lifeTimeStart", ts(now))
    item.setdefault("blocked", False)
    item.setdefault("data", {})
    record = world.grant_access(cid, item, now, by="API")
    world.touch(world.access_rights, record)
    return json_response(access_rights_of(world, customer), 201)


def external_items(ctx: Ctx) -> tuple[Record, Record, list[Record]]:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    unique_id = ctx.path("accessRightUniqueId")
    record = world.access_rights.get(customer["customerId"])
    items = [i for i in (record or {}).get("items", []) if i["accessRightUniqueId"] == unique_id]
    if record is None or not items:
        raise not_found()
    return customer, record, items


@op("PUT", "/accessRights/{customerId}/{accessRightUniqueId}", "updateAccessRightForCustomer", "Access Rights")
async def update_access_right(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer, record, items = external_items(ctx)
    body = await ctx.body(BODIES["updateAccessRightForCustomer"])
    targets = [i for i in items if i["itemType"] == "EXTERNAL"] or items
    for item in targets:
        item.update({k: body[k] for k in ITEM_FIELDS if k in body})
        item["changedDate"] = ts(world.now())
        item["changedBy"], item["changedByType"] = "sandbox-api", "API"
    world.touch(world.access_rights, record)
    return json_response(access_rights_of(world, customer))


@op("DELETE", "/accessRights/{customerId}/{accessRightUniqueId}", "deleteAccessRightForCustomer", "Access Rights")
async def delete_access_right(ctx: Ctx) -> Response:
    world = world_of(ctx)
    _, record, items = external_items(ctx)
    removable = [i for i in items if i["itemType"] in ("EXTERNAL", "SINGLE_PRODUCT")]
    if not removable:
        raise PlenigoError(400, 21401, "Access rights granted by a subscription are removed by cancelling it.")
    record["items"] = [i for i in record["items"] if i not in removable]
    world.touch(world.access_rights, record)
    return json_response({"success": True}, 202)


async def block_item(ctx: Ctx, blocked: bool) -> Response:
    world = world_of(ctx)
    _, record, items = external_items(ctx)
    item_id = ctx.path("itemId")
    matching = [i for i in items if i.get("itemId") == item_id]
    if not matching:
        raise not_found()
    item = matching[0]
    if item["itemType"] not in ("EXTERNAL", "SINGLE_PRODUCT"):
        raise PlenigoError(400, 21401, "Only access right items of type EXTERNAL or SINGLE_PRODUCT can be blocked.")
    if item.get("blocked") is not blocked:
        item["blocked"] = blocked
        item["changedDate"] = ts(world.now())
        world.touch(world.access_rights, record)
    return json_response({"success": True}, 202)


@op(
    "PUT",
    "/accessRights/{customerId}/{accessRightUniqueId}/{itemId}/block",
    "blockCustomerAccessRightItem",
    "Access Rights",
)
async def block_access_item(ctx: Ctx) -> Response:
    return await block_item(ctx, True)


@op(
    "PUT",
    "/accessRights/{customerId}/{accessRightUniqueId}/{itemId}/unblock",
    "unblockCustomerAccessRightItem",
    "Access Rights",
)
async def unblock_access_item(ctx: Ctx) -> Response:
    return await block_item(ctx, False)


@op("GET", "/accessRights/{customerId}/hasAccess", "checkAccessOfCustomer", "Access Rights")
async def check_access(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    raw = ctx.query.get("accessRightUniqueIds")
    if not raw:
        raise bad_request("accessRightUniqueIds", "required", raw)
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    return json_response(has_access(world_of(ctx), customer, ids))
