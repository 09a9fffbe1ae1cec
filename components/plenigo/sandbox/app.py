"""The Plenigo API v3 sandbox: 116 operations (tags Customers, Addresses, Orders, Invoices,
Subscriptions, Access Rights, Offers) of ``/work/shared/specs/plenigo.v3.openapi.json``, under
``/api/v3.0`` with the spec's paths. ``create_app(seed=1, **options)``.

Behaviour follows the API reference and plenigo's docs repository (faqs/CURSORS.md, ERRORCODES.md):

- every request needs ``X-plenigo-token`` (default ``sandbox-token``); otherwise 401
  ``{"errorCode": 99015, "errorMessage": "Api token provided is not authorized."}``;
- errors are ``{"errorCode", "errorMessage"}``; a 400 adds ``validationErrors: [{field, error, value}]``
  with Go-validator tags (``required``, ``max``, ``oneof``, ``email``, ``numeric``, ...); unknown ids
  answer 404 ``99404``; bad JSON 99002, no body 99001, bad date-time 99003, non-integer size 99006;
- searches answer ``{"items", "startingAfterId", "endingBeforeId"}`` sorted by the entity id;
  ``size`` outside 5..100 silently becomes 5; ``startingAfter``/``endingBefore`` are ids (an id
  that no longer exists still positions the page); ``sort`` ASC/DESC; ``startTime``/``endTime``
  (strict RFC 3339) keep records whose ``changedDate`` lies in the window, both ends inclusive;
- a rejected request changes nothing; every change bumps ``changedDate`` (and ``changedBy``).

Choices where the docs are silent (a connector must not depend on them):

- rate limit **100 requests per 10 seconds per token** (``rate_limit=(100, 10.0)``,
  ``rate_limits=False`` switches it off), plus the documented "three times every five seconds"
  for the GDPR export; 429 ``99429`` without ``Retry-After`` unless ``retry_after=True``;
- the cursor ids are present whenever a page is not empty (so a full last page costs one more,
  empty, request); a search for records of an unknown customer answers an empty list where the
  spec documents no 404;
- ``POST /addresses`` needs ``customerId``; a 400 is also answered by the few body-taking calls
  whose spec lists no 400 (e.g. ``PUT /customers/{customerId}/status``).

Seedable resources (``POST /_sandbox/seed {"resource", "count"}``): ``customers``, ``addresses``,
``orders``, ``invoices``, ``subscriptions``, ``accessRights`` add records dated "now" (each only
its own resource); ``changedCustomers``, ``changedOrders``, ``changedInvoices``,
``changedSubscriptions`` bump the change date of existing ones (what polling triggers look for).
``sample_ids(app)`` names seeded records suited to each call; ``world_of(app)`` is the data model.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skiff.sandbox import SandboxApp, SlidingWindow, secure_equals

from .commerce import OPERATIONS as COMMERCE
from .core import MSG_RATE_LIMIT, MSG_UNAUTHORIZED, Ctx, Operation, OperationTable, PlenigoError, Record, error_body
from .customers import OPERATIONS as CUSTOMERS
from .data import CATALOGUE, SubPlan, World, parse_anchor
from .subscriptions import OPERATIONS as SUBSCRIPTIONS

__all__ = [
    "DEFAULT_CREDENTIALS",
    "DEFAULT_RATE_LIMIT",
    "PREFIX",
    "TOKEN_HEADER",
    "create_app",
    "operations",
    "sample_ids",
    "world_of",
]

PREFIX = "/api/v3.0"
TOKEN_HEADER = "X-plenigo-token"
DEFAULT_TOKEN = "sandbox-token"
DEFAULT_CREDENTIALS = {"apiToken": DEFAULT_TOKEN}
DEFAULT_RATE_LIMIT = (100, 10.0)  # requests, seconds; per token (a sandbox choice, see the docstring)
GDPR_RATE_LIMIT = (3, 5.0)  # documented for GET /customers/{customerId}/gdprExport

TABLE = OperationTable()
for _part in (CUSTOMERS, COMMERCE, SUBSCRIPTIONS):
    TABLE.extend(_part)

_WORLDS: weakref.WeakKeyDictionary[SandboxApp, World] = weakref.WeakKeyDictionary()
_SERVER_ERRORS = {
    500: (99500, "Currently we are not able to answer your request. We are working hard to resolve this problem."),
    502: (99502, "Bad Gateway."),
    503: (99503, "Service is temporarily unavailable. Please try again later."),
    504: (99504, "Service is taking too long to respond. Please try again later."),
}


def operations() -> list[Operation]:
    """Every implemented operation (method, spec path, operationId, tag, handler)."""
    return list(TABLE.operations)


def world_of(app: SandboxApp) -> World:
    """The sandbox's data model (tests and demos use it to find ids or inspect the store)."""
    return _WORLDS[app]


