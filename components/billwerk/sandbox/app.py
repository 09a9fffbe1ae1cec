"""Billwerk sandbox: ``POST /oauth/token`` and ``/api/v1`` as Billwerk's docs and npm ``billwerk`` use them.

- OAuth2 client credentials: HTTP Basic ``client_id:client_secret`` (or form fields) with
  ``grant_type=client_credentials`` → ``{"access_token", "expires": 0, "token_type": "bearer"}``.
  Like the real API the answer says ``expires: 0`` (unknown); tokens still die after ``token_ttl``
  seconds of the sandbox clock, and a dead token gets 401, so clients must refresh on 401.
- Paths are case-insensitive (``/Customers/``, ``/contracts/{id}/Usage``), trailing slashes allowed,
  unknown query parameters ignored (the npm client adds ``take=500`` even to POSTs).
- Lists are bare JSON arrays in ascending ``Id`` order (24-hex, ObjectId-like: time first), paged by
  ``skip`` (capped at 1000) + ``take`` (default 100, max 500) and ``from=<Id>`` (inclusive);
  ``dateFrom``/``dateTo`` on orders, invoices and payment transactions.
- Errors (the body shape is undocumented; the sandbox uses ASP.NET Web API's, which Billwerk runs on):
  400 ``{"Message"}`` for invalid JSON or a refused state change, 401, 404, 405, 422
  ``{"Message": "The request is invalid.", "ModelState": {"Field": ["..."]}}`` for invalid fields,
  429 ``{"Message"}`` with ``Retry-After`` and ``X-RateLimit-*`` (only on 429, as they are "not always sent").
  A refused request changes nothing.
- Orders: create (InProgress) → commit (contract created or changed, order Completed). ``approve``
  finalises an InProgress order like a commit done by the merchant, ``decline`` marks it Declined.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skiff.sandbox import (
    Record,
    SandboxApp,
    SlidingWindow,
    Table,
    basic_credentials,
    parse_datetime,
    secure_equals,
)

from .data import (
    CATALOG,
    CITIES,
    COMPANIES,
    EVENTS,
    FIRST_NAMES,
    LAST_NAMES,
    add_months,
    make_pdf,
    money,
    ts,
)

__all__ = ["DEFAULT_CREDENTIALS", "PREFIX", "TOKEN_PATH", "create_app"]

PREFIX = "/api/v1"
TOKEN_PATH = "/oauth/token"
DEFAULT_CREDENTIALS = {"clientId": "sandbox-client", "clientSecret": "sandbox-secret"}

DEFAULT_TAKE, MAX_TAKE, MAX_SKIP = 100, 500, 1000
VAT_PERCENT = 19.0
DOWNLOAD_TTL = timedelta(minutes=10)
ID_RE = re.compile(r"^[0-9a-f]{24}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CUSTOMER_STRINGS = (
    "CompanyName",
    "FirstName",
    "LastName",
    "EmailAddress",
    "ExternalCustomerId",
    "VatId",
    "Language",
    "Locale",
    "CustomerType",
    "DefaultBearerMedium",
    "Phone",
    "Tag",
)
ADDRESS_STRINGS = (
    "AddressLine1",
    "AddressLine2",
    "Street",
    "HouseNumber",
    "PostalCode",
    "City",
    "State",
    "Country",
)

Handler = Callable[[Request, list[str]], Awaitable[Response]]


class BillwerkError(Exception):
    """A refused request: status, ``Message`` and, for 422, the ``ModelState`` of invalid fields."""

    def __init__(
        self,
        status: int,
        message: str,
        model_state: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.model_state = model_state
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"Message": self.message}
        if self.model_state:
            body["ModelState"] = self.model_state
        return JSONResponse(body, self.status, self.headers)


class Invalid:
    """Collects field errors so one 422 names all of them."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise BillwerkError(422, "The request is invalid.", self.errors)


