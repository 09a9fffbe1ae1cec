"""Operations of the "Customers" and "Addresses" tags."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

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
from .data import World
from .schemas import BODIES

__all__ = ["OPERATIONS", "customer_or_404", "valid_customer_id"]

OPERATIONS = OperationTable()
op = OPERATIONS.op
CUSTOMER_ID = re.compile(r"^[0-9]{1,18}$")
POSTCODES = {
    "DE": r"^\d{5}$",
    "AT": r"^\d{4}$",
    "CH": r"^\d{4}$",
    "NL": r"^\d{4} ?[A-Z]{2}$",
    "GB": r"^[A-Z0-9 ]{5,8}$",
}


def world_of(ctx: Ctx) -> World:
    world: World = ctx.world
    return world


def valid_customer_id(value: str) -> bool:
    return CUSTOMER_ID.match(value) is not None


def customer_or_404(ctx: Ctx, name: str = "customerId") -> Record:
    cid = ctx.path(name)
    customer = world_of(ctx).customers.get(cid) if valid_customer_id(cid) else None
    if customer is None:
        raise not_found()
    return customer


def customer_if_known(ctx: Ctx) -> Record | None:
    """For the searches whose spec documents no 404: an unknown customer just has nothing."""
    cid = ctx.path("customerId")
    return world_of(ctx).customers.get(cid) if valid_customer_id(cid) else None


def render_customer(record: Record) -> Record:
    return public(record)


# ------------------------------------------------------------------------------------ customers


@op("GET", "/customers", "searchCustomers", "Customers")
async def search_customers(ctx: Ctx) -> Response:
    world = world_of(ctx)
    params = ctx.search()
    rows = world.customers.list()
    # Documented: email, username and externalSystemId exclude each other; priority in that order.
    email, username, external = (ctx.query.get(k) for k in ("email", "username", "externalSystemId"))
    if email:
        if "@" not in email:
            raise bad_request("email", "email", email)
        rows = [r for r in rows if r["email"].lower() == email.lower()]
    elif username:
        rows = [r for r in rows if r.get("username") == username]
    elif external:
        rows = [r for r in rows if r.get("externalSystemId") == external]
    return search_response(rows, params, id_field="customerId", render=render_customer)


def check_email_free(world: World, email: str | None, field: str = "email", own: Record | None = None) -> None:
    if not email:
        return
    if email.lower() in world.emails and (own is None or own.get("email", "").lower() != email.lower()):
        raise bad_request(field, "unique", email)


def check_username_free(world: World, username: str | None, own: Record | None = None) -> None:
    if not username:
        return
    other = world.customers.first(username=username)
    if other is not None and other is not own:
        raise bad_request("username", "unique", username)


CUSTOMER_FIELDS = (
    "username",
    "email",
    "externalSystemId",
    "salutation",
    "firstName",
    "lastName",
    "invoiceEmail",
    "language",
    "mobileNumber",
    "birthday",
    "miscellaneousData",
    "processingBlocked",
)


@op("POST", "/customers", "createCustomer", "Customers")
async def create_customer(ctx: Ctx) -> Response:
    world = world_of(ctx)
    body = await ctx.body(BODIES["createCustomer"])
    wanted_id = body.get("customerId")
    if wanted_id:
        existing = world.customers.get(wanted_id)
        if existing is not None:
            if existing["email"].lower() == body["email"].lower():
                return json_response(render_customer(existing), 208)  # documented: same email and id
            raise bad_request("customerId", "unique", wanted_id)
    else:
        existing = next((c for c in world.customers if c["email"].lower() == body["email"].lower()), None)
        if existing is not None:
            raise bad_request("email", "unique", body["email"])
    check_username_free(world, body.get("username"))
    for n, address in enumerate(body.get("addresses", [])):
        problem = address_problem(address)
        if problem:
            raise bad_request(f"addresses[{n}].{problem[0]}", problem[1], address.get(problem[0]))
    now = world.now()
    customer_id = str(wanted_id or world.customers.next_id())
    customer: Record = {
        "customerId": customer_id,
        "registrationSource": body.get("registrationSource", "api"),
        "registrationDate": ts(now),
        "ageVerificationPinEnabled": False,
        "status": "ACTIVATED",
        "acceptedTerms": {},
        "ssoLoginProviders": [],
        "customerMarks": [],
        "processingBlocked": False,
        **world.audit(now, by="API"),
    }
    customer.update({k: body[k] for k in CUSTOMER_FIELDS if k in body})
    world.customers.insert(customer)
    world.emails.add(customer["email"].lower())
    for address in body.get("addresses", []):
        make_address(world, customer_id, address, now)
    if body.get("data"):
        world.customer_data.insert(
            {"customerId": customer_id, "data": dict(body["data"]), **world.audit(now, by="API")}
        )
    return json_response(render_customer(customer), 201)


@op("GET", "/customers/additionalData", "searchCustomerAdditionalData", "Customers")
async def search_customer_additional_data(ctx: Ctx) -> Response:
    params = ctx.search()
    return search_response(world_of(ctx).customer_data.list(), params, id_field="customerId")


@op("GET", "/customers/{customerId}", "getCustomer", "Customers")
async def get_customer(ctx: Ctx) -> Response:
    return json_response(render_customer(customer_or_404(ctx)))


@op("PUT", "/customers/{customerId}", "updateCustomer", "Customers")
async def update_customer(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["updateCustomer"])
    check_email_free(world, body.get("email"), own=customer)
    check_username_free(world, body.get("username"), own=customer)
    if "email" in body:
        world.emails.discard(customer["email"].lower())
        world.emails.add(body["email"].lower())
    customer.update({k: body[k] for k in CUSTOMER_FIELDS if k in body})
    world.touch(world.customers, customer)
    return json_response(render_customer(customer))


def has_payments(world: World, customer_id: str) -> bool:
    return (
        world.orders.first(_customerId=customer_id) is not None
        or world.transactions.first(customerId=customer_id) is not None
        or any(customer_id in s["_customerIds"] for s in world.subscriptions if s["status"] == "ACTIVE")
        or any(customer_id in o["_deliveryCustomerIds"] for o in world.orders)
    )


@op("DELETE", "/customers/{customerId}", "deleteCustomer", "Customers")
async def delete_customer(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    force = ctx.bool_query("forceDeletion")
    cid = customer["customerId"]
    if not force and has_payments(world, cid):
        raise PlenigoError(
            400,
            20400,
            "Customer cannot be deleted because he still has a running paid subscription, a paid purchase, "
            "a transaction or a foreign order.",
        )
    world.customers.delete(cid)
    world.emails.discard(customer["email"].lower())
    for table in (world.customer_data, world.opt_ins, world.access_rights, world.stripe_customers, world.marks):
        table.delete(cid)
    for address in world.addresses.list(customerId=cid):
        world.addresses.delete(address["addressId"])
    return json_response({"success": True}, 202)


@op("GET", "/customers/{customerId}/accessRights", "getCustomerAccessRights", "Customers")
async def get_customer_access_rights(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    return json_response(access_rights_of(world_of(ctx), customer))


def access_rights_of(world: World, customer: Record) -> Record:
    record = world.access_rights.get(customer["customerId"])
    if record is None:
        return {"customerId": customer["customerId"], "customerBlocked": customer["status"] != "ACTIVATED", "items": []}
    shown = public(record)
    shown["customerBlocked"] = customer["status"] != "ACTIVATED"
    return shown


@op("GET", "/customers/{customerId}/additionalData", "getCustomerAdditionalData", "Customers")
async def get_customer_additional_data(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    record = world_of(ctx).customer_data.get(customer["customerId"])
    return json_response(public(record) if record else {"customerId": customer["customerId"], "data": {}})


@op("PUT", "/customers/{customerId}/additionalData", "replaceAdditionalData", "Customers")
async def replace_additional_data(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["replaceAdditionalData"])
    cid = customer["customerId"]
    record = world.customer_data.get(cid)
    if record is None:
        record = world.customer_data.insert({"customerId": cid, "data": {}, **world.audit(world.now(), by="API")})
    record["data"] = dict(body.get("data") or {})
    world.touch(world.customer_data, record)
    return json_response(public(record))


@op("GET", "/customers/{customerId}/appStoreOrders", "searchCustomerAppStoreOrders", "Customers")
async def search_customer_app_store_orders(ctx: Ctx) -> Response:
    customer = customer_if_known(ctx)
    params = ctx.search()
    rows = world_of(ctx).app_store_orders.list(customerId=customer["customerId"]) if customer else []
    return search_response(rows, params, id_field="appStoreOrderId")


@op("GET", "/customers/{customerId}/appStoreSubscriptions", "searchCustomerAppStoreSubscriptions", "Customers")
async def search_customer_app_store_subscriptions(ctx: Ctx) -> Response:
    customer = customer_if_known(ctx)
    params = ctx.search()
    rows = world_of(ctx).app_store_subscriptions.list(customerId=customer["customerId"]) if customer else []
    return search_response(rows, params, id_field="appStoreSubscriptionId")


@op("GET", "/customers/{customerId}/addresses", "searchCustomerAddresses", "Customers")
async def search_customer_addresses(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    rows = world_of(ctx).addresses.list(customerId=customer["customerId"])
    return search_response(rows, params, id_field="addressId")


@op("DELETE", "/customers/{customerId}/dissociateAppStorePurchases", "dissociateAppStorePurchases", "Customers")
async def dissociate_app_store_purchases(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    cid = customer["customerId"]
    for order in world.app_store_orders.list(customerId=cid):
        world.app_store_orders.delete(order["appStoreOrderId"])
    for sub in world.app_store_subscriptions.list(customerId=cid):
        world.app_store_subscriptions.delete(sub["appStoreSubscriptionId"])
    return json_response({"success": True}, 202)


@op("PUT", "/customers/{customerId}/email", "changeCustomerEmail", "Customers")
async def change_customer_email(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["changeCustomerEmail"])
    check_email_free(world, body["email"], own=customer)
    world.emails.discard(customer["email"].lower())
    world.emails.add(body["email"].lower())
    customer["email"] = body["email"]
    world.touch(world.customers, customer)
    return json_response(render_customer(customer))


@op("GET", "/customers/{customerId}/gdprExport", "createCustomerGDPRData", "Customers")
async def create_customer_gdpr_data(ctx: Ctx) -> Response:
    world = world_of(ctx)
    cid = ctx.path("customerId")
    if not valid_customer_id(cid) or world.customers.get(cid) is None:
        raise bad_request("customerId", "exists", cid)  # the spec documents 400, not 404, here
    return json_response({"success": True, "promiseId": world.ksuid(world.now())})


@op("GET", "/customers/{customerId}/invoices", "searchCustomerInvoices", "Customers")
async def search_customer_invoices(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    rows = world_of(ctx).invoices.list(_customerId=customer["customerId"])
    return search_response(rows, params, id_field="invoiceId")


@op("PUT", "/customers/{customerId}/invoiceEmail", "changeCustomerInvoiceEmail", "Customers")
async def change_customer_invoice_email(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["changeCustomerInvoiceEmail"])
    customer["invoiceEmail"] = body["invoiceEmail"]
    world.touch(world.customers, customer)
    return json_response(render_customer(customer))


@op("GET", "/customers/{customerId}/foreignOrders", "searchCustomerForeignOrders", "Customers")
async def search_customer_foreign_orders(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    cid = customer["customerId"]
    rows = [o for o in world_of(ctx).orders if cid in o["_deliveryCustomerIds"] and o["_customerId"] != cid]
    return search_response(rows, params, id_field="orderId")


@op("GET", "/customers/{customerId}/optIns", "getCustomerAssociatedOptIn", "Customers")
async def get_customer_opt_ins(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    record = world_of(ctx).opt_ins.get(customer["customerId"])
    return json_response(public(record) if record else {"customerId": customer["customerId"], "optIns": {}})


# The opt-ins the sandbox merchant has configured; MESSENGER is not one of them.
CONFIGURED_OPT_INS = {"EMAIL": "newsletter-2023", "POST": "werbung-post", "PHONE": "telefon-umfrage"}


@op("PUT", "/customers/{customerId}/optIns", "updateCustomerAssociatedOptIn", "Customers")
async def update_customer_opt_ins(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["updateCustomerAssociatedOptIn"])
    cid = customer["customerId"]
    now = world.now()
    changes = {k: v["status"] for k, v in body["optIns"].items() if k in CONFIGURED_OPT_INS}
    record = world.opt_ins.get(cid)
    if not changes:
        # Documented 206: "There was no active opt-in to accept."
        return json_response(public(record) if record else {"customerId": cid, "optIns": {}}, 206)
    if record is None:
        record = world.opt_ins.insert({"customerId": cid, "optIns": {}, **world.audit(now, by="API")})
    for kind, status in changes.items():
        entry = record["optIns"].get(kind)
        if entry is None:
            entry = record["optIns"][kind] = {"optInId": world.opt_in_ids, "uniqueId": CONFIGURED_OPT_INS[kind]}
            world.opt_in_ids += 1
        entry["status"] = status
        entry["changedDate"] = ts(now)
    world.touch(world.opt_ins, record)
    return json_response(public(record))


@op("GET", "/customers/{customerId}/orders", "searchCustomerOrders", "Customers")
async def search_customer_orders(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    rows = world_of(ctx).orders.list(_customerId=customer["customerId"])
    return search_response(rows, params, id_field="orderId")


@op("GET", "/customers/{customerId}/paymentMethods", "getCustomersPaymentMethods", "Customers")
async def get_customer_payment_methods(ctx: Ctx) -> Response:
    world = world_of(ctx)
    cid = customer_or_404(ctx)["customerId"]
    return json_response(
        {
            "blockedPaymentMethods": [],
            "amazonPayAccounts": [],
            "bankAccounts": [public(r) for r in world.bank_accounts.list(customerId=cid)],
            "creditCards": [public(r) for r in world.credit_cards.list(customerId=cid)],
            "payPalAccounts": [public(r) for r in world.paypal_accounts.list(customerId=cid)],
            "iDealAccounts": [],
        }
    )


@op("PUT", "/customers/{customerId}/status", "changeCustomerStatus", "Customers")
async def change_customer_status(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["changeCustomerStatus"])
    if customer["status"] == "DISABLED":
        raise PlenigoError(403, 20401, "Customer is disabled and status cannot be changed.")
    if body["status"] != customer["status"]:
        now = world.now()
        for entry in world.customer_status.list(customerId=customer["customerId"]):
            entry.setdefault("endTime", ts(now))
        world.customer_status.insert(
            {
                "customerId": customer["customerId"],
                "startTime": ts(now),
                "oldStatus": customer["status"],
                "newStatus": body["status"],
                "createdDate": ts(now),
                "changedDate": ts(now),
            }
        )
        customer["status"] = body["status"]
        world.touch(world.customers, customer)
    return json_response(render_customer(customer))


@op("GET", "/customers/{customerId}/statusHistory", "getCustomerStatusHistory", "Customers")
async def get_customer_status_history(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    rows = world_of(ctx).customer_status.list(customerId=customer["customerId"])
    return search_response(rows, params, id_field="statusChangeId")


@op("GET", "/customers/{customerId}/subscriptions", "searchCustomerSubscriptions", "Customers")
async def search_customer_subscriptions(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    cid = customer["customerId"]
    rows = [s for s in world_of(ctx).subscriptions if cid in s["_customerIds"]]
    return search_response(rows, params, id_field="subscriptionId")


@op("GET", "/customers/{customerId}/subscriptions/crossClient", "searchCustomerCrossClientSubscriptions", "Customers")
async def search_customer_cross_client_subscriptions(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search()
    cid = customer["customerId"]
    rows = [s for s in world_of(ctx).subscriptions if cid in s["_customerIds"] and s["connectedOffer"]]
    return search_response(rows, params, id_field="subscriptionId")


@op("GET", "/customers/{customerId}/transactions", "searchCustomerTransactions", "Customers")
async def search_customer_transactions(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    params = ctx.search(numeric=False)
    rows = world_of(ctx).transactions.list(customerId=customer["customerId"])
    return search_response(rows, params, id_field="plenigoTransactionId", numeric=False)


@op("GET", "/customers/{customerId}/wallets", "getCustomerCreditWallets", "Customers")
async def get_customer_credit_wallets(ctx: Ctx) -> Response:
    customer = customer_if_known(ctx)
    params = ctx.search()
    rows = world_of(ctx).wallets.list(customerId=customer["customerId"]) if customer else []
    return search_response(rows, params, id_field="customerCreditWalletId")


def login_search(ctx: Ctx, *, failed: bool, customer_id: str | None) -> Response:
    world = world_of(ctx)
    params = ctx.search()
    table = world.failed_logins if failed else world.logins
    rows = table.list() if customer_id is None else table.list(customerId=customer_id)
    return search_response(rows, params, id_field="failedCustomerLogInId" if failed else "customerLogInId")


@op("GET", "/customers/{customerId}/loginAttempts/failed", "searchCustomerFailedLoginAttempts", "Customers")
async def search_customer_failed_logins(ctx: Ctx) -> Response:
    return login_search(ctx, failed=True, customer_id=ctx.path("customerId"))


@op("GET", "/customers/{customerId}/loginAttempts/success", "searchCustomerLoginAttempts", "Customers")
async def search_customer_logins(ctx: Ctx) -> Response:
    return login_search(ctx, failed=False, customer_id=ctx.path("customerId"))


@op("POST", "/customers/{customerId}/stripeCustomer", "createStripeCustomer", "Customers")
async def create_stripe_customer(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["createStripeCustomer"])
    cid = customer["customerId"]
    record = world.stripe_customers.get(cid)
    if record is None:
        record = world.stripe_customers.insert({"customerId": cid, "stripeId": body["stripeId"]})
    record["stripeId"] = body["stripeId"]
    return json_response({"stripeId": record["stripeId"], "customerId": cid}, 201)


@op("DELETE", "/customers/{customerId}/stripeCustomer", "deleteStripeCustomer", "Customers")
async def delete_stripe_customer(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    cid = customer["customerId"]
    if world.stripe_customers.get(cid) is None:
        raise not_found()
    if any(card.get("paymentProvider") == "STRIPE" for card in world.credit_cards.list(customerId=cid)):
        raise PlenigoError(400, 20400, "Stripe customer cannot be deleted because a payment method is associated.")
    world.stripe_customers.delete(cid)
    return json_response({"success": True}, 202)


@op("PUT", "/customers/{customerId}/username", "changeCustomerUsername", "Customers")
async def change_customer_username(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    body = await ctx.body(BODIES["changeCustomerUsername"])
    check_username_free(world, body["username"], own=customer)
    customer["username"] = body["username"]
    world.touch(world.customers, customer)
    return json_response(render_customer(customer))


def render_mark(record: Record) -> Record:
    return {**record["WBZ"], **{k: record[k] for k in record if k.endswith(("Date", "By", "ByType"))}}


@op("GET", "/customers/{customerId}/marks", "getCustomerMarks", "Customers")
async def get_customer_marks(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    record = world_of(ctx).marks.get(customer["customerId"])
    tags = {"WBZ": render_mark(record)} if record else {}
    return json_response({"customerId": customer["customerId"], "tags": tags})


def mark_or_404(ctx: Ctx) -> str:
    mark = ctx.path("customerMark")
    if mark != "WBZ":
        raise not_found()
    return mark


@op("GET", "/customers/{customerId}/marks/{customerMark}", "getCustomerMark", "Customers")
async def get_customer_mark(ctx: Ctx) -> Response:
    customer = customer_or_404(ctx)
    mark_or_404(ctx)
    record = world_of(ctx).marks.get(customer["customerId"])
    if record is None:
        raise not_found()
    return json_response(render_mark(record))


@op("PUT", "/customers/{customerId}/marks/{customerMark}", "updateCustomerMark", "Customers")
async def update_customer_mark(ctx: Ctx) -> Response:
    world = world_of(ctx)
    customer = customer_or_404(ctx)
    mark_or_404(ctx)
    body = await ctx.body(BODIES["updateCustomerMark"])
    record = world.set_mark(customer, body, world.now())
    world.touch(world.marks, record)
    world.touch(world.customers, customer)
    return json_response(render_mark(record))


@op("GET", "/customers/customerIdByExternalSystemId/{externalSystemId}", "customerIdByExternalSystemId", "Customers")
async def customer_id_by_external_system_id(ctx: Ctx) -> Response:
    external = ctx.path("externalSystemId")
    if len(external) > 100:
        raise bad_request("externalSystemId", "max", external)
    customer = world_of(ctx).customers.first(externalSystemId=external)
    if customer is None:
        raise not_found()
    return json_response({"customerId": customer["customerId"]})


@op("GET", "/customers/loginAttempts/failed", "searchCustomersFailedLoginAttempts", "Customers")
async def search_failed_logins(ctx: Ctx) -> Response:
    return login_search(ctx, failed=True, customer_id=None)


@op("GET", "/customers/loginAttempts/success", "searchCustomersLoginAttempts", "Customers")
async def search_logins(ctx: Ctx) -> Response:
    return login_search(ctx, failed=False, customer_id=None)


@op("GET", "/customers/optIns", "searchCustomerAssociatedOptIns", "Customers")
async def search_opt_ins(ctx: Ctx) -> Response:
    params = ctx.search()
    return search_response(world_of(ctx).opt_ins.list(), params, id_field="customerId")


@op("POST", "/customers/searchByAddress", "searchCustomerByAddress", "Customers")
async def search_customer_by_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    use_and = ctx.bool_query("useAnd")
    body = await ctx.body(BODIES["searchCustomerByAddress"])
    optional = [k for k in ("firstName", "lastName", "companyName", "street", "city") if body.get(k)]

    def matches(address: Record) -> bool:
        if address.get("postcode") != body["postcode"] or address.get("country") != body["country"]:
            return False
        hits = [str(address.get(k, "")).lower() == str(body[k]).lower() for k in optional]
        return all(hits) if use_and else any(hits) or not hits

    found: dict[str, list[Record]] = {}
    for address in world.addresses:
        if matches(address):
            found.setdefault(address["customerId"], []).append(address)
    items = []
    for cid, addresses in sorted(found.items(), key=lambda kv: int(kv[0]))[:100]:
        customer = world.customers.get(cid)
        if customer is None:
            continue
        item: Record = {
            k: customer[k]
            for k in ("customerId", "email", "firstName", "lastName", "username", "invoiceEmail")
            if k in customer
        }
        item["addresses"] = [
            {
                k: a[k]
                for k in ("addressId", "businessAddress", "city", "country", "postcode", "street", "streetNumber")
                if k in a
            }
            for a in addresses
        ]
        item["items"] = []  # the spec marks "items" required on each result (sic)
        items.append(item)
    return json_response({"items": items})


# ------------------------------------------------------------------------------------ addresses

ADDRESS_FIELDS = (
    "businessAddress",
    "salutation",
    "title",
    "firstName",
    "lastName",
    "companyName",
    "additionalCompanyInfo",
    "street",
    "streetNumber",
    "additionalStreetInfo",
    "postbox",
    "postcode",
    "city",
    "state",
    "country",
    "vatNumber",
    "phoneNumber",
    "deliveryInformation",
    "academicTitle",
    "jobPosition",
)


def address_problem(data: Record) -> tuple[str, str] | None:
    """What an address check would complain about: a missing street/city or a postcode of the wrong shape."""
    for name in ("street", "postcode", "city", "country"):
        if not data.get(name):
            return name, "required"
    pattern = POSTCODES.get(str(data["country"]))
    if pattern and not re.match(pattern, str(data["postcode"])):
        return "postcode", "postcode"
    return None


def validation_of(data: Record) -> tuple[str, str]:
    digest = hashlib.sha1("|".join(str(data.get(k, "")) for k in ADDRESS_FIELDS).encode()).hexdigest()[:16]
    return ("INVALID" if address_problem(data) else "VALID"), digest


def set_preferred(world: World, address: Record) -> None:
    """At most one preferred address per customer and type."""
    if not address.get("preferred"):
        return
    for other in world.addresses.list(customerId=address["customerId"], type=address["type"]):
        if other is not address and other.get("preferred"):
            other["preferred"] = False
            world.touch(world.addresses, other)


def make_address(world: World, customer_id: str, body: Record, now: datetime, *, override: bool = False) -> Record:
    address: Record = {"type": body.get("type", "INVOICE"), "customerId": customer_id}
    address.update({k: body[k] for k in ADDRESS_FIELDS if k in body})
    others = world.addresses.list(customerId=customer_id, type=address["type"])
    address["preferred"] = bool(body.get("preferred", not others))
    status, digest = validation_of(address)
    address["validationStatus"] = "OVERRIDDEN" if override else status
    address["validationHash"] = digest
    address.update(world.audit(now, by="API"))
    world.add_address(address)
    set_preferred(world, address)
    return address


def check_address(data: Record, override: bool) -> None:
    problem = address_problem(data)
    if problem and not override:
        raise PlenigoError(
            400,
            22003,
            "Address validation failed.",
            [{"field": problem[0], "error": problem[1], "value": str(data.get(problem[0]) or "")}],
        )


def address_or_404(ctx: Ctx) -> Record:
    address = world_of(ctx).addresses.get(ctx.int_path("addressId"))
    if address is None:
        raise not_found()
    return address


@op("GET", "/addresses", "searchAddresses", "Addresses")
async def search_addresses(ctx: Ctx) -> Response:
    params = ctx.search()
    return search_response(world_of(ctx).addresses.list(), params, id_field="addressId")


@op("POST", "/addresses", "createAddress", "Addresses")
async def create_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    override = ctx.bool_query("overrideValidation")
    body = await ctx.body(BODIES["createAddress"])
    if world.customers.get(body["customerId"]) is None:
        raise not_found()
    check_address(body, override)
    return json_response(public(make_address(world, body["customerId"], body, world.now(), override=override)), 201)


@op("GET", "/addresses/{addressId}", "getAddressById", "Addresses")
async def get_address(ctx: Ctx) -> Response:
    return json_response(public(address_or_404(ctx)))


@op("PUT", "/addresses/{addressId}", "updateAddressById", "Addresses")
async def update_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    override = ctx.bool_query("overrideValidation")
    address = address_or_404(ctx)
    body = await ctx.body(BODIES["updateAddressById"])
    check_address(body, override)
    # Documented: fields filled before and now passed empty are cleared, so this replaces them all.
    for name in ADDRESS_FIELDS:
        if body.get(name) not in (None, ""):
            address[name] = body[name]
        else:
            address.pop(name, None)
    address.setdefault("businessAddress", False)
    if "preferred" in body:
        address["preferred"] = body["preferred"]
    status, digest = validation_of(address)
    address["validationStatus"] = "OVERRIDDEN" if override else status
    address["validationHash"] = digest
    world.touch(world.addresses, address)
    set_preferred(world, address)
    return json_response(public(address))


@op("DELETE", "/addresses/{addressId}", "deleteAddressById", "Addresses")
async def delete_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    address = address_or_404(ctx)
    address_id = address["addressId"]
    in_use = any(
        s.get("invoiceAddressId") == address_id or s.get("deliveryAddressId") == address_id
        for s in world.subscriptions
        if s["status"] == "ACTIVE"
    )
    if in_use:
        raise PlenigoError(400, 22002, "Address cannot be deleted because it is in use with a subscription.")
    world.addresses.delete(address_id)
    for future in world.future_addresses.list(_addressId=address_id):
        world.future_addresses.delete(future["_id"])
    return json_response({"success": True}, 202)


def future_key(address_id: int, day: str) -> str:
    return f"{address_id}:{day}"


def date_path(ctx: Ctx) -> str:
    raw = ctx.path("date")
    try:
        datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        raise bad_request("date", "date", raw) from None
    return raw


def render_future(record: Record) -> Record:
    return public(record)


@op("GET", "/addresses/{addressId}/futureAddresses", "getFutureAddresses", "Addresses")
async def get_future_addresses(ctx: Ctx) -> Response:
    address = address_or_404(ctx)
    rows = world_of(ctx).future_addresses.list(_addressId=address["addressId"])
    rows.sort(key=lambda r: r["activationDate"])
    return json_response({"items": [render_future(r) for r in rows]})


def future_record(address: Record, body: Record, day: str) -> Record:
    record: Record = {k: body[k] for k in ADDRESS_FIELDS if k in body}
    record.setdefault("businessAddress", False)
    record["activationDate"] = f"{day}T00:00:00Z"
    record["_id"] = future_key(address["addressId"], day)
    record["_addressId"] = address["addressId"]
    record["validationStatus"], record["validationHash"] = validation_of(record)
    return record


@op("POST", "/addresses/{addressId}/futureAddresses/{date}", "createFutureAddress", "Addresses")
async def create_future_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    override = ctx.bool_query("overrideValidation")
    address = address_or_404(ctx)
    day = date_path(ctx)
    body = await ctx.body(BODIES["createFutureAddress"])
    check_address(body, override)
    existing = world.future_addresses.list(_addressId=address["addressId"])
    if any(r["_id"] == future_key(address["addressId"], day) for r in existing):
        raise bad_request("date", "unique", day)
    if len(existing) >= 2:
        raise bad_request("date", "max", day, message="An address can only have two future addresses.")
    record = world.future_addresses.insert(future_record(address, body, day))
    if override:
        record["validationStatus"] = "OVERRIDDEN"
    return json_response(render_future(record), 201)


def future_or_404(ctx: Ctx) -> tuple[Record, Record, str]:
    address = address_or_404(ctx)
    day = date_path(ctx)
    record = world_of(ctx).future_addresses.get(future_key(address["addressId"], day))
    if record is None:
        raise not_found()
    return address, record, day


@op("PUT", "/addresses/{addressId}/futureAddresses/{date}", "updateFutureAddress", "Addresses")
async def update_future_address(ctx: Ctx) -> Response:
    override = ctx.bool_query("overrideValidation")
    address, record, day = future_or_404(ctx)
    body = await ctx.body(BODIES["updateFutureAddress"])
    check_address(body, override)
    replacement = future_record(address, body, day)
    if override:
        replacement["validationStatus"] = "OVERRIDDEN"
    record.clear()
    record.update(replacement)
    return json_response(render_future(record))


@op("DELETE", "/addresses/{addressId}/futureAddresses/{date}", "deleteFutureAddress", "Addresses")
async def delete_future_address(ctx: Ctx) -> Response:
    _, record, _ = future_or_404(ctx)
    world_of(ctx).future_addresses.delete(record["_id"])
    return json_response({"success": True}, 202)


@op("POST", "/addresses/{addressId}/validate", "validateAddressById", "Addresses")
async def validate_address_by_id(ctx: Ctx) -> Response:
    world = world_of(ctx)
    address = address_or_404(ctx)
    status, digest = validation_of(address)
    if address.get("validationStatus") != status or address.get("validationHash") != digest:
        address["validationStatus"], address["validationHash"] = status, digest
        world.touch(world.addresses, address)
    return json_response(public(address))


@op("POST", "/addresses/wbz", "createWbzAddress", "Addresses")
async def create_wbz_address(ctx: Ctx) -> Response:
    world = world_of(ctx)
    override = ctx.bool_query("overrideValidation")
    body = await ctx.body(BODIES["createWbzAddress"])
    customer = world.customers.get(body["customerId"])
    if customer is None:
        raise not_found()
    check_address(body, override)
    address = make_address(world, body["customerId"], {**body, "type": "DELIVERY"}, world.now(), override=override)
    return json_response(public(address), 201)


@op("POST", "/addresses/validate", "validateAddress", "Addresses")
async def validate_address(ctx: Ctx) -> Response:
    body = await ctx.body(BODIES["validateAddress"])
    result: Record = {k: body[k] for k in (*ADDRESS_FIELDS, "type", "customerId", "preferred") if k in body}
    result["validationStatus"], result["validationHash"] = validation_of(body)
    return json_response(result)