def create_app(
    seed: int = 1,
    *,
    token: str = DEFAULT_TOKEN,
    customers: int = 100,
    rate_limits: bool = True,
    rate_limit: tuple[int, float] = DEFAULT_RATE_LIMIT,
    retry_after: bool = False,
    anchor: str | datetime | None = None,
) -> SandboxApp:
    """The Plenigo sandbox; ``customers`` sets the seeded size, ``anchor`` the seeded "today"."""
    worlds: list[World] = []
    anchor_at = parse_anchor(anchor)

    def populate(app: SandboxApp) -> None:
        if not worlds:
            worlds.append(World(app, customers=customers, anchor=anchor_at))
        worlds[0].populate()

    def too_many(wait: float) -> Response:
        headers = {"Retry-After": SlidingWindow.retry_after_header(wait)} if retry_after else {}
        return JSONResponse(error_body(99429, MSG_RATE_LIMIT), status_code=429, headers=headers)

    def server_error(status: int) -> Response:
        code, message = _SERVER_ERRORS.get(status, (99500, _SERVER_ERRORS[500][1]))
        return JSONResponse(error_body(code, message), status_code=status)

    app = SandboxApp(
        "plenigo", prefix=PREFIX, seed=seed, populate=populate, rate_limited=too_many, server_error=server_error
    )
    world = worlds[0]
    _WORLDS[app] = world
    app.options = {
        "token": token,
        "customers": customers,
        "rate_limits": rate_limits,
        "rate_limit": list(rate_limit),
        "retry_after": retry_after,
        "anchor": world.anchor.isoformat(),
    }
    app.default_credentials = {"apiToken": token}
    limiter = app.add_limiter(SlidingWindow(*rate_limit))
    gdpr = app.add_limiter(SlidingWindow(*GDPR_RATE_LIMIT))
    limiter.enabled = gdpr.enabled = rate_limits

    def endpoint(operation: Operation) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            given = request.headers.get(TOKEN_HEADER)
            if not secure_equals(given, token):
                return JSONResponse(error_body(99015, MSG_UNAUTHORIZED), status_code=401)
            wait = limiter.hit(token)
            if wait is None and operation.operation_id == "createCustomerGDPRData":
                wait = gdpr.hit(token)
            if wait is not None:
                return app.too_many_requests(wait)
            try:
                return await operation.handler(Ctx(request, world))
            except PlenigoError as exc:
                return exc.response()

        handle.__name__ = operation.operation_id
        return handle

    for operation in TABLE.ordered():
        app.add_route(operation.path, endpoint(operation), [operation.method], name=operation.operation_id)

    async def unknown(request: Request) -> Response:
        if not secure_equals(request.headers.get(TOKEN_HEADER), token):
            return JSONResponse(error_body(99015, MSG_UNAUTHORIZED), status_code=401)
        return JSONResponse(error_body(99404, "Entity for given id does not exist."), status_code=404)

    app.add_route("/{path:path}", unknown, ["GET", "POST", "PUT", "PATCH", "DELETE"], name="unknown")
    install_seeders(app, world)
    return app


# ---------------------------------------------------------------------------- seeders