def _out(record: Record) -> dict[str, Any]:
    """A record without the sandbox's private ``_`` keys (a copy: handlers never leak stored dicts)."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def _amount(value: float) -> str:
    # The invoice fixtures carry money as strings with two decimals ("211.60").
    return f"{value:.2f}"


def _number(value: Any, field: str, invalid: Invalid, *, required: bool = True, minimum: float = 0) -> float:
    if value is None:
        if required:
            invalid.add(field, f"The {field} field is required.")
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        invalid.add(field, f"The {field} field must be a number >= {minimum:g}.")
        return 0.0
    return float(value)


def _date(value: Any, field: str, invalid: Invalid, *, required: bool = False) -> datetime | None:
    if value in (None, ""):
        if required:
            invalid.add(field, f"The {field} field is required.")
        return None
    if not isinstance(value, str):
        invalid.add(field, f"The {field} field must be an ISO 8601 date.")
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        invalid.add(field, f"The value '{value}' is not a valid date for {field}.")
        return None


def _text(value: Any, field: str, invalid: Invalid, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            invalid.add(field, f"The {field} field is required.")
        return ""
    if not isinstance(value, str):
        invalid.add(field, f"The {field} field must be a string.")
        return ""
    return value


class Billwerk:
    """State and handlers; ``create_app`` wires an instance into a SandboxApp."""

    def __init__(
        self, app: SandboxApp, client_id: str, client_secret: str, token_ttl: float, limiter: SlidingWindow
    ) -> None:
        self.app = app
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.limiter = limiter
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.downloads: dict[str, tuple[str, datetime]] = {}
        self._counter = 0
        self._machine = f"{random.Random(f'billwerk-{app.seed}').getrandbits(40):010x}"
        self.routes: list[tuple[tuple[str, ...], dict[str, Handler]]] = self._routes()

    # ---------------------------------------------------------- basics

    def now(self) -> datetime:
        return self.app.clock.now()

    def new_id(self, when: datetime | None = None) -> str:
        """ObjectId-like: 4 bytes of seconds, 5 bytes per sandbox, a 3-byte counter (ascending in time)."""
        self._counter = (self._counter + 1) % 0xFFFFFF
        seconds = int((when or self.now()).timestamp()) & 0xFFFFFFFF
        return f"{seconds:08x}{self._machine}{self._counter:06x}"

    def table(self, name: str) -> Table:
        return self.app.store.table(name, id_field="Id")

    def reset(self) -> None:
        # Tokens survive a data reset: a client mid-session should not have to log in again.
        self.downloads.clear()
        self._counter = 0

    def side_table(self, name: str) -> Table:
        """Tables whose records use snake_case ``id`` (rated items, contract changes)."""
        return self.app.store.table(name, id_field="id")

    def _get(self, name: str, record_id: str, label: str) -> Record:
        record = self.table(name).get(record_id.lower())
        if record is None:
            raise BillwerkError(404, f"{label} with id {record_id} not found.")
        return record

    # ---------------------------------------------------------- OAuth

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        creds = basic_credentials(request)
        if creds is None and form.get("client_id"):
            creds = (form["client_id"], form.get("client_secret", ""))
        ok_id = creds is not None and secure_equals(creds[0], self.client_id)
        ok_secret = creds is not None and secure_equals(creds[1], self.client_secret)
        if not (ok_id and ok_secret):
            return JSONResponse({"error": "invalid_client"}, 401, {"WWW-Authenticate": 'Basic realm="billwerk"'})
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        now = self.now()
        for key in [k for k, (_, expiry) in self.tokens.items() if expiry <= now]:
            del self.tokens[key]
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (self.client_id, now + timedelta(seconds=self.token_ttl))
        # "expires": 0 like the real API: clients learn about expiry from a 401.
        return JSONResponse(
            {"access_token": token, "expires": 0, "token_type": "bearer"},
            headers={"Cache-Control": "no-store"},
        )

    def _authenticate(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        entry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None or entry[1] <= self.now():
            raise BillwerkError(
                401, "Authorization has been denied for this request.", headers={"WWW-Authenticate": "Bearer"}
            )
        return entry[0]

    # ---------------------------------------------------------- dispatch

    async def handle(self, request: Request) -> Response:
        parts = [p for p in request.path_params.get("path", "").split("/") if p]
        low = [p.lower() for p in parts]
        try:
            if len(low) == 3 and low[:2] == ["files", "download"] and request.method == "GET":
                return self.download(parts[2])
            client = self._authenticate(request)
            wait = self.limiter.hit(client)
            if wait is not None:
                return self.app.too_many_requests(wait)
            for pattern, methods in self.routes:
                if len(pattern) == len(low) and all(p in ("*", s) for p, s in zip(pattern, low, strict=True)):
                    handler = methods.get(request.method)
                    if handler is None:
                        raise BillwerkError(
                            405, f"The requested resource does not support http method '{request.method}'."
                        )
                    ids = [s for p, s in zip(pattern, low, strict=True) if p == "*"]
                    return await handler(request, ids)
            raise BillwerkError(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")
        except BillwerkError as exc:
            return exc.response()

    def _routes(self) -> list[tuple[tuple[str, ...], dict[str, Handler]]]:
        def lister(name: str, date_field: str | None = None) -> Handler:
            async def handler(request: Request, ids: list[str]) -> Response:
                rows = self.table(name).list()
                if date_field:
                    rows = self._date_window(rows, request, date_field)
                return self._page(rows, request)

            return handler

        def getter(name: str, label: str) -> Handler:
            async def handler(request: Request, ids: list[str]) -> Response:
                return JSONResponse(_out(self._refresh(self._get(name, ids[0], label))))

            return handler

        return [
            (("customers",), {"GET": self.list_customers, "POST": self.create_customer}),
            (
                ("customers", "*"),
                {
                    "GET": getter("customers", "Customer"),
                    "PUT": self.put_customer,
                    "PATCH": self.patch_customer,
                    "DELETE": self.delete_customer,
                },
            ),
            (("customers", "*", "contracts"), {"GET": self.customer_contracts}),
            (("contracts",), {"GET": self.list_contracts}),
            (("contracts", "*"), {"GET": getter("contracts", "Contract")}),
            (("contracts", "*", "usage"), {"GET": self.list_usage, "POST": self.post_usage}),
            (("contracts", "*", "usage", "*"), {"GET": self.get_usage, "DELETE": self.delete_usage}),
            (
                ("contracts", "*", "componentsubscriptions"),
                {"GET": self.list_component_subscriptions, "POST": self.create_component_subscription},
            ),
            (("contracts", "*", "subscriptions"), {"GET": self.contract_subscriptions}),
            (("contracts", "*", "selfservicetoken"), {"GET": self.self_service_token}),
            (("contracts", "*", "cancellationpreview"), {"GET": self.cancellation_preview}),
            (("contracts", "*", "end"), {"POST": self.end_contract}),
            (
                ("contracts", "*", "rateditems"),
                {"GET": self.list_rated_items, "POST": self.create_rated_item},
            ),
            (("contracts", "*", "changes"), {"GET": self.contract_changes}),
            (("subscriptions",), {"GET": self.list_subscriptions}),
            (("orders",), {"GET": lister("orders", "CreatedAt"), "POST": self.create_order}),
            (("orders", "*"), {"GET": getter("orders", "Order")}),
            (("orders", "*", "commit"), {"POST": self.commit_order}),
            (("orders", "*", "approve"), {"POST": self.approve_order}),
            (("orders", "*", "decline"), {"POST": self.decline_order}),
            (("invoices",), {"GET": lister("invoices", "DocumentDate")}),
            (("invoices", "*"), {"GET": getter("invoices", "Invoice")}),
            (("invoices", "*", "downloadlink"), {"POST": self.download_link}),
            (("invoicedrafts",), {"GET": lister("invoicedrafts")}),
            (
                ("invoicedrafts", "*"),
                {"GET": getter("invoicedrafts", "Invoice draft"), "POST": self.send_draft},
            ),
            (("invoicedrafts", "*", "send"), {"POST": self.send_draft}),
            (("plangroups",), {"GET": lister("plangroups")}),
            (("plangroups", "*"), {"GET": getter("plangroups", "Plan group")}),
            (("plans",), {"GET": lister("plans")}),
            (("plans", "*"), {"GET": getter("plans", "Plan")}),
            (("planvariants",), {"GET": lister("planvariants")}),
            (("planvariants", "*"), {"GET": getter("planvariants", "Plan variant")}),
            (("components",), {"GET": lister("components")}),
            (("components", "*"), {"GET": getter("components", "Component")}),
            (("paymenttransactions",), {"GET": lister("paymenttransactions", "StatusTimestamp")}),
            (("paymenttransactions", "*"), {"GET": getter("paymenttransactions", "Payment transaction")}),
            (("webhooks",), {"GET": lister("webhooks"), "POST": self.create_webhook}),
            (("webhooks", "*"), {"GET": getter("webhooks", "Webhook"), "DELETE": self.delete_webhook}),
        ]

    # ---------------------------------------------------------- paging and bodies

    @staticmethod
    def _int_param(request: Request, name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BillwerkError(400, f"The value '{raw}' is not valid for {name}.") from None
        if value < 0:
            raise BillwerkError(400, f"The value '{raw}' is not valid for {name}.")
        return value

    def _page(self, rows: list[Record], request: Request, key: str = "Id") -> Response:
        take = min(self._int_param(request, "take", DEFAULT_TAKE) or DEFAULT_TAKE, MAX_TAKE)
        skip = min(self._int_param(request, "skip", 0), MAX_SKIP)  # Billwerk caps skip at 1000
        rows = sorted(rows, key=lambda r: str(r[key]))
        start = request.query_params.get("from")
        if start:
            if not ID_RE.match(start.lower()):
                raise BillwerkError(400, f"The value '{start}' is not a valid id for from.")
            rows = [r for r in rows if str(r[key]) >= start.lower()]
        return JSONResponse([_out(self._refresh(r)) for r in rows[skip : skip + take]])

    def _date_window(self, rows: list[Record], request: Request, field: str) -> list[Record]:
        bounds = []
        for name in ("dateFrom", "dateTo"):
            raw = request.query_params.get(name)
            try:
                bounds.append(parse_datetime(raw) if raw else None)
            except ValueError:
                raise BillwerkError(400, f"The value '{raw}' is not valid for {name}.") from None
        low, high = bounds
        if low is None and high is None:
            return rows
        selected = []
        for row in rows:
            value = parse_datetime(row[field]) if row.get(field) else None
            if value is not None and (low is None or value >= low) and (high is None or value <= high):
                selected.append(row)
        return selected

    @staticmethod
    async def _json(request: Request, *, required: bool = True) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            if required:
                raise BillwerkError(400, "The request body is empty.")
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BillwerkError(400, f"The request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BillwerkError(422, "The request is invalid.", {"": ["A JSON object is expected."]})
        return data

    # ---------------------------------------------------------- customers

    def _customer_values(self, body: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
        """Checked customer fields merged over ``base`` (PATCH) or over the defaults (POST, PUT)."""
        invalid = Invalid()
        merged: dict[str, Any] = dict(base or {})
        for name in CUSTOMER_STRINGS:
            if name in body:
                merged[name] = _text(body[name], name, invalid)
        if "Address" in body:
            address = body["Address"]
            if address is None:
                merged["Address"] = {}
            elif not isinstance(address, dict):
                invalid.add("Address", "The Address field must be an object.")
            else:
                merged["Address"] = {
                    k: _text(address.get(k), f"Address.{k}", invalid) for k in ADDRESS_STRINGS if k in address
                }
                country = merged["Address"].get("Country", "")
                if country and not re.fullmatch(r"[A-Za-z]{2}", country):
                    invalid.add("Address.Country", "The Country field must be an ISO 3166 alpha-2 code.")
        if "CustomFields" in body:
            if isinstance(body["CustomFields"], dict):
                merged["CustomFields"] = body["CustomFields"]
            else:
                invalid.add("CustomFields", "The CustomFields field must be an object.")
        email = merged.get("EmailAddress") or ""
        if email and not EMAIL_RE.match(email):
            invalid.add("EmailAddress", f"'{email}' is not a valid email address.")
        if merged.get("CustomerType", "Consumer") not in ("", "Consumer", "Business"):
            invalid.add("CustomerType", "CustomerType must be Consumer or Business.")
        if merged.get("DefaultBearerMedium", "Email") not in ("", "Email", "Postal", "Archive"):
            invalid.add("DefaultBearerMedium", "DefaultBearerMedium must be Email, Postal or Archive.")
        if not (merged.get("CompanyName") or merged.get("LastName") or merged.get("FirstName")):
            invalid.add("CompanyName", "A customer needs a CompanyName or a FirstName/LastName.")
        invalid.check()
        return merged

    def _customer_record(self, values: dict[str, Any], *, record_id: str, created: str) -> Record:
        company = values.get("CompanyName") or ""
        person = f"{values.get('FirstName') or ''} {values.get('LastName') or ''}".strip()
        record: Record = {
            "Address": values.get("Address") or {},
            "CompanyName": company,
            "CreatedAt": created,
            "CustomerName": company or person,
            "CustomerType": values.get("CustomerType") or "Consumer",
            "CustomFields": values.get("CustomFields") or {},
            "DefaultBearerMedium": values.get("DefaultBearerMedium") or "Email",
            "EmailAddress": values.get("EmailAddress") or "",
            "ExternalCustomerId": values.get("ExternalCustomerId") or "",
            "FirstName": values.get("FirstName") or "",
            "Id": record_id,
            "Language": values.get("Language") or "de-DE",
            "LastName": values.get("LastName") or "",
            "Locale": values.get("Locale") or values.get("Language") or "de-DE",
            "VatId": values.get("VatId") or "",
        }
        for optional in ("Phone", "Tag"):
            if values.get(optional):
                record[optional] = values[optional]
        return record

    def insert_customer(self, values: dict[str, Any], when: datetime | None = None) -> Record:
        when = when or self.now()
        record = self._customer_record(values, record_id=self.new_id(when), created=ts(when))
        return self.table("customers").insert(record)

    async def list_customers(self, request: Request, ids: list[str]) -> Response:
        rows = self.table("customers").list()
        search = (request.query_params.get("search") or "").lower()
        if search:
            fields = (
                "CustomerName",
                "EmailAddress",
                "FirstName",
                "LastName",
                "CompanyName",
                "ExternalCustomerId",
            )
            rows = [r for r in rows if any(search in str(r.get(f, "")).lower() for f in fields)]
        external = request.query_params.get("externalId")
        if external:
            rows = [r for r in rows if r.get("ExternalCustomerId") == external]
        return self._page(rows, request)

    async def create_customer(self, request: Request, ids: list[str]) -> Response:
        values = self._customer_values(await self._json(request), None)
        return JSONResponse(_out(self.insert_customer(values)), 201)

    async def put_customer(self, request: Request, ids: list[str]) -> Response:
        record = self._get("customers", ids[0], "Customer")
        values = self._customer_values(await self._json(request), None)
        replaced = self._customer_record(values, record_id=record["Id"], created=record["CreatedAt"])
        record.clear()
        record.update(replaced)
        self._rename_contracts(record)
        return JSONResponse(_out(record))

    async def patch_customer(self, request: Request, ids: list[str]) -> Response:
        record = self._get("customers", ids[0], "Customer")
        values = self._customer_values(await self._json(request), record)
        record.update(self._customer_record(values, record_id=record["Id"], created=record["CreatedAt"]))
        self._rename_contracts(record)
        return JSONResponse(_out(record))

    def _rename_contracts(self, customer: Record) -> None:
        for contract in self.table("contracts").list(CustomerId=customer["Id"]):
            contract["CustomerName"] = customer["CustomerName"]

    async def delete_customer(self, request: Request, ids: list[str]) -> Response:
        record = self._get("customers", ids[0], "Customer")
        if self.table("contracts").first(CustomerId=record["Id"]) is not None:
            raise BillwerkError(400, "The customer has contracts and cannot be deleted.")
        self.table("customers").delete(record["Id"])
        return Response(status_code=204)

    async def customer_contracts(self, request: Request, ids: list[str]) -> Response:
        customer = self._get("customers", ids[0], "Customer")
        return self._page(self.table("contracts").list(CustomerId=customer["Id"]), request)

    # ---------------------------------------------------------- catalog

    def variant_info(self, variant: Record) -> tuple[Record, int, int]:
        """(plan, months per billing period, trial days) of a plan variant."""
        plan = self.table("plans").get(variant["PlanId"]) or {}
        trial = variant.get("TrialPeriod") or {}
        return plan, int(variant["FeePeriod"]["Quantity"]), int(trial.get("Quantity", 0))

    # ---------------------------------------------------------- contracts

    def _refresh(self, record: Record) -> Record:
        """Move a contract's lifecycle along the sandbox clock (trial ends, end dates pass)."""
        if "LifecycleStatus" not in record or "Phases" not in record:
            return record
        now = self.now()
        current = record["Phases"][0]
        for phase in record["Phases"]:
            if parse_datetime(phase["StartDate"]) <= now:
                current = phase
        record["CurrentPhase"] = current
        if record.get("EndDate") and parse_datetime(record["EndDate"]) <= now:
            record["LifecycleStatus"] = "Ended"
        elif current["Type"] == "Trial":
            record["LifecycleStatus"] = "InTrial"
        else:
            record["LifecycleStatus"] = "Active"
        return record

    def new_contract(
        self,
        customer: Record,
        variant: Record,
        start: datetime,
        contract_id: str,
        payment: dict[str, Any] | None = None,
    ) -> Record:
        plan, months, trial_days = self.variant_info(variant)
        phases: list[dict[str, Any]] = []
        normal_start = start
        if trial_days:
            phases.append({"PlanId": plan.get("Id"), "StartDate": ts(start), "Type": "Trial"})
            normal_start = start + timedelta(days=trial_days)
        phases.append(
            {
                "PlanId": plan.get("Id"),
                "PlanVariantId": variant["Id"],
                "Quantity": 1,
                "StartDate": ts(normal_start),
                "Type": "Normal",
            }
        )
        now = self.now()
        last = normal_start
        while add_months(last, months) <= now:
            last = add_months(last, months)
        following = add_months(last, months) if last <= now else normal_start
        rng = self.app.rng
        reference = "-".join("".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(4)) for _ in range(2))
        contract: Record = {
            "Balance": 0,
            "BilledUntil": ts(following),
            "Currency": "EUR",
            "CurrentPhase": phases[0],
            "CustomFields": {},
            "CustomerId": customer["Id"],
            "CustomerName": customer["CustomerName"],
            "EscalationSuspended": False,
            "Id": contract_id,
            "LastBillingDate": ts(last if last <= now else start),
            "LifecycleStatus": "Active",
            "NextBillingDate": ts(following),
            "PaymentBearer": payment or {"Type": "InvoicePayment"},
            "PaymentProvider": "InvoicePayment" if not payment else "Paymill",
            "Phases": phases,
            "PlanGroupId": plan.get("PlanGroupId"),
            "PlanId": plan.get("Id"),
            "PlanVariantId": variant["Id"],
            "RecurringPaymentsPaused": False,
            "ReferenceCode": reference,
            "StartDate": ts(start),
        }
        return self._refresh(self.table("contracts").insert(contract))

    async def list_contracts(self, request: Request, ids: list[str]) -> Response:
        rows = self.table("contracts").list()
        customer = request.query_params.get("customerId")
        if customer:
            rows = [r for r in rows if r["CustomerId"] == customer.lower()]
        return self._page(rows, request)

    def _contract(self, ids: list[str]) -> Record:
        return self._refresh(self._get("contracts", ids[0], "Contract"))

    def _require_running(self, contract: Record) -> None:
        if contract["LifecycleStatus"] == "Ended":
            raise BillwerkError(400, f"Contract {contract['Id']} has ended.")

    async def list_usage(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        return self._page(self.table("usage").list(ContractId=contract["Id"]), request)

    async def post_usage(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        body = await self._json(request)
        invalid = Invalid()
        component_id = _text(body.get("ComponentId"), "ComponentId", invalid, required=True)
        if component_id and self.table("components").get(component_id.lower()) is None:
            invalid.add("ComponentId", f"Component {component_id} does not exist.")
        quantity = _number(body.get("Quantity"), "Quantity", invalid)
        due = _date(body.get("DueDate"), "DueDate", invalid)
        memo = _text(body.get("Memo"), "Memo", invalid)
        key = _text(body.get("Key"), "Key", invalid)
        invalid.check()
        self._require_running(contract)
        now = self.now()
        record: Record = {
            "Id": self.new_id(),
            "ContractId": contract["Id"],
            "TransferredAt": ts(now),
            "ComponentId": component_id.lower(),
            "Quantity": quantity,
            "Key": key,
            "DueDate": ts(due or now),
        }
        if memo:
            record["Memo"] = memo
        record["_billed"] = False
        return JSONResponse(_out(self.table("usage").insert(record)), 201)

    def _usage(self, ids: list[str]) -> Record:
        contract = self._contract(ids)
        usage = self._get("usage", ids[1], "Metered usage")
        if usage["ContractId"] != contract["Id"]:
            raise BillwerkError(404, f"Metered usage with id {ids[1]} not found.")
        return usage

    async def get_usage(self, request: Request, ids: list[str]) -> Response:
        return JSONResponse(_out(self._usage(ids)))

    async def delete_usage(self, request: Request, ids: list[str]) -> Response:
        usage = self._usage(ids)
        if usage.get("_billed"):
            raise BillwerkError(400, "Billed usage cannot be deleted.")
        self.table("usage").delete(usage["Id"])
        return Response(status_code=204)

    async def list_component_subscriptions(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        return self._page(self.table("componentsubscriptions").list(ContractId=contract["Id"]), request)

    def _component_subscription(
        self,
        contract: Record,
        component_id: str,
        quantity: float,
        start: datetime,
        end: datetime | None,
        memo: str,
    ) -> Record:
        record: Record = {
            "Id": self.new_id(),
            "ContractId": contract["Id"],
            "CustomerId": contract["CustomerId"],
            "ComponentId": component_id,
            "Quantity": quantity,
            "StartDate": ts(start),
        }
        if end is not None:
            record["EndDate"] = ts(end)
        if memo:
            record["Memo"] = memo
        return self.table("componentsubscriptions").insert(record)

    async def create_component_subscription(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        body = await self._json(request)
        invalid = Invalid()
        component_id = _text(body.get("ComponentId"), "ComponentId", invalid, required=True).lower()
        if component_id and self.table("components").get(component_id) is None:
            invalid.add("ComponentId", f"Component {component_id} does not exist.")
        quantity = _number(body.get("Quantity"), "Quantity", invalid)
        start = _date(body.get("StartDate"), "StartDate", invalid)
        end = _date(body.get("EndDate"), "EndDate", invalid)
        memo = _text(body.get("Memo"), "Memo", invalid)
        if start and end and end < start:
            invalid.add("EndDate", "EndDate must not be before StartDate.")
        invalid.check()
        self._require_running(contract)
        record = self._component_subscription(contract, component_id, quantity, start or self.now(), end, memo)
        return JSONResponse(_out(record), 201)

    async def contract_subscriptions(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        phase = contract["CurrentPhase"]
        items: list[dict[str, Any]] = []
        if phase.get("PlanVariantId"):
            items.append(
                {
                    "Type": "PlanVariant",
                    "Id": contract["Id"],
                    "PlanId": phase.get("PlanId"),
                    "PlanVariantId": phase["PlanVariantId"],
                    "Quantity": phase.get("Quantity", 1),
                    "StartDate": phase["StartDate"],
                }
            )
        for sub in self.table("componentsubscriptions").list(ContractId=contract["Id"]):
            items.append({"Type": "Component", **_out(sub)})
        return JSONResponse(items)

    async def self_service_token(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        now = self.now()
        token = f"{contract['Id']}${int(now.timestamp())}${secrets.token_urlsafe(16)}"
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "Expiry": ts(now + timedelta(hours=1)),
                "Token": token,
                "Purpose": "CustomerPortal",
                "Url": f"{base}/portal/data/{token}/",
            }
        )

    def _final_invoice(self, contract: Record) -> dict[str, Any]:
        customer = self.table("customers").get(contract["CustomerId"]) or {}
        invoice: dict[str, Any] = {"ContractId": contract["Id"], "CustomerId": contract["CustomerId"]}
        if customer.get("ExternalCustomerId"):
            invoice["ExternalCustomerId"] = customer["ExternalCustomerId"]
        invoice.update(
            {
                "ItemList": [],
                "RecipientAddress": copy.deepcopy(customer.get("Address") or {}),
                "RecipientName": customer.get("CustomerName", ""),
                "RecipientSubName": _sub_name(customer),
                "ReverseCharge": False,
                "TotalGross": 0,
                "TotalNet": 0,
                "TotalVat": 0,
                "VatDescriptors": [],
            }
        )
        return invoice

    @staticmethod
    def _ended_copy(contract: Record, end: datetime) -> Record:
        after = _out(contract)
        after["EndDate"] = ts(end)
        after["Phases"] = [p for p in after["Phases"] if parse_datetime(p["StartDate"]) < end]
        after["Phases"].append({"StartDate": ts(end), "Type": "Inactive"})
        return after

    async def cancellation_preview(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        self._require_running(contract)
        # A regular cancellation ends the contract with its current billing period.
        end = parse_datetime(contract.get("EndDate") or contract["NextBillingDate"])
        return JSONResponse(
            {
                "ContractAfter": self._ended_copy(contract, end),
                "EndDate": ts(end),
                "Invoice": self._final_invoice(contract),
                "NextPossibleCancellationDate": ts(end),
            }
        )

    async def end_contract(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        body = await self._json(request)
        invalid = Invalid()
        end = _date(body.get("EndDate"), "EndDate", invalid, required=True)
        if end is not None and end < parse_datetime(contract["StartDate"]):
            invalid.add("EndDate", "EndDate must not be before the contract's StartDate.")
        invalid.check()
        assert end is not None
        self._require_running(contract)
        after = self._ended_copy(contract, end)
        contract.update({"EndDate": after["EndDate"], "Phases": after["Phases"]})
        self._refresh(contract)
        return JSONResponse(
            {"ContractAfter": _out(contract), "EndDate": ts(end), "Invoice": self._final_invoice(contract)}
        )

    async def list_rated_items(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        return self._page(self.side_table("rateditems").list(_contract=contract["Id"]), request, key="id")

    async def create_rated_item(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        body = await self._json(request)
        invalid = Invalid()
        description = _text(body.get("Description"), "Description", invalid, required=True)
        quantity = _number(body.get("Quantity"), "Quantity", invalid)
        price = _number(body.get("PricePerUnit"), "PricePerUnit", invalid, minimum=-math.inf)
        tax_policy = _text(body.get("TaxPolicyId"), "TaxPolicyId", invalid, required=True)
        start = _date(body.get("PeriodStart"), "PeriodStart", invalid)
        end = _date(body.get("PeriodEnd"), "PeriodEnd", invalid)
        if start and end and end < start:
            invalid.add("PeriodEnd", "PeriodEnd must not be before PeriodStart.")
        invalid.check()
        self._require_running(contract)
        now = self.now()
        # The rated-item fixture uses snake_case keys, unlike the rest of the API.
        record: Record = {
            "id": self.new_id(),
            "line_item_id": self.new_id(),
            "description": description,
            "quantity": quantity,
            "price_per_unit": price,
            "tax_policy_id": tax_policy,
            "period_start": ts(start or now),
            "period_end": ts(end or start or now),
            "_contract": contract["Id"],
        }
        self.side_table("rateditems").insert(record)
        return JSONResponse(_out(record), 201)

    async def contract_changes(self, request: Request, ids: list[str]) -> Response:
        contract = self._contract(ids)
        table = self.side_table("contractchanges")
        rows = sorted(table.list(contractId=contract["Id"]), key=lambda r: str(r["timestamp"]), reverse=True)
        return JSONResponse([_out(r) for r in rows])

    def _change(self, kind: str, order: Record, contract_id: str, when: datetime) -> None:
        variant = self.table("planvariants").get(order["PlanVariantId"]) or {}
        self.side_table("contractchanges").insert(
            {
                "id": self.new_id(when),
                "type": kind,
                "timestamp": ts(when),
                "orderId": order["Id"],
                "contractId": contract_id,
                "changeDate": ts(when),
                "newPlanVariantId": order["PlanVariantId"],
                "newPlanId": variant.get("PlanId"),
            }
        )

    async def list_subscriptions(self, request: Request, ids: list[str]) -> Response:
        take = min(self._int_param(request, "take", DEFAULT_TAKE) or DEFAULT_TAKE, MAX_TAKE)
        skip = min(self._int_param(request, "skip", 0), MAX_SKIP)
        contracts = sorted(self.table("contracts").list(), key=lambda r: str(r["Id"]))
        start = (request.query_params.get("from") or "").lower()
        if start:
            contracts = [c for c in contracts if c["Id"] >= start]
        customers = self.table("customers")
        rows = [
            {"Contract": _out(self._refresh(c)), "Customer": _out(customers.get(c["CustomerId"]) or {})}
            for c in contracts[skip : skip + take]
        ]
        return JSONResponse(rows)

    # ---------------------------------------------------------- orders

    async def create_order(self, request: Request, ids: list[str]) -> Response:
        body = await self._json(request)
        invalid = Invalid()
        cart = body.get("Cart")
        if not isinstance(cart, dict):
            invalid.add("Cart", "The Cart field is required.")
            cart = {}
        contract = None
        if body.get("ContractId"):
            contract = self.table("contracts").get(str(body["ContractId"]).lower())
            if contract is None:
                invalid.add("ContractId", f"Contract {body['ContractId']} does not exist.")
        customer = None
        new_customer: dict[str, Any] | None = None
        if body.get("CustomerId"):
            customer = self.table("customers").get(str(body["CustomerId"]).lower())
            if customer is None:
                invalid.add("CustomerId", f"Customer {body['CustomerId']} does not exist.")
        elif isinstance(body.get("Customer"), dict):
            try:
                new_customer = self._customer_values(body["Customer"], None)
            except BillwerkError as exc:
                for name, messages in (exc.model_state or {}).items():
                    for message in messages:
                        invalid.add(f"Customer.{name}", message)
        elif contract is None:
            invalid.add("CustomerId", "Either CustomerId, Customer or ContractId is required.")
        if contract is not None and customer is not None and contract["CustomerId"] != customer["Id"]:
            invalid.add("ContractId", "The contract belongs to another customer.")
        variant_id = str(cart.get("PlanVariantId") or (contract or {}).get("PlanVariantId") or "").lower()
        variant = self.table("planvariants").get(variant_id) if variant_id else None
        if variant is None and (cart.get("PlanVariantId") or contract is None):
            invalid.add("Cart.PlanVariantId", f"Plan variant {cart.get('PlanVariantId')} does not exist.")
        quantity = _number(cart.get("Quantity", 1), "Cart.Quantity", invalid, minimum=1)
        components = []
        raw_components = cart.get("ComponentSubscriptions") or []
        if not isinstance(raw_components, list):
            invalid.add("Cart.ComponentSubscriptions", "ComponentSubscriptions must be a list.")
            raw_components = []
        for index, item in enumerate(raw_components):
            where = f"Cart.ComponentSubscriptions[{index}]"
            if not isinstance(item, dict):
                invalid.add(where, "A component subscription must be an object.")
                continue
            component_id = _text(item.get("ComponentId"), f"{where}.ComponentId", invalid, required=True).lower()
            component = self.table("components").get(component_id) if component_id else None
            if component_id and component is None:
                invalid.add(f"{where}.ComponentId", f"Component {component_id} does not exist.")
            amount = _number(item.get("Quantity", 1), f"{where}.Quantity", invalid)
            if component is not None:
                components.append((component, amount))
        invalid.check()
        if contract is not None:
            self._require_running(self._refresh(contract))
        assert variant is not None
        if new_customer is not None:
            customer = self.insert_customer(new_customer)
        if customer is None:
            customer = self.table("customers").get((contract or {}).get("CustomerId"))
        assert customer is not None
        order = self.insert_order(customer, variant, quantity, components, contract)
        return JSONResponse(_out(order), 201)

    def insert_order(
        self,
        customer: Record,
        variant: Record,
        quantity: float,
        components: list[tuple[Record, float]],
        contract: Record | None,
        when: datetime | None = None,
    ) -> Record:
        when = when or self.now()
        _, _, trial_days = self.variant_info(variant)
        is_trial = bool(trial_days) and contract is None
        lines = []
        for component, amount in components:
            net = money(float(component["PricePerUnit"]) * amount)
            lines.append(
                {
                    "PreventModification": False,
                    "VatPercentage": VAT_PERCENT,
                    "TotalNet": net,
                    "TotalVat": money(net * VAT_PERCENT / 100),
                    "ComponentId": component["Id"],
                    "Quantity": amount,
                }
            )
        fee = 0.0 if is_trial else float(variant["RecurringFee"]) * quantity
        total = money(fee + sum(line["TotalNet"] for line in lines))
        vat = money(total * VAT_PERCENT / 100)
        order: Record = {
            "Id": self.new_id(when),
            "PlanVariantId": variant["Id"],
            "AllowWithoutPaymentData": bool(variant.get("AllowWithoutPaymentData")),
            "ComponentSubscriptions": lines,
            "DiscountSubscriptions": [],
            "Currency": "EUR",
            "Total": total,
            "TotalVat": vat,
            "TotalGross": money(total + vat),
            "IsTrial": is_trial,
            "Status": "InProgress",
            "CustomerId": customer["Id"],
            "ContractId": contract["Id"] if contract else self.new_id(when),
            "CreatedAt": ts(when),
            "OrderType": "Upgrade" if contract else "Signup",
            "_quantity": quantity,
        }
        return self.table("orders").insert(order)

    def _order(self, ids: list[str]) -> Record:
        order = self._get("orders", ids[0], "Order")
        if order["Status"] != "InProgress":
            raise BillwerkError(400, f"Order {order['Id']} cannot be processed: its status is {order['Status']}.")
        return order

    def fulfil(self, order: Record, payment: dict[str, Any] | None, when: datetime | None = None) -> Record:
        """Carry out an order: create or change its contract, book components, bill, mark it Completed."""
        when = when or self.now()
        customer = self.table("customers").get(order["CustomerId"]) or {}
        variant = self.table("planvariants").get(order["PlanVariantId"]) or {}
        contracts = self.table("contracts")
        contract = contracts.get(order["ContractId"])
        if contract is None:
            contract = self.new_contract(customer, variant, when, order["ContractId"], payment)
            self._change("Signup", order, contract["Id"], when)
        else:
            plan, _, _ = self.variant_info(variant)
            if variant and variant["Id"] != contract["PlanVariantId"]:
                contract["Phases"].append(
                    {
                        "PlanId": plan.get("Id"),
                        "PlanVariantId": variant["Id"],
                        "Quantity": order.get("_quantity", 1),
                        "StartDate": ts(when),
                        "Type": "Normal",
                    }
                )
                contract.update(
                    {
                        "PlanId": plan.get("Id"),
                        "PlanVariantId": variant["Id"],
                        "PlanGroupId": plan.get("PlanGroupId"),
                    }
                )
                self._change("Upgrade", order, contract["Id"], when)
            if payment:
                contract["PaymentBearer"] = payment
            self._refresh(contract)
        for line in order["ComponentSubscriptions"]:
            self._component_subscription(contract, line["ComponentId"], line["Quantity"], when, None, "")
        if order["Total"] > 0:
            self.insert_invoice(contract, customer, when, order["Total"])
        order["Status"] = "Completed"
        return contract

    async def commit_order(self, request: Request, ids: list[str]) -> Response:
        body = await self._json(request, required=False)
        order = self._order(ids)
        bearer = body.get("Bearer") or body.get("PaymentBearer")
        if bearer is not None and not isinstance(bearer, dict):
            raise BillwerkError(422, "The request is invalid.", {"Bearer": ["The Bearer field must be an object."]})
        contract = self.fulfil(order, bearer)
        return JSONResponse(_out(contract))

    async def approve_order(self, request: Request, ids: list[str]) -> Response:
        order = self._order(ids)
        self.fulfil(order, None)
        return JSONResponse(_out(order))

    async def decline_order(self, request: Request, ids: list[str]) -> Response:
        order = self._order(ids)
        order["Status"] = "Declined"
        return JSONResponse(_out(order))

    # ---------------------------------------------------------- invoices

    def insert_invoice(
        self, contract: Record, customer: Record, when: datetime, net: float, *, is_invoice: bool = True
    ) -> Record:
        table = self.table("invoices")
        number = len(table) + 2434
        vat = money(net * VAT_PERCENT / 100)
        invoice: Record = {
            "Id": self.new_id(when),
            "InvoiceNumber": f"SAN//{when.year}//{when.month:02d}--{number}",
            "CustomerId": customer.get("Id"),
            "ContractId": contract.get("Id"),
            "DocumentDate": ts(when),
            "SentAt": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "DueDate": (when + timedelta(days=14)).date().isoformat(),
            "RecipientName": customer.get("CustomerName", ""),
            "RecipientSubName": _sub_name(customer),
            "RecipientAddress": copy.deepcopy(customer.get("Address") or {}),
            "Currency": "EUR",
            "TotalNet": _amount(net),
            "TotalVat": _amount(vat),
            "TotalGross": _amount(net + vat),
            "IsInvoice": "True" if is_invoice else "False",
        }
        return table.insert(invoice)

    async def download_link(self, request: Request, ids: list[str]) -> Response:
        invoice = self._get("invoices", ids[0], "Invoice")
        token = secrets.token_urlsafe(24)
        self.downloads[token] = (invoice["Id"], self.now() + DOWNLOAD_TTL)
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"Url": f"{base}{PREFIX}/files/download/{token}"})

    def download(self, token: str) -> Response:
        entry = self.downloads.get(token)
        if entry is None or entry[1] <= self.now():
            raise BillwerkError(404, "The download token is unknown or has expired.")
        invoice = self._get("invoices", entry[0], "Invoice")
        pdf = make_pdf(
            f"Rechnung {invoice['InvoiceNumber']}",
            [
                invoice["RecipientName"],
                f"Datum: {invoice['DocumentDate'][:10]}",
                f"Netto: {invoice['TotalNet']} {invoice['Currency']}",
                f"MwSt: {invoice['TotalVat']}",
                f"Brutto: {invoice['TotalGross']} {invoice['Currency']}",
            ],
        )
        filename = re.sub(r"[^A-Za-z0-9_.-]+", "_", invoice["InvoiceNumber"]) + ".pdf"
        return Response(
            pdf,
            200,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def insert_draft(self, contract: Record, customer: Record, when: datetime, items: list[dict[str, Any]]) -> Record:
        net = money(sum(i["TotalNet"] for i in items))
        vat = money(net * VAT_PERCENT / 100)
        draft: Record = {
            "Id": self.new_id(when),
            "ContractId": contract["Id"],
            "CustomerId": customer["Id"],
            "CreatedAt": ts(when),
            "Currency": "EUR",
            "ItemList": items,
            "RecipientAddress": copy.deepcopy(customer.get("Address") or {}),
            "RecipientName": customer["CustomerName"],
            "RecipientSubName": _sub_name(customer),
            "ReverseCharge": False,
            "TotalGross": money(net + vat),
            "TotalNet": net,
            "TotalVat": vat,
            "VatDescriptors": [{"VatPercentage": VAT_PERCENT, "TotalNet": net, "TotalVat": vat}],
        }
        return self.table("invoicedrafts").insert(draft)

    async def send_draft(self, request: Request, ids: list[str]) -> Response:
        draft = self._get("invoicedrafts", ids[0], "Invoice draft")
        contract = self.table("contracts").get(draft["ContractId"]) or {}
        customer = self.table("customers").get(draft["CustomerId"]) or {}
        invoice = self.insert_invoice(contract, customer, self.now(), float(draft["TotalNet"]))
        self.table("invoicedrafts").delete(draft["Id"])
        return JSONResponse(_out(invoice))

    # ---------------------------------------------------------- webhooks

    async def create_webhook(self, request: Request, ids: list[str]) -> Response:
        body = await self._json(request)
        invalid = Invalid()
        url = _text(body.get("Url"), "Url", invalid, required=True)
        if url and not re.match(r"^https?://[^\s/]+", url):
            invalid.add("Url", "The Url field must be an absolute http(s) URL.")
        events = body.get("Events")
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            invalid.add("Events", "The Events field must be a non-empty list of event names.")
            events = []
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            invalid.add("Events", f"Unknown events: {', '.join(unknown)}.")
        invalid.check()
        now = self.now()
        hook: Record = {"Id": self.new_id(now), "Url": url, "Events": list(events), "CreatedAt": ts(now)}
        return JSONResponse(_out(self.table("webhooks").insert(hook)), 201)

    async def delete_webhook(self, request: Request, ids: list[str]) -> Response:
        hook = self._get("webhooks", ids[0], "Webhook")
        self.table("webhooks").delete(hook["Id"])
        return Response(status_code=204)

    # ---------------------------------------------------------- seeding

    def populate(self) -> None:
        self.reset()
        rng = self.app.rng
        now = self.now()
        epoch = now - timedelta(days=420)
        groups, plans, variants = self.table("plangroups"), self.table("plans"), self.table("planvariants")
        for group_spec in CATALOG["groups"]:
            group = groups.insert(
                {
                    "Id": self.new_id(epoch),
                    "Name": group_spec["name"],
                    "InternalName": group_spec["key"],
                    "Description": "",
                }
            )
            for plan_spec in group_spec["plans"]:
                plan = plans.insert(
                    {
                        "Id": self.new_id(epoch),
                        "PlanGroupId": group["Id"],
                        "Name": {"_c": plan_spec["name"], "de": plan_spec["de"]},
                        "InternalName": plan_spec["key"],
                        "Description": {"_c": f"The {plan_spec['name']} plan"},
                        "AllowSelfService": True,
                        "Hidden": False,
                    }
                )
                for spec in plan_spec["variants"]:
                    variant: Record = {
                        "Id": self.new_id(epoch),
                        "PlanId": plan["Id"],
                        "InternalName": spec["key"],
                        "Description": {"_c": spec["key"].replace("-", " ").title()},
                        "FeePeriod": {"Unit": "Month", "Quantity": spec["months"]},
                        "RecurringFee": spec["fee"],
                        "Currency": "EUR",
                        "ContractPeriod": {"Unit": "Month", "Quantity": spec["months"]},
                        "CancellationPeriod": {"Unit": "Month", "Quantity": 1},
                        "AllowWithoutPaymentData": spec["trial"] > 0,
                        "Hidden": False,
                    }
                    if spec["trial"]:
                        variant["TrialPeriod"] = {"Unit": "Day", "Quantity": spec["trial"]}
                    variants.insert(variant)
        components = self.table("components")
        for spec in CATALOG["components"]:
            components.insert(
                {
                    "Id": self.new_id(epoch),
                    "Name": {"_c": spec["name"]},
                    "InternalName": spec["key"],
                    "Unit": spec["unit"],
                    "PricePerUnit": spec["price"],
                    "Type": spec["type"],
                }
            )
        all_variants = variants.list()
        metered = [c for c in components.list() if c["Type"] == "Metered"]
        for i in range(60):
            when = now - timedelta(days=400 - 6 * i, hours=rng.randint(0, 20))
            customer = self.seed_customer(rng, when)
            for extra in range(rng.choice([0, 1, 1, 1, 2])):
                start = when + timedelta(hours=2 + 24 * extra)
                variant = rng.choice(all_variants)
                order = self.insert_order(customer, variant, 1, [], None, start)
                contract = self.fulfil(order, None, start)
                if i % 4 == 0 and metered:
                    self.table("usage").insert(
                        {
                            "Id": self.new_id(start),
                            "ContractId": contract["Id"],
                            "TransferredAt": ts(start),
                            "ComponentId": rng.choice(metered)["Id"],
                            "Quantity": float(rng.randint(1, 500)),
                            "Key": "",
                            "DueDate": ts(start),
                            "_billed": False,
                        }
                    )
                if i % 7 == 3:
                    end = start + timedelta(days=rng.randint(30, 200))
                    after = self._ended_copy(contract, end)
                    contract.update({"EndDate": after["EndDate"], "Phases": after["Phases"]})
                    self._refresh(contract)
        contracts = self.table("contracts").list()
        for contract in contracts[:: max(1, len(contracts) // 4)][:4]:
            customer = self.table("customers").get(contract["CustomerId"]) or {}
            variant = variants.get(contract["PlanVariantId"]) or {}
            items = [
                {
                    "Description": f"{variant.get('InternalName', 'plan')} (next period)",
                    "Quantity": 1,
                    "PricePerUnit": variant.get("RecurringFee", 0),
                    "TotalNet": variant.get("RecurringFee", 0),
                    "VatPercentage": VAT_PERCENT,
                }
            ]
            self.insert_draft(contract, customer, now - timedelta(days=1), items)
        for invoice in self.table("invoices").list():
            sent = parse_datetime(invoice["DocumentDate"])
            if sent < now - timedelta(days=14):
                self.seed_payment(rng, invoice, sent + timedelta(days=rng.randint(1, 13)))
        self.table("webhooks").insert(
            {
                "Id": self.new_id(epoch),
                "Url": "https://example.com/billwerk-hook",
                "Events": ["ContractCreated", "InvoiceCreated"],
                "CreatedAt": ts(epoch),
            }
        )

    def seed_customer(self, rng: random.Random, when: datetime) -> Record:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(COMPANIES)
        postal, city, country = rng.choice(CITIES)
        values = {
            "CompanyName": company,
            "FirstName": first,
            "LastName": last,
            "EmailAddress": f"{first}.{last}.{self._counter}@example.com".lower(),
            "CustomerType": "Business" if company else "Consumer",
            "ExternalCustomerId": f"ext-{self._counter:05d}",
            "Address": {
                "Street": "Example Street",
                "HouseNumber": str(rng.randint(1, 99)),
                "PostalCode": postal,
                "City": city,
                "Country": country,
            },
            "VatId": f"DE{rng.randint(100000000, 999999999)}" if company else "",
        }
        return self.insert_customer(values, when)

    def seed_payment(self, rng: random.Random, invoice: Record, when: datetime) -> Record:
        amount = float(invoice["TotalGross"])
        history = [
            {
                "Amount": amount,
                "HttpCode": 0,
                "Preauth": False,
                "Status": "InProgress",
                "Timestamp": ts(when),
            },
            {
                "Amount": amount,
                "HttpCode": 0,
                "Preauth": False,
                "Status": "Succeeded",
                "Timestamp": ts(when + timedelta(seconds=1)),
            },
        ]
        provider_id = "-".join(f"{rng.getrandbits(4 * n):0{n}x}" for n in (8, 4, 4, 4, 12))
        return self.table("paymenttransactions").insert(
            {
                "Amount": amount,
                "ContractId": invoice["ContractId"],
                "Currency": "EUR",
                "CustomerId": invoice["CustomerId"],
                "CustomerName": invoice["RecipientName"],
                "Id": self.new_id(when),
                "PaymentProvider": "Example Provider",
                "PaymentProviderRole": "CreditCard",
                "Preauth": False,
                "ProviderTransactionId": provider_id,
                "Status": history[-1],
                "StatusHistory": history,
                "StatusTimestamp": history[-1]["Timestamp"],
                "Trigger": "Recurring",
            }
        )

    def register_seeders(self) -> None:
        app = self.app

        def customers(count: int) -> list[Record]:
            return [self.seed_customer(app.rng, self.now()) for _ in range(count)]

        def contracts(count: int) -> list[Record]:
            variants = self.table("planvariants").list()
            out = []
            for customer in customers(count):
                order = self.insert_order(customer, app.rng.choice(variants), 1, [], None)
                out.append(self.fulfil(order, None))
            return out

        def orders(count: int) -> list[Record]:
            variants = self.table("planvariants").list()
            return [self.insert_order(c, app.rng.choice(variants), 1, [], None) for c in customers(count)]

        def invoices(count: int) -> list[Record]:
            running = [c for c in self.table("contracts").list() if c["LifecycleStatus"] != "Ended"] or contracts(1)
            out = []
            for _ in range(count):
                contract = app.rng.choice(running)
                customer = self.table("customers").get(contract["CustomerId"]) or {}
                variant = self.table("planvariants").get(contract["PlanVariantId"]) or {}
                out.append(self.insert_invoice(contract, customer, self.now(), float(variant.get("RecurringFee", 0))))
            return out

        for name, fn in (
            ("customers", customers),
            ("contracts", contracts),
            ("orders", orders),
            ("invoices", invoices),
        ):
            app.seeder(name)(fn)


def _sub_name(customer: Record) -> str:
    person = f"{customer.get('FirstName') or ''} {customer.get('LastName') or ''}".strip()
    return person if customer.get("CompanyName") else ""


def create_app(
    seed: int = 1,
    client_id: str = DEFAULT_CREDENTIALS["clientId"],
    client_secret: str = DEFAULT_CREDENTIALS["clientSecret"],
    token_ttl: float = 3600,
    window_requests: int = 300,
    window_seconds: float = 60,
    rate_limits: bool = True,
) -> SandboxApp:
    """The Billwerk sandbox; ``token_ttl`` in seconds of the sandbox clock, the limit per OAuth client.

    Billwerk documents a 429 but no numbers; ``window_requests`` per ``window_seconds`` (sliding) is
    the sandbox's choice.
    """
    limiter = SlidingWindow(window_requests, window_seconds)
    limiter.enabled = rate_limits
    holder: list[Billwerk] = []

    def populate(app: SandboxApp) -> None:
        if not holder:
            holder.append(Billwerk(app, client_id, client_secret, token_ttl, limiter))
        holder[0].populate()

    def rate_limited(retry_after: float) -> Response:
        wait = SlidingWindow.retry_after_header(retry_after)
        return JSONResponse(
            {"Message": f"API rate limit exceeded. Try again in {wait} seconds."},
            429,
            {
                "Retry-After": wait,
                "X-RateLimit-Limit": str(window_requests),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(time.time() + float(wait))),
            },
        )

    def server_error(status: int) -> Response:
        return JSONResponse({"Message": "An error has occurred."}, status)

    app = SandboxApp(
        "billwerk",
        prefix=PREFIX,
        seed=seed,
        populate=populate,
        case_insensitive=True,
        rate_limited=rate_limited,
        server_error=server_error,
    )
    sandbox = holder[0]
    app.add_limiter(limiter)
    app.options.update(
        {
            "client_id": client_id,
            "token_ttl": token_ttl,
            "window_requests": window_requests,
            "window_seconds": window_seconds,
            "rate_limits": rate_limits,
        }
    )
    app.default_credentials = {"clientId": client_id, "clientSecret": client_secret}
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    # The token endpoint lives at the host root, outside PREFIX.
    app.add_route(TOKEN_PATH, sandbox.token, ["POST"], prefixed=False)
    app.add_route(TOKEN_PATH + "/", sandbox.token, ["POST"], prefixed=False)
    app.add_route("/{path:path}", sandbox.handle, methods)
    sandbox.register_seeders()
    return app