def install_seeders(app: SandboxApp, world: World) -> None:
    def shown(records: list[Record], id_field: str) -> list[Record]:
        # The admin API reports r["id"]; plenigo records name their ids after the resource.
        return [{"id": r[id_field], **{k: v for k, v in r.items() if not k.startswith("_")}} for r in records]

    def active_customers() -> list[Record]:
        return [c for c in world.customers if c["status"] == "ACTIVATED"] or list(world.customers)

    @app.seeder("customers")
    def seed_customers(count: int) -> list[Record]:
        return shown([world.new_customer(created=world.now(), by="API") for _ in range(count)], "customerId")

    @app.seeder("addresses")
    def seed_addresses(count: int) -> list[Record]:
        made = []
        for _ in range(count):
            customer = world.rng.choice(active_customers())
            who = world.person() | {"lastName": customer["lastName"]}
            made.append(
                world.new_address(customer, who, kind="DELIVERY", created=world.now(), preferred=False, by="API")
            )
        return shown(made, "addressId")

    @app.seeder("orders")
    def seed_orders(count: int) -> list[Record]:
        singles = tuple(p for p in CATALOGUE if not p.subscription and not p.archived)
        made = []
        for _ in range(count):
            customer = world.rng.choice(active_customers())
            now = world.now()
            product = world.rng.choice(singles)
            order = world.new_order(customer, [(product, 1)], when=now, payment=world.payment_method(customer, now))
            world.grant_order_access(order)
            made.append(order)
        return shown(made, "orderId")

    @app.seeder("invoices")
    def seed_invoices(count: int) -> list[Record]:
        made = []
        for _ in range(count):
            subs = [s for s in world.subscriptions if s["status"] == "ACTIVE"]
            now = world.now()
            if subs:
                sub = world.rng.choice(subs)
                period = (now, now + timedelta(days=30))
                made.append(world.new_invoice(order=None, subscription=sub, when=now, period=period))
            else:
                made.append(world.new_invoice(order=world.rng.choice(world.orders.list()), subscription=None, when=now))
        return shown(made, "invoiceId")

    @app.seeder("subscriptions")
    def seed_subscriptions(count: int) -> list[Record]:
        offers = tuple(p for p in CATALOGUE if p.subscription and not p.archived and not p.duration[0])
        made = []
        for _ in range(count):
            customer = world.rng.choice(active_customers())
            now = world.now()
            plan = SubPlan(customer, world.rng.choice(offers), now, world.payment_method(customer, now))
            record = world.subscription_record(plan)
            record["nextBookingDate"] = world.next_booking(record).date().isoformat()
            world.subscriptions.insert(record)
            world.grant_subscription_access(record)
            made.append(record)
        return shown(made, "subscriptionId")

    @app.seeder("accessRights")
    def seed_access_rights(count: int) -> list[Record]:
        made = []
        for _ in range(count):
            customer = world.rng.choice(active_customers())
            now = world.now()
            unique = world.rng.choice(["press-account", "staff-access", "partner-trial", "school-license"])
            item = {
                "accessRightUniqueId": unique,
                "itemType": "EXTERNAL",
                "itemId": f"ext-{world.rng.getrandbits(40):x}",
                "lifeTimeStart": world.stamp(now),
                "lifeTimeEnd": world.stamp(now + timedelta(days=90)),
                "blocked": False,
                "data": {},
            }
            record = world.grant_access(customer["customerId"], item, now, by="API")
            world.touch(world.access_rights, record)
            made.append(record)
        return shown(made, "customerId")

    def changer(name: str, table_name: str, id_field: str, mutate: Callable[[Record], None]) -> None:
        def seed_changes(count: int) -> list[Record]:
            table = getattr(world, table_name)
            rows = table.list()
            picked = world.rng.sample(rows, k=min(count, len(rows)))
            for record in picked:
                mutate(record)
                world.touch(table, record, by="MERCHANT")
            return shown(picked, id_field)

        app.seeder(name)(seed_changes)

    def customer_change(record: Record) -> None:
        record["language"] = "en" if record.get("language") == "de" else "de"

    def order_change(record: Record) -> None:
        record["purchaseOrderIndicator"] = f"PO-{world.rng.randint(1000, 9999)}"

    def invoice_change(record: Record) -> None:
        record["status"] = "PAID"

    def subscription_change(record: Record) -> None:
        record["analogInvoice"] = not record.get("analogInvoice", False)

    changer("changedCustomers", "customers", "customerId", customer_change)
    changer("changedOrders", "orders", "orderId", order_change)
    changer("changedInvoices", "invoices", "invoiceId", invoice_change)
    changer("changedSubscriptions", "subscriptions", "subscriptionId", subscription_change)


# ---------------------------------------------------------------------------- sample ids


def sample_ids(app: SandboxApp) -> dict[str, Any]:
    """Ids of seeded records suited to each kind of call (tests and demos use them).

    ``customerId`` has orders, invoices, subscriptions, addresses and access rights; the other
    keys name records in a state the call needs (an active monthly subscription to pause, an
    address no subscription uses, an EXTERNAL access right item to block, ...).
    """
    world = world_of(app)
    subs = world.subscriptions.list()

    def first(rows: list[Record], what: str) -> Record:
        if not rows:
            raise LookupError(f"no seeded {what}; seed more customers")
        return rows[0]

    def owns(cid: str) -> bool:
        return (
            world.orders.first(_customerId=cid) is not None
            and world.invoices.first(_customerId=cid) is not None
            and any(cid in s["_customerIds"] for s in subs)
            and world.access_rights.get(cid) is not None
        )

    customer = first([c for c in world.customers if c["status"] == "ACTIVATED" and owns(c["customerId"])], "buyer")
    cid = customer["customerId"]
    monthly = first(
        [
            s
            for s in subs
            if s["status"] == "ACTIVE"
            and not s.get("cancellationDate")
            and not s["connectedOffer"]
            and s["termTimeSpan"] == "MONTH"
            and s["term"] == s["accountingPeriod"]
            and not s["durationPeriod"]
        ],
        "active monthly subscription",
    )
    printed = first([s for s in subs if s["status"] == "ACTIVE" and s["recurringDeliveries"]], "print subscription")
    used = {s.get(k) for s in subs for k in ("invoiceAddressId", "deliveryAddressId") if s["status"] == "ACTIVE"}
    free_address = first([a for a in world.addresses if a["addressId"] not in used], "unused address")
    future = first(world.future_addresses.list(), "future address")
    external = first(
        [r for r in world.access_rights if any(i["itemType"] == "EXTERNAL" for i in r["items"])], "external access"
    )
    external_item = next(i for i in external["items"] if i["itemType"] == "EXTERNAL")
    invoice = first(
        [
            i
            for i in world.invoices
            if i["type"] == "INVOICE" and i["status"] == "PAID" and i["paymentMethod"] in ("CREDIT_CARD", "PAYPAL")
        ],
        "paid invoice",
    )
    chain = first([s for s in subs if world.chain_data.get(s["chainId"])], "chain with data")
    cross = first([s for s in subs if s["connectedOffer"]], "cross client subscription")
    delivery = first(world.delivery_dates.list(), "delivery date")
    stripe_only = first(
        [r for r in world.stripe_customers if not world.credit_cards.first(customerId=r["customerId"])],
        "stripe customer without card",
    )
    marked = first(world.marks.list(), "customer mark")
    with_external = first([c for c in world.customers if c.get("externalSystemId")], "external system id")
    deletable = first(
        [
            c
            for c in world.customers
            if world.orders.first(_customerId=c["customerId"]) is None
            and not any(c["customerId"] in s["_customerIds"] for s in subs)
            and world.transactions.first(customerId=c["customerId"]) is None
            and not any(c["customerId"] in o["_deliveryCustomerIds"] for o in world.orders)
        ],
        "customer without purchases",
    )
    return {
        "customerId": cid,
        "addressId": first(world.addresses.list(customerId=cid), "address")["addressId"],
        "orderId": first(world.orders.list(_customerId=cid), "order")["orderId"],
        "invoiceId": invoice["invoiceId"],
        "subscriptionId": monthly["subscriptionId"],
        "subscriptionItemId": monthly["items"][0]["subscriptionItemId"],
        "printSubscriptionId": printed["subscriptionId"],
        "chainId": chain["chainId"],
        "crossClientChainId": cross["chainId"],
        "offerId": first(world.offers.list(archived=False), "offer")["offerId"],
        "plenigoOfferId": first(world.offers.list(archived=False), "offer")["plenigoOfferId"],
        "sourceCompanyId": first(world.shared_offers.list(), "shared offer")["_companyId"],
        "sharedOfferId": first(world.shared_offers.list(), "shared offer")["offerId"],
        "purchasedAddonId": first(world.addons.list(), "purchased addon")["purchasedAddonId"],
        "crossClientTransactionId": first(world.cross_transactions.list(), "cross client transaction")[
            "crossClientTransactionId"
        ],
        "subscriptionPaymentPeriodId": first(world.payment_periods.list(), "payment period")[
            "subscriptionPaymentPeriodId"
        ],
        "deliveryListId": delivery["deliveryListId"],
        "deliveryListDateId": delivery["deliveryListDateId"],
        "unusedAddressId": free_address["addressId"],
        "futureAddressId": future["_addressId"],
        "date": future["activationDate"][:10],
        "accessCustomerId": external["customerId"],
        "accessRightUniqueId": external_item["accessRightUniqueId"],
        "itemId": external_item["itemId"],
        "stripeCustomerId": stripe_only["customerId"],
        "markCustomerId": marked["customerId"],
        "customerMark": "WBZ",
        "externalSystemId": with_external["externalSystemId"],
        "deletableCustomerId": deletable["customerId"],
        "voucherCode": first(world.vouchers.list(used=False), "voucher")["voucherCode"],
        "paymentMethod": monthly["paymentMethod"],
        "paymentMethodId": monthly.get("paymentMethodId", 0),
        "invoiceAddressId": monthly.get("invoiceAddressId"),
    }
