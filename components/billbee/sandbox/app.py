"""The Billbee sandbox: all 80 operations of Billbee's API v1 swagger, served locally.

Behaviour follows the swagger (``/work/shared/specs/billbee.v1.swagger.yaml``), the official
SDKs and the PHP SDK's response fixtures:

- every request needs ``X-Billbee-Api-Key`` and HTTP Basic (user name + API password), else 401;
- answers use the envelope ``{Paging?, ErrorMessage, ErrorCode, ErrorDescription, Data}``;
  ``Paging`` only on paged lists; ``ErrorCode`` 0 is success (2 OrderNotFound, 11 InvalidData, ...);
  webhooks, enums, shipping carriers and parse-placeholders answer bare JSON like the real API;
- paging: ``page`` from 1, ``pageSize`` 1..250 (default 50); anything else is 400 InvalidData
  (the docs say only these values are allowed); a page past the end is empty;
- throttling: 50/s per API key, 10/s per key + user, 2/s per endpoint per key + user, plus the
  documented extra limits (``GET /orders/{id}`` 6 per order per minute, invoice and delivery-note
  creation 1 per order per 5 minutes, ``GET /events`` 2 per page per hour, ``GET /orders/invoices``
  1 per page per minute); over a limit: 429 with ``Retry-After`` seconds and WebApiThrottle's body;
- paths match case-insensitively (IIS); query parameter names too (ASP.NET model binding);
- a rejected request changes nothing; changing an order bumps its ``LastModifiedAt``.

Choices where the docs are silent (the component must not depend on them): a 401 carries the
envelope with ErrorCode 1; unknown ids answer 404 (orders: ErrorCode 2, others: 11);
``modifiedAtMin`` and the other ``min*`` filters are inclusive; ``tag`` filters need all tags;
``ErrorDescription`` is the ErrorCode's name ("NoError").
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skiff.sandbox import (
    PageSlice,
    Record,
    SandboxApp,
    SlidingWindow,
    basic_credentials,
    check_basic,
    header_matches,
    paginate,
    parse_datetime,
    query_list,
)

from .data import (
    ACCOUNT_SYNC_STATES,
    ADDRESS_KEYS,
    CUSTOMER_KEYS,
    ERROR_CODES,
    OPEN_STATES,
    ORDER_ADDRESS_KEYS,
    ORDER_KEYS,
    ORDER_PATCHABLE_FIELDS,
    ORDER_STATES,
    ORDER_USER_KEYS,
    PAYMENT_TYPES,
    PRODUCT_KEYS,
    PRODUCT_PATCHABLE_FIELDS,
    SHIPMENT_TYPES,
    SHIPPING_CARRIERS,
    SHOP_ACCOUNT_TYPES,
    WEBHOOK_FILTERS,
    BillbeeData,
    fake_pdf,
    ts,
    ts_local,
)

__all__ = ["DEFAULT_CREDENTIALS", "PREFIX", "create_app"]

PREFIX = "/api/v1"
DEFAULT_CREDENTIALS: dict[str, str] = {
    "apiKey": "sandbox-api-key",
    "username": "sandbox@example.com",
    "password": "sandbox-password",
}

Handler = Callable[[Request], Awaitable[Response]]
MAX_PAGE_SIZE = 250


class Fail(Exception):
    """Raised by handlers: the response to send instead (nothing has been changed yet)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def envelope(
    data: Any = None,
    *,
    status: int = 200,
    code: int = 0,
    message: str | None = None,
    paging: PageSlice[Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {}
    if paging is not None:
        body["Paging"] = {
            "Page": paging.page,
            "TotalPages": paging.total_pages,
            "TotalRows": paging.total_rows,
            "PageSize": paging.page_size,
        }
    body["ErrorMessage"] = message
    body["ErrorCode"] = code
    body["ErrorDescription"] = ERROR_CODES[code] if code < len(ERROR_CODES) else str(code)
    body["Data"] = data
    return JSONResponse(body, status_code=status)


def envelope_page(records: list[Record], page: int, size: int) -> Response:
    sliced = paginate(records, page, size)
    return envelope(sliced.items, paging=sliced)


def fail(status: int, code: int, message: str) -> Fail:
    return Fail(envelope(None, status=status, code=code, message=message))


def invalid(message: str) -> Fail:
    return fail(400, 11, message)


def model_error(detail: str) -> Fail:
    """ASP.NET Web API's answer when a parameter cannot be bound (e.g. ``/orders/abc``)."""
    return Fail(JSONResponse({"Message": "The request is invalid.", "MessageDetail": detail}, status_code=400))


def aspnet_message(status: int, message: str) -> Response:
    return JSONResponse({"Message": message}, status_code=status)


@functools.lru_cache(maxsize=262_144)
def _parse_ts(value: str) -> datetime:
    # Stored timestamps repeat on every poll: parse each string once.
    return parse_datetime(value)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_type(name: str, value: Any, kind: str) -> None:
    """Light type checks for request bodies; ``kind``: str, int, number, bool, dict, list."""
    if value is None:
        return
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": _is_number(value),
        "bool": isinstance(value, bool),
        "dict": isinstance(value, dict),
        "list": isinstance(value, list),
    }[kind]
    if not ok:
        raise invalid(f"The value of '{name}' is not valid: expected {kind}.")


_ORDER_FIELD_TYPES = {
    "AcceptLossOfReturnRight": "bool",
    "AdjustmentCost": "number",
    "InvoiceAddress": "dict",
    "ShippingAddress": "dict",
    "PaidAmount": "number",
    "PaymentMethod": "int",
    "ShipWeightKg": "number",
    "ShippingCost": "number",
    "TaxRate1": "number",
    "TaxRate2": "number",
    "VatMode": "int",
    "State": "int",
    "OrderItems": "list",
    "Tags": "list",
    "Comments": "list",
    "Seller": "dict",
    "Buyer": "dict",
    "Customer": "dict",
    "TotalCost": "number",
    "Currency": "str",
    "OrderNumber": "str",
    "Id": "str",
}
_PRODUCT_FIELD_TYPES = {
    "Title": "list",
    "InvoiceText": "list",
    "Description": "list",
    "ShortDescription": "list",
    "BasicAttributes": "list",
    "Materials": "list",
    "Tags": "list",
    "Images": "list",
    "Price": "number",
    "CostPrice": "number",
    "VatIndex": "int",
    "Vat1Rate": "number",
    "Vat2Rate": "number",
    "StockDesired": "number",
    "StockCurrent": "number",
    "StockWarning": "number",
    "SKU": "str",
    "EAN": "str",
    "Type": "int",
    "Weight": "int",
    "WeightNet": "int",
    "IsDigital": "bool",
    "IsCustomizable": "bool",
    "IsDeactivated": "bool",
    "LowStock": "bool",
    "WidthCm": "number",
    "LengthCm": "number",
    "HeightCm": "number",
    "Unit": "int",
    "UnitsPerItem": "number",
    "DeliveryTime": "int",
    "Manufacturer": "str",
    "StockCode": "str",
    "CountryOfOrigin": "str",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BillbeeSandbox:
    """Route handlers and their shared state; ``self.data`` is rebuilt on every reset."""

    def __init__(
        self,
        app: SandboxApp,
        *,
        api_key: str,
        username: str,
        password: str,
        rate_limits: bool,
        counts: dict[str, int],
    ) -> None:
        self.app = app
        self.api_key = api_key
        self.username = username
        self.password = password
        self.counts = counts
        self.data: BillbeeData = BillbeeData(app)
        self.per_key = app.add_limiter(SlidingWindow(50, 1.0))
        self.per_user = app.add_limiter(SlidingWindow(10, 1.0))
        self.per_endpoint = app.add_limiter(SlidingWindow(2, 1.0))
        self.order_get = app.add_limiter(SlidingWindow(6, 60.0))
        self.documents = app.add_limiter(SlidingWindow(1, 300.0))
        self.events_page = app.add_limiter(SlidingWindow(2, 3600.0))
        self.invoices_page = app.add_limiter(SlidingWindow(1, 60.0))
        self.set_rate_limits(rate_limits)
        self.operations: dict[str, tuple[str, str]] = {}
        self._register_routes()
        self._register_seeders()

    # ------------------------------------------------------------------ state

    def set_rate_limits(self, enabled: bool) -> None:
        for limiter in self.app.limiters:
            limiter.enabled = enabled

    def populate(self, app: SandboxApp) -> None:
        self.data = BillbeeData(app)
        self.data.populate(
            orders=self.counts["orders"], products=self.counts["products"], customers=self.counts["customers"]
        )

    def now(self) -> datetime:
        return self.app.clock.now()

    # ------------------------------------------------------------------ request plumbing

    def _auth(self, request: Request) -> Response | None:
        if not header_matches(request, "x-billbee-api-key", self.api_key):
            return self._unauthorized("The API key in header X-Billbee-Api-Key is missing or invalid.")
        if not check_basic(request, self.username, self.password):
            if basic_credentials(request) is None:
                return self._unauthorized("Basic authentication with the Billbee user and API password is missing.")
            return self._unauthorized("The Billbee user name or API password is invalid.")
        return None

    @staticmethod
    def _unauthorized(message: str) -> Response:
        response = envelope(None, status=401, code=1, message=message)
        response.headers["WWW-Authenticate"] = 'Basic realm="Billbee API"'
        return response

    @staticmethod
    def throttled(window: SlidingWindow, wait: float) -> Response:
        """WebApiThrottle's 429: a JSON string body and Retry-After in whole seconds."""
        period = {1.0: "Second", 60.0: "Minute", 300.0: "5 Minutes", 3600.0: "Hour"}.get(
            window.per_seconds, f"{window.per_seconds:g} Seconds"
        )
        message = f"API calls quota exceeded! maximum admitted {window.requests} per {period}."
        return JSONResponse(message, status_code=429, headers={"Retry-After": SlidingWindow.retry_after_header(wait)})

    def _throttle(self, operation_id: str) -> Response | None:
        user_key = (self.api_key, self.username)
        for window, key in (
            (self.per_key, self.api_key),
            (self.per_user, user_key),
            (self.per_endpoint, (*user_key, operation_id)),
        ):
            wait = window.hit(key)
            if wait is not None:
                return self.throttled(window, wait)
        return None

    def extra_limit(self, window: SlidingWindow, *key: Any, per_user: bool = True) -> None:
        # Invoice and delivery-note creation are documented "by order and api key": every user of a key shares them.
        wait = window.hit((self.api_key, self.username, *key) if per_user else (self.api_key, *key))
        if wait is not None:
            raise Fail(self.throttled(window, wait))

    def op(self, method: str, path: str, operation_id: str) -> Callable[[Handler], Handler]:
        """Register an operation: auth, throttling and ``Fail`` handling around the handler."""

        def register(fn: Handler) -> Handler:
            async def handler(request: Request) -> Response:
                denied = self._auth(request) or self._throttle(operation_id)
                if denied is not None:
                    return denied
                try:
                    return await fn(request)
                except Fail as failure:
                    return failure.response

            self.app.add_route(path, handler, [method], name=operation_id)
            self.operations[operation_id] = (method, path)
            return fn

        return register

    # ------------------------------------------------------------------ parameter parsing

    @staticmethod
    def q(request: Request, name: str) -> str | None:
        lowered = name.lower()
        for key, value in request.query_params.multi_items():
            if key.lower() == lowered:
                return value
        return None

    def q_int(self, request: Request, name: str, default: int | None = None) -> int | None:
        raw = self.q(request, name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise invalid(f"The value '{raw}' is not valid for {name}.") from None

    def q_bool(self, request: Request, name: str, default: bool = False) -> bool:
        raw = self.q(request, name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise invalid(f"The value '{raw}' is not valid for {name}.")

    def q_date(self, request: Request, name: str) -> datetime | None:
        raw = self.q(request, name)
        if raw is None or raw == "":
            return None
        try:
            return parse_datetime(raw)
        except ValueError:
            raise invalid(f"The value '{raw}' is not valid for {name}.") from None

    @staticmethod
    def q_ints(request: Request, name: str) -> list[int]:
        values = []
        for raw in query_list(request, name):
            for part in raw.split(","):
                if part.strip():
                    try:
                        values.append(int(part))
                    except ValueError:
                        raise invalid(f"The value '{part}' is not valid for {name}.") from None
        return values

    @staticmethod
    def q_strs(request: Request, name: str) -> list[str]:
        return [v for v in query_list(request, name) if v != ""]

    def paging(self, request: Request) -> tuple[int, int]:
        page = self.q_int(request, "page", 1)
        size = self.q_int(request, "pageSize", 50)
        assert page is not None and size is not None
        if page < 1:
            raise invalid("The page must be 1 or greater.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise invalid(f"The pageSize must be between 1 and {MAX_PAGE_SIZE}.")
        return page, size

    @staticmethod
    def path_int(request: Request, name: str) -> int:
        raw = request.path_params[name]
        try:
            return int(raw)
        except ValueError:
            raise model_error(
                f"The parameters dictionary contains a null entry for parameter '{name}' of non-nullable "
                f"type 'System.Int64'. The value '{raw}' is not valid."
            ) from None

    @staticmethod
    async def body(request: Request, kind: type = dict, *, required: bool = True) -> Any:
        raw = await request.body()
        if not raw.strip():
            if required:
                raise invalid("The request body is missing.")
            return None
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise invalid("The request body is not valid JSON.") from None
        if value is None and not required:
            return None
        if not isinstance(value, kind):
            expected = "an object" if kind is dict else "an array"
            raise invalid(f"The request body must be {expected}.")
        return value

    # ------------------------------------------------------------------ lookups

    def order(self, order_id: int) -> Record:
        order = self.data.orders.get(order_id)
        if order is None:
            raise fail(404, 2, f"Order {order_id} not found.")
        return order

    def customer(self, customer_id: int) -> Record:
        customer = self.data.customers.get(customer_id)
        if customer is None:
            raise fail(404, 11, f"Customer {customer_id} not found.")
        return customer

    def address(self, address_id: int) -> Record:
        address = self.data.addresses.get(address_id)
        if address is None:
            raise fail(404, 11, f"Address {address_id} not found.")
        return address

    def product(self, key: str | int, lookup_by: str = "id") -> Record:
        lookup = lookup_by.lower()
        found: Record | None = None
        if lookup == "id":
            try:
                found = self.data.products.get(int(key))
            except ValueError:
                raise invalid(f"The value '{key}' is not a valid article id.") from None
        elif lookup == "sku":
            found = self.data.products.first(SKU=str(key))
        elif lookup == "ean":
            found = self.data.products.first(EAN=str(key))
        else:
            raise invalid(f"The value '{lookup_by}' is not valid for lookupBy (id, sku or ean).")
        if found is None:
            raise fail(404, 11, f"Article not found ({lookup}: {key}).")
        return found

    def image(self, image_id: int, product: Record | None = None) -> Record:
        image = self.data.images.get(image_id)
        if image is None or (product is not None and image["ArticleId"] != product["Id"]):
            raise fail(404, 11, f"Image {image_id} not found.")
        return image

    def touch_order(self, order: Record) -> None:
        stamp = ts(self.now())
        order["LastModifiedAt"] = stamp
        order["UpdatedAt"] = stamp

    @staticmethod
    def check_order_usable(order: Record) -> None:
        if order["State"] == 6:
            raise fail(400, 6, f"Order {order['BillBeeOrderId']} is deleted.")
        if order["State"] == 8:
            raise fail(400, 5, f"Order {order['BillBeeOrderId']} is canceled.")

    def file_url(self, request: Request, name: str) -> str:
        return f"{str(request.base_url).rstrip('/')}/_sandbox/files/{name}"

    # ------------------------------------------------------------------ representations

    @staticmethod
    def invoice_number(order: Record) -> str | None:
        if order["InvoiceNumber"] is None:
            return None
        prefix, postfix = order["InvoiceNumberPrefix"] or "", order["InvoiceNumberPostfix"] or ""
        return f"{prefix}{order['InvoiceNumber']}{postfix}"

    def partner_order(self, order: Record) -> Record:
        """The short ``Rechnungsdruck...Api.Order`` model (find by partner, customer orders)."""
        invoice = self.invoice_number(order)
        return {
            "Id": order["BillBeeOrderId"],
            "ExternalId": order["Id"],
            "InvoiceNumber": invoice,
            "InvoiceCreatedAt": order["InvoiceDate"],
            "InvoiceDate": order["InvoiceDate"],
            "CreatedAt": order["CreatedAt"],
            "PaidAt": order["PayedAt"],
            "ShippedAt": order["ShippedAt"],
            "HasInvoice": invoice is not None,
            "OrderStateId": order["State"],
            "OrderStateText": ORDER_STATES.get(order["State"], str(order["State"])),
            "TotalGross": order["TotalCost"],
            "ShopName": order["Seller"]["BillbeeShopName"] if order["Seller"] else None,
            "CanCreateAutoInvoice": invoice is None and order["State"] not in (6, 8),
        }

    def invoice_model(self, order: Record, include_positions: bool) -> Record:
        gross = float(order["TotalCost"] or 0)
        tax = sum(float(i.get("TaxAmount") or 0) for i in order["OrderItems"])
        shipping = float(order["ShippingCost"] or 0)
        ship_net = round(shipping / 1.19, 4)
        address = order["InvoiceAddress"] or {}
        customer = order["Customer"] or {}
        positions = None
        if include_positions:
            positions = []
            for index, item in enumerate(order["OrderItems"], start=1):
                total_gross = float(item.get("TotalPrice") or 0)
                item_tax = float(item.get("TaxAmount") or 0)
                quantity = float(item.get("Quantity") or 1)
                product = item.get("Product") or {}
                positions.append(
                    {
                        "Position": index,
                        "Amount": quantity,
                        "NetValue": round((total_gross - item_tax) / quantity, 4),
                        "TotalNetValue": round(total_gross - item_tax, 4),
                        "GrossValue": round(total_gross / quantity, 4),
                        "TotalGrossValue": total_gross,
                        "VatRate": 19.0 if item.get("TaxIndex") == 1 else 7.0,
                        "ArticleBillbeeId": product.get("BillbeeId"),
                        "Sku": product.get("SKU"),
                        "Title": product.get("Title"),
                        "BillbeeId": item.get("BillbeeId"),
                        "TotalVatAmount": round(item_tax, 4),
                        "RebatePercent": float(item.get("Discount") or 0),
                    }
                )
        invoice_date = order["InvoiceDate"]
        return {
            "BillbeeId": order["BillBeeOrderId"],
            "InvoiceNumber": self.invoice_number(order),
            "Type": "invoice",
            "Title": "",
            "Salutation": None,
            "LastName": address.get("LastName"),
            "FirstName": address.get("FirstName"),
            "Company": address.get("Company"),
            "CustomerNumber": customer.get("Number"),
            "DebtorNumber": customer.get("Number"),
            "InvoiceDate": ts_local(_parse_ts(invoice_date)) if invoice_date else None,
            "TotalNet": round(gross - tax - (shipping - ship_net), 2),
            "Currency": order["Currency"],
            "TotalGross": gross,
            "PaymentTypeId": order["PaymentMethod"],
            "OrderNumber": order["OrderNumber"],
            "TransactionId": order["PaymentTransactionId"],
            "Email": address.get("Email"),
            "ShopName": order["Seller"]["BillbeeShopName"] if order["Seller"] else None,
            "Positions": positions,
            "PayDate": ts_local(_parse_ts(order["PayedAt"])) if order["PayedAt"] else None,
            "VatMode": order["VatMode"],
            "ShippingCountry": (order["ShippingAddress"] or {}).get("CountryISO2"),
            "AdditionalFees": [
                {
                    "Type": "ShipCost",
                    "Gross": shipping,
                    "Net": ship_net,
                    "VatAmount": round(shipping - ship_net, 4),
                    "VatRate": 19.0,
                }
            ],
            "MerchantVatId": order["MerchantVatId"],
            "CustomerVatId": order["CustomerVatId"],
            "VatFlags": {
                "ThirdPartyCountry": False,
                "SrcCountryIsEqualToDstCountry": True,
                "CustomerHasVatId": bool(order["CustomerVatId"]),
                "EuDeliveryThresholdExceeded": False,
                "OssEnabled": False,
                "SellerIsRegisteredInDstCountry": True,
                "OrderDistributionCountryIsEmpty": False,
                "UserProfileCountryIsEmpty": False,
                "SetIglWhenVatIdIsAvailableEnabled": False,
                "RatesFrom": "source_country",
                "VatIdFrom": "seller",
                "IsDistanceSale": False,
            },
        }

    # ------------------------------------------------------------------ routes

    def _register_routes(self) -> None:
        op = self.op

        # ---------------------------------------------------------- cloud storage, layouts, enums
        @op("GET", "/cloudstorages", "CloudStorageApi_GetList")
        async def cloud_storages(request: Request) -> Response:
            return envelope(self.data.cloud_storages.list())

        @op("GET", "/layouts", "LayoutApi_GetList")
        async def layouts(request: Request) -> Response:
            return envelope(self.data.layouts.list())

        def enum_route(path: str, operation_id: str, entries: Iterable[tuple[int, str]]) -> None:
            values = [{"Id": i, "Name": n} for i, n in entries]

            async def handler(request: Request) -> Response:
                return JSONResponse(values)  # bare list, as the SDK's List<EnumEntry> expects

            op("GET", path, operation_id)(handler)

        enum_route("/enums/paymenttypes", "EnumApi_GetPaymentTypes", PAYMENT_TYPES.items())
        enum_route("/enums/shippingcarriers", "EnumApi_GetShippingCarriers", enumerate(SHIPPING_CARRIERS))
        enum_route("/enums/accountsyncstate", "EnumApi_GetAccountSyncState", ACCOUNT_SYNC_STATES.items())
        enum_route("/enums/shopaccounttype", "EnumApi_GetShopAccountType", SHOP_ACCOUNT_TYPES.items())
        enum_route("/enums/shipmenttypes", "EnumApi_GetShipmentTypes", enumerate(SHIPMENT_TYPES))
        enum_route("/enums/orderstates", "EnumApi_GetOrderStates", ORDER_STATES.items())

        # ---------------------------------------------------------- customer addresses
        def address_payload(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
            known = {k.lower(): k for k in ADDRESS_KEYS}
            changes: dict[str, Any] = (
                {} if partial else {k: None for k in ADDRESS_KEYS if k not in ("Id", "CustomerId")}
            )
            for key, value in body.items():
                canonical = known.get(key.lower())
                if canonical is None:
                    if partial:
                        raise invalid(f"The field '{key}' does not exist on an address.")
                    continue
                if canonical in ("Id", "CustomerId", "ArchivedAt", "RestoredAt"):
                    continue  # cannot be changed
                if canonical == "AddressType":
                    if value not in (1, 2):
                        raise invalid("AddressType must be 1 (invoice) or 2 (shipping).")
                else:
                    _check_type(canonical, value, "str")
                changes[canonical] = value
            if not partial and changes.get("AddressType") is None:
                changes["AddressType"] = 1
            return changes

        def create_address(customer: Record, body: dict[str, Any]) -> Record:
            changes = address_payload(body, partial=False)
            record = {k: None for k in ADDRESS_KEYS}
            record.update(changes)
            record["Id"] = None
            record["CustomerId"] = customer["Id"]
            return self.data.addresses.insert(record)

        @op("GET", "/customer-addresses", "CustomerAddresses_GetAll")
        async def addresses_all(request: Request) -> Response:
            page, size = self.paging(request)
            return envelope_page(self.data.addresses.list(), page, size)

        @op("POST", "/customer-addresses", "CustomerAddresses_Create")
        async def addresses_create(request: Request) -> Response:
            body = await self.body(request)
            customer_id = body.get("CustomerId")
            if not isinstance(customer_id, int) or isinstance(customer_id, bool):
                raise invalid("CustomerId is required.")
            customer = self.customer(customer_id)
            if body.get("Id"):
                raise invalid("Id must not be set when creating an address.")
            return envelope(create_address(customer, body))

        @op("GET", "/customer-addresses/{id}", "CustomerAddresses_GetOne")
        async def addresses_get(request: Request) -> Response:
            return envelope(self.address(self.path_int(request, "id")))

        @op("PUT", "/customer-addresses/{id}", "CustomerAddresses_Update")
        async def addresses_put(request: Request) -> Response:
            address = self.address(self.path_int(request, "id"))
            changes = address_payload(await self.body(request), partial=False)
            address.update(changes)
            return envelope(address)

        # ---------------------------------------------------------- customers
        def customer_payload(body: dict[str, Any]) -> dict[str, Any]:
            known = {k.lower(): k for k in CUSTOMER_KEYS}
            changes: dict[str, Any] = {}
            for key, value in body.items():
                canonical = known.get(key.lower())
                if canonical is None or canonical in ("Id", "ArchivedAt", "RestoredAt"):
                    continue
                if canonical in ("Name", "Email", "Tel1", "Tel2", "VatId"):
                    _check_type(canonical, value, "str")
                elif canonical in ("Number", "PriceGroupId", "LanguageId", "Type"):
                    _check_type(canonical, value, "int")
                elif canonical == "MetaData":
                    _check_type(canonical, value, "list")
                else:
                    _check_type(canonical, value, "dict")
                changes[canonical] = value
            email = changes.get("Email")
            if email and not _EMAIL.match(email):
                raise invalid(f"The e-mail address '{email}' is not valid.")
            return changes

        @op("GET", "/customers", "Customer_GetAll")
        async def customers_all(request: Request) -> Response:
            page, size = self.paging(request)
            return envelope_page(self.data.customers.list(), page, size)

        @op("POST", "/customers", "Customer_Create")
        async def customers_create(request: Request) -> Response:
            body = await self.body(request)
            if body.get("Id"):
                raise invalid("Id must not be set when creating a customer.")
            changes = customer_payload(body)
            address_body = body.get("Address")
            _check_type("Address", address_body, "dict")
            if address_body:
                address_payload(address_body, partial=False)  # validate before anything is stored
            record: Record = {k: None for k in CUSTOMER_KEYS}
            record.update({"MetaData": [], "Type": 0, "LanguageId": 3, "PriceGroupId": None})
            record.update(changes)
            record["Id"] = None
            if record["Number"] is None:
                record["Number"] = len(self.data.customers) + 1
            customer = self.data.customers.insert(record)
            if address_body:
                create_address(customer, address_body)
            return envelope(customer)

        @op("GET", "/customers/addresses/{id}", "Customer_GetCustomerAddress")
        async def customer_address_get(request: Request) -> Response:
            return envelope(self.address(self.path_int(request, "id")))

        @op("PUT", "/customers/addresses/{id}", "Customer_UpdateAddress")
        async def customer_address_put(request: Request) -> Response:
            address = self.address(self.path_int(request, "id"))
            address.update(address_payload(await self.body(request), partial=False))
            return envelope(address)

        @op("PATCH", "/customers/addresses/{id}", "Customer_PatchAddress")
        async def customer_address_patch(request: Request) -> Response:
            address = self.address(self.path_int(request, "id"))
            address.update(address_payload(await self.body(request), partial=True))
            return envelope(address)

        @op("GET", "/customers/{id}", "Customer_GetOne")
        async def customer_get(request: Request) -> Response:
            return envelope(self.customer(self.path_int(request, "id")))

        @op("PUT", "/customers/{id}", "Customer_Update")
        async def customer_put(request: Request) -> Response:
            customer = self.customer(self.path_int(request, "id"))
            body = await self.body(request)
            if body.get("Id") not in (None, 0, customer["Id"]):
                raise invalid("The Id in the body does not match the id in the path.")
            customer.update(customer_payload(body))
            return envelope(customer)

        @op("GET", "/customers/{id}/orders", "Customer_GetCustomerOrders")
        async def customer_orders(request: Request) -> Response:
            customer = self.customer(self.path_int(request, "id"))
            page, size = self.paging(request)
            orders = self.data.orders.list(lambda o: (o["Customer"] or {}).get("Id") == customer["Id"])
            sliced = paginate(orders, page, size)
            return envelope([self.partner_order(o) for o in sliced.items], paging=sliced)

        @op("GET", "/customers/{id}/addresses", "Customer_GetCustomerAddresses")
        async def customer_addresses(request: Request) -> Response:
            customer = self.customer(self.path_int(request, "id"))
            page, size = self.paging(request)
            return envelope_page(self.data.addresses.list(CustomerId=customer["Id"]), page, size)

        @op("POST", "/customers/{id}/addresses", "Customer_AddCustomerAddress")
        async def customer_address_add(request: Request) -> Response:
            customer = self.customer(self.path_int(request, "id"))
            body = await self.body(request)
            if body.get("Id"):
                raise invalid("Id is set: the address was not added.")
            return envelope(create_address(customer, body))

        # ---------------------------------------------------------- events
        @op("GET", "/events", "EventApi_GetList")
        async def events(request: Request) -> Response:
            page, size = self.paging(request)
            low, high = self.q_date(request, "minDate"), self.q_date(request, "maxDate")
            types = set(self.q_ints(request, "typeId"))
            order_id = self.q_int(request, "orderId")
            self.extra_limit(self.events_page, "events", page)

            def keep(event: Record) -> bool:
                if types and event["TypeId"] not in types:
                    return False
                if order_id is not None and event["OrderId"] != order_id:
                    return False
                if low is not None or high is not None:
                    created = _parse_ts(event["Created"])
                    if (low is not None and created < low) or (high is not None and created > high):
                        return False
                return True

            return envelope_page(self.data.events.list(keep), page, size)

        # ---------------------------------------------------------- orders: lists
        def order_filter(request: Request, date_field: str, low_name: str, high_name: str) -> Callable[[Record], bool]:
            low, high = self.q_date(request, low_name), self.q_date(request, high_name)
            modified_low = self.q_date(request, "modifiedAtMin")
            modified_high = self.q_date(request, "modifiedAtMax")
            minimum_id = self.q_int(request, "minimumBillBeeOrderId")
            shops = set(self.q_ints(request, "shopId"))
            states = set(self.q_ints(request, "orderStateId"))
            tags = {t.lower() for t in self.q_strs(request, "tag")}
            exclude_tags = self.q_bool(request, "excludeTags")

            def keep(order: Record) -> bool:
                if minimum_id is not None and order["BillBeeOrderId"] < minimum_id:
                    return False
                if states and order["State"] not in states:
                    return False
                if shops and (order["Seller"] or {}).get("BillbeeShopId") not in shops:
                    return False
                if tags:
                    have = {str(t).lower() for t in order["Tags"] or ()}
                    if exclude_tags:
                        if have & tags:
                            return False
                    elif not tags <= have:
                        return False
                if low is not None or high is not None:
                    value = order[date_field]
                    if value is None:
                        return False
                    stamp = _parse_ts(value)
                    if (low is not None and stamp < low) or (high is not None and stamp > high):
                        return False
                if modified_low is not None or modified_high is not None:
                    modified = _parse_ts(order["LastModifiedAt"])
                    if modified_low is not None and modified < modified_low:
                        return False
                    if modified_high is not None and modified > modified_high:
                        return False
                return True

            return keep

        @op("GET", "/orders", "OrderApi_GetList")
        async def orders_list(request: Request) -> Response:
            page, size = self.paging(request)
            title_source = self.q_int(request, "articleTitleSource", 0)
            if title_source not in (0, 1, 2, 3):
                raise invalid("articleTitleSource must be 0, 1, 2 or 3.")
            keep = order_filter(request, "CreatedAt", "minOrderDate", "maxOrderDate")
            return envelope_page(self.data.orders.list(keep), page, size)

        @op("GET", "/orders/invoices", "OrderApi_GetInvoiceList")
        async def invoices(request: Request) -> Response:
            page, size = self.paging(request)
            include_positions = self.q_bool(request, "includePositions")
            keep_order = order_filter(request, "InvoiceDate", "minInvoiceDate", "maxInvoiceDate")
            pay_low, pay_high = self.q_date(request, "minPayDate"), self.q_date(request, "maxPayDate")
            self.extra_limit(self.invoices_page, "invoices", page, self.q(request, "minInvoiceDate"))

            def keep(order: Record) -> bool:
                if order["InvoiceNumber"] is None or not keep_order(order):
                    return False
                if pay_low is not None or pay_high is not None:
                    if order["PayedAt"] is None:
                        return False
                    paid = _parse_ts(order["PayedAt"])
                    if (pay_low is not None and paid < pay_low) or (pay_high is not None and paid > pay_high):
                        return False
                return True

            sliced = paginate(self.data.orders.list(keep), page, size)
            return envelope([self.invoice_model(o, include_positions) for o in sliced.items], paging=sliced)

        @op("GET", "/orders/PatchableFields", "OrderApi_GetPatchableFields")
        async def order_patchable(request: Request) -> Response:
            return envelope(list(ORDER_PATCHABLE_FIELDS))

        @op("GET", "/orders/findbyextref/{extRef}", "OrderApi_GetByExtRef")
        async def order_by_ext_ref(request: Request) -> Response:
            ref = request.path_params["extRef"]
            order = self.data.orders.first(lambda o: o["OrderNumber"] == ref or o["Id"] == ref)
            if order is None:
                raise fail(404, 2, f"No order with the external reference '{ref}' was found.")
            return envelope(order)

        @op("GET", "/orders/find/{id}/{partner}", "OrderApi_Find")
        async def order_find(request: Request) -> Response:
            external, partner = request.path_params["id"], request.path_params["partner"].lower()

            def match(order: Record) -> bool:
                platform = str((order["Seller"] or {}).get("Platform") or "manual").lower()
                return bool(order["Id"] == external) and partner in (platform, "manual")

            order = self.data.orders.first(match)
            if order is None:
                raise fail(404, 2, f"No order '{external}' from partner '{partner}' was found.")
            return envelope(self.partner_order(order))

        # ---------------------------------------------------------- orders: documents
        @op("POST", "/orders/CreateDeliveryNote/{id}", "OrderApi_CreateDeliveryNote")
        async def delivery_note(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            include_pdf = self.q_bool(request, "includePdf")
            cloud = self.q_int(request, "sendToCloudId")
            if cloud is not None and self.data.cloud_storages.get(cloud) is None:
                raise invalid(f"Cloud storage {cloud} not found.")
            self.check_order_usable(order)
            self.extra_limit(self.documents, "deliverynote", order["BillBeeOrderId"], per_user=False)
            note = self.data.delivery_notes.get(order["BillBeeOrderId"])
            if note is None:
                note = {
                    "OrderNumber": order["OrderNumber"],
                    "DeliveryNoteNumber": str(len(self.data.delivery_notes) + 1),
                    "PDFData": None,
                    "DeliveryNoteDate": ts_local(self.now()),
                    "PdfDownloadUrl": None,
                }
                self.data.delivery_notes[order["BillBeeOrderId"]] = note
                self.data.history(order, "Lieferschein erstellt", "Lieferschein per API erstellt", 11)
                self.data.make_event(self.now(), 11, order["BillBeeOrderId"])
            name = f"deliverynote-{order['BillBeeOrderId']}.pdf"
            result = dict(note, PdfDownloadUrl=self.file_url(request, name))
            if include_pdf:
                result["PDFData"] = fake_pdf(f"Lieferschein {note['DeliveryNoteNumber']} {order['OrderNumber']}")
            return envelope(result)

        @op("POST", "/orders/CreateInvoice/{id}", "OrderApi_CreateInvoice")
        async def create_invoice(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            include_pdf = self.q_bool(request, "includeInvoicePdf")
            template = self.q_int(request, "templateId")
            cloud = self.q_int(request, "sendToCloudId")
            if template is not None:
                layout = self.data.layouts.get(template)
                if layout is None or layout["Type"] != 0:
                    raise invalid(f"Invoice template {template} not found.")
            if cloud is not None and self.data.cloud_storages.get(cloud) is None:
                raise invalid(f"Cloud storage {cloud} not found.")
            self.check_order_usable(order)
            self.extra_limit(self.documents, "invoice", order["BillBeeOrderId"], per_user=False)
            if order["InvoiceNumber"] is None:
                order["InvoiceNumberPrefix"] = "RE-"
                order["InvoiceNumber"] = self.data.next_invoice_number()
                order["InvoiceDate"] = ts(self.now())
                self.data.history(order, "Rechnung erstellt", "Rechnung per API erstellt", 1)
                self.data.make_event(self.now(), 1, order["BillBeeOrderId"])
                self.touch_order(order)
            model = self.invoice_model(order, False)
            number = self.invoice_number(order)
            return envelope(
                {
                    "OrderNumber": order["OrderNumber"],
                    "InvoiceNumber": number,
                    "PDFData": fake_pdf(f"Rechnung {number}") if include_pdf else None,
                    "InvoiceDate": model["InvoiceDate"],
                    "TotalGross": model["TotalGross"],
                    "TotalNet": model["TotalNet"],
                    "PdfDownloadUrl": self.file_url(request, f"invoice-{order['BillBeeOrderId']}.pdf"),
                }
            )

        # ---------------------------------------------------------- orders: single
        @op("POST", "/orders", "OrderApi_PostNewOrder")
        async def order_create(request: Request) -> Response:
            body = await self.body(request)
            shop_param = self.q_int(request, "shopId")
            created_raw = body.get("CreatedAt")
            if not created_raw or not isinstance(created_raw, str):
                raise invalid("CreatedAt is required.")
            try:
                created = parse_datetime(created_raw)
            except ValueError:
                raise invalid(f"The value '{created_raw}' is not valid for CreatedAt.") from None
            for key, kind in _ORDER_FIELD_TYPES.items():
                _check_type(key, body.get(key), kind)
            state = body.get("State") or 1
            if state not in ORDER_STATES:
                raise invalid(f"State {state} is not a valid order state (1..16).")
            for item in body.get("OrderItems") or []:
                if not isinstance(item, dict):
                    raise invalid("OrderItems must be a list of objects.")
                for key in ("Quantity", "TotalPrice", "TaxAmount", "Discount"):
                    _check_type(f"OrderItems.{key}", item.get(key), "number")
                _check_type("OrderItems.Product", item.get("Product"), "dict")
            for tag in body.get("Tags") or []:
                _check_type("Tags", tag, "str")
            shop_id = body.get("ApiAccountId") or shop_param
            shop = self.data.shops.get(shop_id) if shop_id else self.data.shops.get(100000000092375)
            if shop is None:
                raise fail(400, 10, f"The shop id {shop_id} is not valid for this account.")
            external = body.get("Id")
            if external and self.data.orders.first(lambda o: o["Id"] == external and o["ApiAccountId"] == shop["Id"]):
                raise fail(400, 9, f"An order with the id '{external}' already exists in this shop.")
            order: Record = {k: None for k in ORDER_KEYS}
            order.update({k: v for k, v in body.items() if k in order})
            platform = self.data.shop_platform.get(shop["Id"], "BillbeeApi")
            channel = {"Platform": platform, "BillbeeShopName": shop["Name"], "BillbeeShopId": shop["Id"]}
            seller = {k: (body.get("Seller") or {}).get(k) for k in ORDER_USER_KEYS}
            buyer = {k: (body.get("Buyer") or {}).get(k) for k in ORDER_USER_KEYS}
            now = ts(self.now())
            order.update(
                {
                    "BillBeeOrderId": None,
                    "State": state,
                    "CreatedAt": ts(created),
                    "Comments": body.get("Comments") or [],
                    "OrderItems": [self.data.order_item(i) for i in body.get("OrderItems") or []],
                    "InvoiceAddress": self.data.order_address(body.get("InvoiceAddress")),
                    "ShippingAddress": self.data.order_address(
                        body.get("ShippingAddress") or body.get("InvoiceAddress")
                    ),
                    "Tags": list(dict.fromkeys(body.get("Tags") or [])),
                    "Seller": {**seller, **channel},
                    "Buyer": {**buyer, **channel},
                    "Payments": body.get("Payments") or [],
                    "ShippingIds": [],
                    "History": [],
                    "ShippingServices": body.get("ShippingServices") or [],
                    "ApiAccountId": shop["Id"],
                    "ApiAccountName": shop["Name"],
                    "Currency": body.get("Currency") or "EUR",
                    "VatMode": body.get("VatMode") or 0,
                    "IsFromBillbeeApi": True,
                    "UpdatedAt": now,
                    "LastModifiedAt": now,
                }
            )
            customer = body.get("Customer")
            if isinstance(customer, dict) and customer.get("Id") in self.data.customers:
                order["Customer"] = self.data.customers.get(customer["Id"])
            for number_field in (
                "ShippingCost",
                "TotalCost",
                "AdjustmentCost",
                "PaidAmount",
                "RebateDifference",
            ):
                if order[number_field] is None:
                    order[number_field] = 0.0
            self.data.orders.insert(order)
            order["OrderNumber"] = order["OrderNumber"] or str(order["BillBeeOrderId"])
            order["Id"] = order["Id"] or order["OrderNumber"]
            order["WebUrl"] = f"https://app.billbee.io/app_v2/order/{order['BillBeeOrderId']}"
            self.data.history(order, "Per API erstellt", "Der Auftrag wurde über die API angelegt", 29)
            self.data.make_event(self.now(), 29, order["BillBeeOrderId"])
            return envelope(order, status=201)

        @op("GET", "/orders/{id}", "OrderApi_Get")
        async def order_get(request: Request) -> Response:
            order_id = self.path_int(request, "id")
            title_source = self.q_int(request, "articleTitleSource", 0)
            if title_source not in (0, 1, 2, 3):
                raise invalid("articleTitleSource must be 0, 1, 2 or 3.")
            order = self.order(order_id)
            self.extra_limit(self.order_get, "order", order_id)
            return envelope(order)

        @op("PATCH", "/orders/{id}", "OrderApi_PatchOrder")
        async def order_patch(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            allowed = {f.lower(): f for f in ORDER_PATCHABLE_FIELDS}
            changes: dict[str, Any] = {}
            for key, value in body.items():
                canonical = allowed.get(key.lower())
                if canonical is None:
                    raise invalid(f"The field '{key}' cannot be patched. See GET orders/PatchableFields.")
                _check_type(canonical, value, _ORDER_FIELD_TYPES.get(canonical, "str"))
                changes[canonical] = value
            for key in ("InvoiceAddress", "ShippingAddress"):
                if isinstance(changes.get(key), dict):
                    merged = {**(order[key] or {}), **changes[key]}
                    changes[key] = {k: merged.get(k) for k in ORDER_ADDRESS_KEYS}
            order.update(changes)
            if changes:
                self.touch_order(order)
            return envelope(order)

        @op("PUT", "/orders/{id}/orderstate", "OrderApi_UpdateState")
        async def order_state(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            new_state = body.get("NewStateId")
            if not isinstance(new_state, int) or isinstance(new_state, bool) or new_state not in ORDER_STATES:
                raise invalid(f"NewStateId {new_state!r} is not a valid order state (1..16).")
            if new_state != order["State"]:
                now = self.now()
                order["State"] = new_state
                if new_state == 3 and order["PayedAt"] is None:
                    order["PayedAt"] = ts(now)
                    self.data.make_event(now, 13, order["BillBeeOrderId"])
                if new_state == 4 and order["ShippedAt"] is None:
                    order["ShippedAt"] = ts(now)
                    self.data.make_event(now, 12, order["BillBeeOrderId"])
                if new_state == 9:
                    order["ArchivedAt"] = ts(now)
                text = f"Status geändert auf {ORDER_STATES[new_state]}"
                self.data.history(order, "Auftragsstatus geändert", text, 15)
                self.data.make_event(now, 15, order["BillBeeOrderId"])
                self.touch_order(order)
            return envelope(None)

        async def tags(request: Request, *, replace: bool) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            new_tags = body.get("Tags")
            if not isinstance(new_tags, list) or not all(isinstance(t, str) for t in new_tags):
                raise invalid("Tags must be a list of strings.")
            current = [] if replace else list(order["Tags"] or [])
            seen = {t.lower() for t in current}
            for tag in new_tags:
                if tag.strip() and tag.lower() not in seen:  # tags are not case sensitive
                    current.append(tag)
                    seen.add(tag.lower())
            if current != order["Tags"]:
                order["Tags"] = current
                self.touch_order(order)
            return envelope(None)

        @op("PUT", "/orders/{id}/tags", "OrderApi_TagsUpdate")
        async def tags_update(request: Request) -> Response:
            return await tags(request, replace=True)

        @op("POST", "/orders/{id}/tags", "OrderApi_TagsCreate")
        async def tags_create(request: Request) -> Response:
            return await tags(request, replace=False)

        @op("POST", "/orders/{id}/shipment", "OrderApi_AddShipment")
        async def add_shipment(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            shipping_id = body.get("ShippingId")
            if not isinstance(shipping_id, str) or not shipping_id.strip():
                raise invalid("ShippingId is required.")
            provider_id = body.get("ShippingProviderId")
            _check_type("ShippingProviderId", provider_id, "int")
            if provider_id is not None and self.data.providers.get(provider_id) is None:
                raise invalid(f"Shipping provider {provider_id} not found.")
            carrier = body.get("CarrierId")
            _check_type("CarrierId", carrier, "int")
            if carrier is not None and not 0 <= carrier < len(SHIPPING_CARRIERS):
                raise invalid(f"CarrierId {carrier} is not valid.")
            shipment_type = body.get("ShipmentType") or 0
            if shipment_type not in (0, 1):
                raise invalid("ShipmentType must be 0 (shipment) or 1 (retoure).")
            _check_type("Comment", body.get("Comment"), "str")
            now = self.now()
            self.data.make_shipment(
                order,
                now,
                shipping_id=shipping_id,
                provider_id=provider_id,
                product_id=body.get("ShippingProviderProductId"),
                carrier=carrier,
                shipment_type=shipment_type,
            )
            self.data.history(order, "Sendung erstellt", body.get("Comment") or f"Sendung {shipping_id}", 18)
            self.data.make_event(now, 18, order["BillBeeOrderId"])
            self.touch_order(order)
            return envelope(None)

        @op("POST", "/orders/{id}/send-message", "OrderApi_SendMessage")
        async def send_message(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            mode = body.get("SendMode", 0)
            if mode not in (0, 1, 2, 3, 4):
                raise invalid("SendMode must be between 0 and 4.")
            for key in ("Subject", "Body"):
                texts = body.get(key)
                if not isinstance(texts, list) or not texts or not all(isinstance(t, dict) for t in texts):
                    raise invalid(f"{key} must be a non-empty list of {{Text, LanguageCode}}.")
            alternative = body.get("AlternativeMail")
            if mode == 4 and not (isinstance(alternative, str) and _EMAIL.match(alternative)):
                raise invalid("AlternativeMail must be a valid e-mail address for SendMode 4.")
            self.data.history(order, "E-Mail versendet", str(body["Subject"][0].get("Text")), 31)
            self.data.make_event(self.now(), 31, order["BillBeeOrderId"])
            return envelope(None)

        @op("POST", "/orders/{id}/trigger-event", "OrderApi_TriggerEvent")
        async def trigger_event(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            name = body.get("Name")
            if not isinstance(name, str) or not name.strip():
                raise invalid("Name is required.")
            delay = body.get("DelayInMinutes", 0)
            if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
                raise invalid("DelayInMinutes must be a non-negative integer.")
            when = self.now() + timedelta(minutes=delay)
            self.data.history(order, "Regel ausgeführt", f"Ereignis '{name}' ausgelöst", 28)
            self.data.make_event(when, 28, order["BillBeeOrderId"])
            return envelope(None)

        @op("POST", "/orders/{id}/parse-placeholders", "OrderApi_ParsePlaceholders")
        async def parse_placeholders(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            text = body.get("TextToParse")
            if not isinstance(text, str):
                raise invalid("TextToParse is required.")
            address = order["InvoiceAddress"] or {}
            tracking = order["ShippingIds"][-1]["TrackingUrl"] if order["ShippingIds"] else ""
            values = {
                "ordernumber": order["OrderNumber"],
                "billbeeorderid": order["BillBeeOrderId"],
                "invoicenumber": self.invoice_number(order) or "",
                "totalcost": f"{float(order['TotalCost'] or 0):.2f}",
                "currency": order["Currency"],
                "firstname": address.get("FirstName"),
                "lastname": address.get("LastName"),
                "company": address.get("Company"),
                "shopname": (order["Seller"] or {}).get("BillbeeShopName"),
                "trackingurl": tracking,
                "orderdate": (order["CreatedAt"] or "")[:10],
            }

            def replace(match: re.Match[str]) -> str:
                key = match.group(1).lower().replace(" ", "")
                if key not in values:
                    return match.group(0)
                value = "" if values[key] is None else str(values[key])
                return html.escape(value) if body.get("IsHtml") else value

            result = re.sub(r"\[([A-Za-z][A-Za-z ]*)\]", replace, text)
            if body.get("Trim"):
                result = result.strip()
            return JSONResponse({"Result": result})  # bare, like the SDK's ParsePlaceholdersResult

        @op("POST", "/orders/{id}/message", "OrderApi_Message")
        async def order_message(request: Request) -> Response:
            order = self.order(self.path_int(request, "id"))
            body = await self.body(request)
            text = body.get("Text")
            if not isinstance(text, str) or not text.strip():
                raise invalid("Text is required.")
            _check_type("SenderName", body.get("SenderName"), "str")
            order["Comments"].append(
                {
                    "Id": self.data.serial(),
                    "FromCustomer": False,
                    "Text": text,
                    "Name": body.get("SenderName") or "API",
                    "Created": ts(self.now()).replace("+00:00", "Z"),
                }
            )
            self.touch_order(order)
            return envelope(None)

        # ---------------------------------------------------------- search
        @op("POST", "/search", "Search_Search")
        async def search(request: Request) -> Response:
            body = await self.body(request)
            term = body.get("Term")
            if not isinstance(term, str) or not term.strip():
                raise invalid("Term is required.")
            types = body.get("Type") or ["order", "product", "customer"]
            if not isinstance(types, list) or not {str(t).lower() for t in types} <= {
                "order",
                "product",
                "customer",
            }:
                raise invalid("Type may contain 'order', 'product' and 'customer'.")
            wanted = {str(t).lower() for t in types}
            words = [w.lower() for w in term.replace('"', " ").split() if w not in ("AND", "OR")]

            def hit(*fields: Any) -> bool:
                haystack = " ".join(str(f) for f in fields if f is not None).lower()
                return all(w.strip("*") in haystack for w in words)

            result: dict[str, list[Record]] = {"Products": [], "Orders": [], "Customers": []}
            if "product" in wanted:
                for p in self.data.products.list():
                    titles = [t["Text"] for t in p["Title"] or []]
                    if hit(p["SKU"], p["EAN"], *titles):
                        tags = ",".join(t["Text"] for t in p["Tags"] or [])
                        result["Products"].append(
                            {
                                "Id": p["Id"],
                                "ShortText": titles[0] if titles else None,
                                "SKU": p["SKU"],
                                "Tags": tags,
                            }
                        )
            if "order" in wanted:
                for o in self.data.orders.list():
                    buyer = (o["Buyer"] or {}).get("FullName")
                    articles = ", ".join(str((i.get("Product") or {}).get("Title")) for i in o["OrderItems"])
                    if hit(o["OrderNumber"], o["Id"], buyer, self.invoice_number(o), articles):
                        result["Orders"].append(
                            {
                                "Id": o["BillBeeOrderId"],
                                "ExternalReference": o["OrderNumber"],
                                "BuyerName": buyer,
                                "InvoiceNumber": self.invoice_number(o),
                                "CustomerName": (o["Customer"] or {}).get("Name"),
                                "ArticleTexts": articles,
                            }
                        )
            if "customer" in wanted:
                for c in self.data.customers.list():
                    if hit(c["Name"], c["Email"], c["Number"]):
                        addresses = "; ".join(
                            f"{a['Street']} {a['Housenumber']}, {a['Zip']} {a['City']}"
                            for a in self.data.addresses.list(CustomerId=c["Id"])
                        )
                        result["Customers"].append(
                            {
                                "Id": c["Id"],
                                "Name": c["Name"],
                                "Addresses": addresses,
                                "Number": str(c["Number"]),
                            }
                        )
            for key in result:
                result[key] = result[key][:50]
            return envelope(result)

        # ---------------------------------------------------------- products: stock
        def stock_update(model: Any) -> Record:
            if not isinstance(model, dict):
                raise invalid("Each stock update must be an object.")
            for key, kind in (
                ("BillbeeId", "int"),
                ("StockId", "int"),
                ("Sku", "str"),
                ("Reason", "str"),
                ("NewQuantity", "number"),
                ("OldQuantity", "number"),
                ("DeltaQuantity", "number"),
                ("ForceSendStockToShops", "bool"),
                ("AutosubtractReservedAmount", "bool"),
            ):
                _check_type(key, model.get(key), kind)
            if model.get("BillbeeId"):
                product = self.product(model["BillbeeId"])
            elif model.get("Sku"):
                product = self.product(model["Sku"], "sku")
            else:
                raise invalid("Either BillbeeId or Sku is required.")
            stock_id = model.get("StockId") or 266
            stock = self.data.stocks.get(stock_id)
            if stock is None:
                raise invalid(f"Stock {stock_id} not found.")
            entry = next((s for s in product["Stocks"] if s["StockId"] == stock_id), None)
            old = float(entry["StockCurrent"] if entry else 0.0)
            if model.get("NewQuantity") is not None:
                new = float(model["NewQuantity"])
            elif model.get("DeltaQuantity") is not None:
                new = old + float(model["DeltaQuantity"])
            else:
                raise invalid("NewQuantity is required (the absolute stock).")
            if model.get("AutosubtractReservedAmount"):
                new -= reserved_amount(product)
            if entry is None:
                entry = {
                    "Name": stock["Name"],
                    "StockId": stock_id,
                    "StockCurrent": 0.0,
                    "StockCurrentIsCalculated": False,
                    "StockWarning": 0.0,
                    "StockCode": None,
                    "UnfulfilledAmount": 0.0,
                    "StockDesired": 0.0,
                }
                product["Stocks"].append(entry)
            entry["StockCurrent"] = new
            if stock["IsDefault"]:
                product["StockCurrent"] = new
                product["LowStock"] = new < float(product["StockWarning"] or 0)
            return {
                "SKU": product["SKU"],
                "OldStock": old,
                "CurrentStock": new,
                "UnfulfilledAmount": 0.0,
                "Message": f"The qty was successfully updated from {_num(old)} to {_num(new)}",
            }

        def reserved_amount(product: Record) -> float:
            total = 0.0
            for order in self.data.orders.list(lambda o: o["State"] in OPEN_STATES):
                for item in order["OrderItems"]:
                    if (item.get("Product") or {}).get("BillbeeId") == product["Id"]:
                        total += float(item.get("Quantity") or 0)
            return total

        @op("GET", "/products/stocks", "Article_GetStocks")
        async def stocks(request: Request) -> Response:
            return envelope(self.data.stocks.list())

        @op("POST", "/products/updatestock", "Article_UpdateStock")
        async def update_stock(request: Request) -> Response:
            return envelope(stock_update(await self.body(request)))

        @op("POST", "/products/updatestockmultiple", "Article_UpdateStockMultiple")
        async def update_stock_multiple(request: Request) -> Response:
            models = await self.body(request, list)
            results: list[Any] = []
            for model in models:  # each item succeeds or fails on its own, like the real API
                try:
                    results.append(_envelope_dict(stock_update(model)))
                except Fail as failure:
                    results.append(_response_json(failure.response))
            return JSONResponse(results)

        @op("GET", "/products/reservedamount", "Article_GetReservedAmount")
        async def reserved(request: Request) -> Response:
            key = self.q(request, "id")
            if not key:
                raise invalid("The id parameter is required.")
            lookup = self.q(request, "lookupBy") or "id"
            stock_id = self.q_int(request, "stockId")
            if stock_id is not None and self.data.stocks.get(stock_id) is None:
                raise invalid(f"Stock {stock_id} not found.")
            product = self.product(key, lookup)
            return envelope({"ReservedAmount": reserved_amount(product)})

        @op("POST", "/products/updatestockcode", "Article_UpdateStockCode")
        async def update_stock_code(request: Request) -> Response:
            body = await self.body(request)
            for key, kind in (("BillbeeId", "int"), ("Sku", "str"), ("StockId", "int"), ("StockCode", "str")):
                _check_type(key, body.get(key), kind)
            if body.get("BillbeeId"):
                product = self.product(body["BillbeeId"])
            elif body.get("Sku"):
                product = self.product(body["Sku"], "sku")
            else:
                raise invalid("Either BillbeeId or Sku is required.")
            stock_id = body.get("StockId")
            if stock_id is not None and self.data.stocks.get(stock_id) is None:
                raise invalid(f"Stock {stock_id} not found.")
            code = body.get("StockCode")
            if stock_id is None or (self.data.stocks.get(stock_id) or {}).get("IsDefault"):
                product["StockCode"] = code
            for entry in product["Stocks"]:
                if stock_id is None or entry["StockId"] == stock_id:
                    entry["StockCode"] = code
            return envelope(None)

        # ---------------------------------------------------------- products: catalog
        @op("GET", "/products/custom-fields", "Article_GetCustomFields")
        async def custom_fields(request: Request) -> Response:
            page, size = self.paging(request)
            return envelope_page(self.data.custom_fields.list(), page, size)

        @op("GET", "/products/custom-fields/{id}", "Article_GetCustomField")
        async def custom_field(request: Request) -> Response:
            field_id = self.path_int(request, "id")
            field = self.data.custom_fields.get(field_id)
            if field is None:
                raise fail(404, 11, f"Custom field {field_id} not found.")
            return envelope(field)

        @op("GET", "/products/PatchableFields", "Article_GetPatchableFields")
        async def product_patchable(request: Request) -> Response:
            return envelope(list(PRODUCT_PATCHABLE_FIELDS))

        @op("GET", "/products/category", "Article_GetCategory")
        async def categories(request: Request) -> Response:
            seen: dict[int, Record] = {}
            for product in self.data.products.list():
                for key in ("Category1", "Category2", "Category3"):
                    category = product[key]
                    if category and category.get("Id") not in seen:
                        seen[category["Id"]] = {"Id": category["Id"], "Name": category["Name"]}
            return envelope(sorted(seen.values(), key=lambda c: c["Id"]))

        @op("POST", "/products/images/delete", "Article_DeleteImages")
        async def delete_images(request: Request) -> Response:
            ids = await self.body(request, list)
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise invalid("The body must be a list of image ids.")
            deleted, missing = [], []
            for image_id in ids:
                if remove_image(image_id):
                    deleted.append(image_id)
                else:
                    missing.append(image_id)
            return envelope({"Deleted": deleted, "NotFound": missing})

        def remove_image(image_id: int) -> bool:
            image = self.data.images.delete(image_id)
            if image is None:
                return False
            product = self.data.products.get(image["ArticleId"])
            if product is not None:
                product["Images"] = [i for i in product["Images"] if i["Id"] != image_id]
            return True

        @op("GET", "/products/images/{imageId}", "Article_GetImage")
        async def image_get(request: Request) -> Response:
            return envelope(self.image(self.path_int(request, "imageId")))

        @op("DELETE", "/products/images/{imageId}", "Article_DeleteImage")
        async def image_delete(request: Request) -> Response:
            image = self.image(self.path_int(request, "imageId"))
            remove_image(image["Id"])
            return envelope(None)

        def image_payload(body: Any, *, require_url: bool) -> dict[str, Any]:
            if not isinstance(body, dict):
                raise invalid("Each image must be an object.")
            url = body.get("Url")
            if require_url and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise invalid("Url must be an absolute http(s) URL.")
            _check_type("Url", url, "str")
            _check_type("Position", body.get("Position"), "int")
            _check_type("IsDefault", body.get("IsDefault"), "bool")
            return body

        def set_default(product: Record, image: Record) -> None:
            if image["IsDefault"]:
                for other in product["Images"]:
                    if other is not image:
                        other["IsDefault"] = False

        @op("GET", "/products/{productId}/images", "Article_GetImages")
        async def images(request: Request) -> Response:
            return envelope(self.product(self.path_int(request, "productId"))["Images"])

        @op("PUT", "/products/{productId}/images", "Article_PutImages")
        async def images_put(request: Request) -> Response:
            product = self.product(self.path_int(request, "productId"))
            models = [image_payload(m, require_url=True) for m in await self.body(request, list)]
            if self.q_bool(request, "replace"):
                for image in list(product["Images"]):
                    remove_image(image["Id"])
            for model in models:
                image = self.data.add_image(
                    product,
                    model["Url"],
                    is_default=bool(model.get("IsDefault")),
                    position=model.get("Position"),
                )
                set_default(product, image)
            # The SDK reads a list here (ApiResult<List<ArticleImage>>); the swagger says one image.
            return envelope(product["Images"])

        @op("GET", "/products/{productId}/images/{imageId}", "Article_GetImageFromProduct")
        async def product_image_get(request: Request) -> Response:
            product = self.product(self.path_int(request, "productId"))
            return envelope(self.image(self.path_int(request, "imageId"), product))

        @op("PUT", "/products/{productId}/images/{imageId}", "Article_PutImage")
        async def product_image_put(request: Request) -> Response:
            product = self.product(self.path_int(request, "productId"))
            image_id = self.path_int(request, "imageId")
            model = image_payload(await self.body(request), require_url=image_id == 0)
            if image_id == 0:  # 0 adds a new image
                image = self.data.add_image(
                    product,
                    model["Url"],
                    is_default=bool(model.get("IsDefault")),
                    position=model.get("Position"),
                )
            else:
                image = self.image(image_id, product)
                for key in ("Url", "ThumbUrl", "Position", "IsDefault"):
                    if model.get(key) is not None:
                        image[key] = model[key]
            set_default(product, image)
            return envelope(image)

        @op("DELETE", "/products/{productId}/images/{imageId}", "Article_DeleteImageFromProduct")
        async def product_image_delete(request: Request) -> Response:
            product = self.product(self.path_int(request, "productId"))
            image = self.image(self.path_int(request, "imageId"), product)
            remove_image(image["Id"])
            return envelope(None)

        def product_changes(body: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
            names = {k.lower(): k for k in allowed}
            changes: dict[str, Any] = {}
            for key, value in body.items():
                canonical = names.get(key.lower())
                if canonical is None:
                    raise invalid(f"The field '{key}' cannot be set on a product.")
                _check_type(canonical, value, _PRODUCT_FIELD_TYPES.get(canonical, "str"))
                changes[canonical] = value
            for key in ("Title", "InvoiceText", "Description", "ShortDescription", "Tags", "Materials"):
                for text in changes.get(key) or []:
                    if not isinstance(text, dict) or not isinstance(text.get("Text"), str):
                        raise invalid(f"{key} must be a list of {{Text, LanguageCode}}.")
            sku = changes.get("SKU")
            if sku and self.data.products.first(SKU=sku) is not None:
                raise invalid(f"The SKU '{sku}' is already used by another product.")
            return changes

        @op("GET", "/products", "Article_GetList")
        async def products(request: Request) -> Response:
            page, size = self.paging(request)
            created_min = self.q_date(request, "minCreatedAt")
            low = self.q_int(request, "minimumBillBeeArticleId")
            high = self.q_int(request, "maximumBillBeeArticleId")
            created = self.data.product_created

            def keep(p: Record) -> bool:
                if low is not None and p["Id"] < low:
                    return False
                if high is not None and p["Id"] > high:
                    return False
                return created_min is None or created.get(p["Id"], created_min) >= created_min

            return envelope_page(self.data.products.list(keep), page, size)

        @op("POST", "/products", "Article_CreateArticle")
        async def product_create(request: Request) -> Response:
            body = await self.body(request)
            if body.get("Id"):
                raise invalid("Id must not be set when creating a product.")
            images_in = body.get("Images") or []
            _check_type("Images", images_in, "list")
            models = [image_payload(m, require_url=True) for m in images_in]
            known = [k for k in PRODUCT_KEYS if k not in ("Id", "Images", "Stocks", "CustomFields", "Sources")]
            changes = product_changes({k: v for k, v in body.items() if k.lower() in {x.lower() for x in known}}, known)
            record: Record = {k: None for k in PRODUCT_KEYS}
            record.update(
                {
                    "Type": 1,
                    "VatIndex": 1,
                    "Price": 0.0,
                    "Vat1Rate": 19.0,
                    "Vat2Rate": 7.0,
                    "IsDigital": False,
                    "IsCustomizable": False,
                    "IsDeactivated": False,
                    "Images": [],
                    "Stocks": [],
                    "CustomFields": [],
                    "Sources": [],
                    "StockCurrent": 0.0,
                }
            )
            record.update(changes)
            record["Id"] = None
            product = self.data.products.insert(record)
            self.data.product_created[product["Id"]] = self.now()
            for model in models:
                self.data.add_image(product, model["Url"], is_default=bool(model.get("IsDefault")))
            return envelope(product)

        @op("GET", "/products/{id}", "Article_GetArticle")
        async def product_get(request: Request) -> Response:
            lookup = self.q(request, "lookupBy") or "id"
            return envelope(self.product(request.path_params["id"], lookup))

        @op("DELETE", "/products/{id}", "Article_DeleteArticle")
        async def product_delete(request: Request) -> Response:
            product = self.product(self.path_int(request, "id"))
            for image in list(product["Images"]):
                self.data.images.delete(image["Id"])
            self.data.products.delete(product["Id"])
            return envelope(None)

        @op("PATCH", "/products/{id}", "Article_PatchArticle")
        async def product_patch(request: Request) -> Response:
            product = self.product(self.path_int(request, "id"))
            body = await self.body(request)
            sku = body.get("SKU")
            if sku == product["SKU"]:
                body = {k: v for k, v in body.items() if k != "SKU"}
            product.update(product_changes(body, PRODUCT_PATCHABLE_FIELDS))
            return envelope(product)

        # ---------------------------------------------------------- provisioning
        @op("POST", "/automaticprovision/createaccount", "AutomaticProvisioning_CreateAccount")
        async def create_account(request: Request) -> Response:
            body = await self.body(request)
            email = body.get("EMail")
            if not isinstance(email, str) or not _EMAIL.match(email):
                raise fail(400, 13, "The e-mail address is not valid.")
            if body.get("AcceptTerms") is not True:
                raise fail(400, 15, "The terms and conditions must be accepted (AcceptTerms).")
            if self.data.accounts.first(lambda a: a["EMail"].lower() == email.lower()) is not None:
                raise fail(400, 12, "A user with this e-mail address already exists.")
            _check_type("Password", body.get("Password"), "str")
            _check_type("Address", body.get("Address"), "dict")
            rng = self.app.rng
            user_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            password = body.get("Password") or f"pw-{rng.getrandbits(64):016x}"
            self.data.accounts.insert({"UserId": user_id, "EMail": email})
            return envelope(
                {
                    "Password": password,
                    "UserId": user_id,
                    "OneTimeLoginUrl": f"https://app.billbee.io/login/onetime/{rng.getrandbits(96):024x}",
                }
            )

        @op("GET", "/automaticprovision/termsinfo", "AutomaticProvisioning_TermsInfo")
        async def terms_info(request: Request) -> Response:
            return envelope(
                {
                    "LinkToTermsWebPage": "https://www.billbee.io/agb/",
                    "LinkToPrivacyWebPage": "https://www.billbee.io/datenschutz/",
                    "LinkToTermsHtmlContent": "https://www.billbee.io/agb/content.html",
                    "LinkToPrivacyHtmlContent": "https://www.billbee.io/datenschutz/content.html",
                }
            )

        # ---------------------------------------------------------- shipments
        @op("POST", "/shipment/shipment", "Shipment_PostShipment")
        async def post_shipment(request: Request) -> Response:
            body = await self.body(request)
            name, code = body.get("ProviderName"), body.get("ProductCode")
            if not isinstance(name, str) or not isinstance(code, str):
                raise invalid("ProviderName and ProductCode are required.")
            provider = self.data.providers.first(lambda p: p["name"].lower() == name.lower())
            if provider is None:
                raise invalid(f"Shipping provider '{name}' not found.")
            if not any(code in (p["productName"], str(p["id"])) for p in provider["products"]):
                raise invalid(f"Product code '{code}' is not offered by {provider['name']}.")
            if not isinstance(body.get("ReceiverAddress"), dict):
                raise invalid("ReceiverAddress is required.")
            _check_type("WeightInGram", body.get("WeightInGram"), "number")
            carrier = body.get("shippingCarrier")
            if carrier is not None and carrier not in range(21):
                raise invalid("shippingCarrier is not valid.")
            shipping_id = f"00340434{self.app.rng.randint(10**11, 10**12 - 1)}"
            return envelope({"ShippingId": shipping_id, "LabelData": fake_pdf(f"Label {shipping_id}")})

        @op("GET", "/shipment/shippingproviders", "Shipment_GetShippingproviders")
        async def shipping_providers(request: Request) -> Response:
            return envelope(self.data.providers.list())

        @op("POST", "/shipment/shipwithlabel", "Shipment_ShipWithLabel")
        async def ship_with_label(request: Request) -> Response:
            body = await self.body(request)
            for key in ("OrderId", "ProviderId", "ProductId"):
                value = body.get(key)
                if not isinstance(value, int) or isinstance(value, bool):
                    raise invalid(f"{key} is required.")
            _check_type("ChangeStateToSend", body.get("ChangeStateToSend"), "bool")
            _check_type("WeightInGram", body.get("WeightInGram"), "int")
            ship_date = None
            if body.get("ShipDate"):
                try:
                    ship_date = parse_datetime(str(body["ShipDate"]))
                except ValueError:
                    raise invalid("ShipDate is not a valid date.") from None
            order = self.order(body["OrderId"])
            provider = self.data.providers.get(body["ProviderId"])
            if provider is None:
                raise invalid(f"Shipping provider {body['ProviderId']} not found.")
            if not any(p["id"] == body["ProductId"] for p in provider["products"]):
                raise invalid(f"Product {body['ProductId']} is not offered by {provider['name']}.")
            self.check_order_usable(order)
            now = self.now()
            shipment = self.data.make_shipment(order, now, provider_id=provider["id"], product_id=body["ProductId"])
            self.data.make_event(now, 18, order["BillBeeOrderId"])
            if body.get("ChangeStateToSend") and order["State"] != 4:
                order["State"] = 4
                order["ShippedAt"] = order["ShippedAt"] or ts(now)
                self.data.history(order, "Auftragsstatus geändert", "Status geändert auf Versendet", 15)
                self.data.make_event(now, 15, order["BillBeeOrderId"])
            self.touch_order(order)
            return envelope(
                {
                    "OrderId": order["BillBeeOrderId"],
                    "OrderReference": order["OrderNumber"],
                    "ShippingId": shipment["ShippingId"],
                    "TrackingUrl": shipment["TrackingUrl"],
                    "LabelDataPdf": fake_pdf(f"Label {shipment['ShippingId']}"),
                    "ExportDocsPdf": None,
                    "Carrier": provider["name"],
                    "ShippingDate": ts_local(ship_date or now),
                }
            )

        @op("GET", "/shipment/shippingcarriers", "Shipment_GetShippingCarrier")
        async def shipping_carriers(request: Request) -> Response:
            return JSONResponse([{"Id": i, "Name": n} for i, n in enumerate(SHIPPING_CARRIERS)])

        @op("GET", "/shipment/ping", "Shipment_GetPing")
        async def ping(request: Request) -> Response:
            return envelope(None)

        @op("GET", "/shipment/shipments", "Shipment_GetList")
        async def shipments(request: Request) -> Response:
            page, size = self.paging(request)
            low, high = self.q_date(request, "createdAtMin"), self.q_date(request, "createdAtMax")
            order_id = self.q_int(request, "orderId")
            minimum = self.q_int(request, "minimumShipmentId")
            provider = self.q_int(request, "shippingProviderId")
            owners = self.data.shipment_order

            def keep(s: Record) -> bool:
                if minimum is not None and s["BillbeeId"] < minimum:
                    return False
                if order_id is not None and owners.get(s["BillbeeId"]) != order_id:
                    return False
                if provider is not None and s["ShippingProviderId"] != provider:
                    return False
                if low is not None or high is not None:
                    created = _parse_ts(s["Created"])
                    if (low is not None and created < low) or (high is not None and created > high):
                        return False
                return True

            return envelope_page(self.data.shipments.list(keep), page, size)

        # ---------------------------------------------------------- shop accounts
        @op("GET", "/shopaccounts", "ShopAccount_QueryShopAccounts")
        async def shop_accounts(request: Request) -> Response:
            page, size = self.paging(request)
            return envelope_page(self.data.shops.list(), page, size)

        # ---------------------------------------------------------- webhooks (ASP.NET WebHooks: bare JSON)
        def webhook_payload(body: dict[str, Any]) -> dict[str, Any]:
            uri = body.get("WebHookUri")
            if not isinstance(uri, str) or not re.match(r"^https?://[^/\s]+", uri):
                raise Fail(aspnet_message(400, "The WebHookUri must be an absolute 'http' or 'https' URI."))
            secret = body.get("Secret")
            if not isinstance(secret, str) or not 32 <= len(secret) <= 64:
                raise Fail(aspnet_message(400, "The Secret must be between 32 and 64 characters long."))
            filters = body.get("Filters") or ["*"]
            if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
                raise Fail(aspnet_message(400, "Filters must be a list of filter names."))
            known = {f.lower(): f for f in WEBHOOK_FILTERS}
            unknown = [f for f in filters if f.lower() not in known]
            if unknown:
                names = ", ".join(f"'{f}'" for f in unknown)
                raise Fail(
                    aspnet_message(
                        400,
                        f"The following filters are not valid: {names}. "
                        "A list of valid filters can be obtained from the path 'webhooks/filters'.",
                    )
                )
            for key, kind in (
                ("Headers", "dict"),
                ("Properties", "dict"),
                ("Description", "str"),
                ("IsPaused", "bool"),
            ):
                value = body.get(key)
                if value is not None and not isinstance(
                    value, dict if kind == "dict" else str if kind == "str" else bool
                ):
                    raise Fail(aspnet_message(400, f"{key} is not valid."))
            return {
                "Secret": secret,
                "Filters": [known[f.lower()] for f in filters],
                "Headers": body.get("Headers") or {},
                "Properties": body.get("Properties") or {},
                "WebHookUri": uri,
                "Description": body.get("Description"),
                "IsPaused": bool(body.get("IsPaused", False)),
            }

        async def webhook_body(request: Request) -> dict[str, Any]:
            try:
                value: dict[str, Any] = await self.body(request)
            except Fail:
                raise Fail(aspnet_message(400, "The request body must be a WebHook object.")) from None
            return value

        def webhook(webhook_id: str) -> Record:
            found = self.data.webhooks.first(lambda w: str(w["Id"]).lower() == webhook_id.lower())
            if found is None:
                raise Fail(Response(status_code=404))
            return found

        @op("GET", "/webhooks/filters", "WebHookManagement_GetFilters")
        async def webhook_filters(request: Request) -> Response:
            return JSONResponse([{"Name": n, "Description": d} for n, d in WEBHOOK_FILTERS.items()])

        @op("GET", "/webhooks", "WebHookManagement_Get")
        async def webhooks(request: Request) -> Response:
            return JSONResponse(self.data.webhooks.list())

        @op("POST", "/webhooks", "WebHookManagement_Post")
        async def webhook_create(request: Request) -> Response:
            body = await webhook_body(request)
            record = webhook_payload(body)
            webhook_id = body.get("Id") or f"{self.app.rng.getrandbits(128):032x}"
            if not isinstance(webhook_id, str):
                raise Fail(aspnet_message(400, "The Id must be a string."))
            if self.data.webhooks.first(lambda w: str(w["Id"]).lower() == webhook_id.lower()):
                raise Fail(aspnet_message(409, f"A WebHook with the ID '{webhook_id}' already exists."))
            # Key order of the swagger model: Secret, Filters, Headers, Properties, Id, WebHookUri, ...
            ordered = {k: record[k] for k in ("Secret", "Filters", "Headers", "Properties")}
            ordered["Id"] = webhook_id
            ordered.update({k: record[k] for k in ("WebHookUri", "Description", "IsPaused")})
            return JSONResponse(self.data.webhooks.insert(ordered))

        @op("DELETE", "/webhooks", "WebHookManagement_DeleteAll")
        async def webhooks_delete_all(request: Request) -> Response:
            self.data.webhooks.clear()
            return Response(status_code=200)

        @op("GET", "/webhooks/{id}", "WebHookManagement_Lookup")
        async def webhook_get(request: Request) -> Response:
            return JSONResponse(webhook(request.path_params["id"]))

        @op("PUT", "/webhooks/{id}", "WebHookManagement_Put")
        async def webhook_put(request: Request) -> Response:
            existing = webhook(request.path_params["id"])
            body = await webhook_body(request)
            if body.get("Id") is not None and str(body["Id"]).lower() != str(existing["Id"]).lower():
                raise Fail(aspnet_message(400, "The WebHook ID in the body does not match the ID in the URI."))
            existing.update(webhook_payload(body))
            return JSONResponse(existing)

        @op("DELETE", "/webhooks/{id}", "WebHookManagement_Delete")
        async def webhook_delete(request: Request) -> Response:
            existing = webhook(request.path_params["id"])
            self.data.webhooks.delete(existing["Id"])
            return Response(status_code=200)

        # ---------------------------------------------------------- documents served to PdfDownloadUrl
        async def files(request: Request) -> Response:
            match = re.fullmatch(r"(invoice|deliverynote)-(\d+)\.pdf", request.path_params["name"])
            order = self.data.orders.get(int(match.group(2))) if match else None
            if match is None or order is None:
                return Response(status_code=404)
            title = f"{'Rechnung' if match.group(1) == 'invoice' else 'Lieferschein'} {order['OrderNumber']}"
            return Response(base64.b64decode(fake_pdf(title)), media_type="application/pdf")

        self.app.add_route("/_sandbox/files/{name}", files, ["GET"], prefixed=False)

    # ------------------------------------------------------------------ admin seeding

    def _register_seeders(self) -> None:
        app = self.app

        @app.seeder("orders")
        def seed_orders(count: int) -> list[Record]:
            data = self.data
            out = []
            for _ in range(count):
                now = self.now()
                order = data.make_order(now, app.rng.choice([1, 1, 2, 3]), fresh=True)
                data.make_event(now, 0, order["BillBeeOrderId"])
                out.append(order)
            return out

        @app.seeder("products")
        def seed_products(count: int) -> list[Record]:
            return [self.data.make_product(self.now()) for _ in range(count)]

        @app.seeder("customers")
        def seed_customers(count: int) -> list[Record]:
            return [self.data.make_customer(self.now()) for _ in range(count)]

        @app.seeder("shipments")
        def seed_shipments(count: int) -> list[Record]:
            candidates = self.data.orders.list(lambda o: o["State"] not in (6, 8))
            out = []
            for _ in range(count):
                order = app.rng.choice(candidates)
                now = self.now()
                out.append(self.data.make_shipment(order, now))
                self.data.make_event(now, 18, order["BillBeeOrderId"])
                self.touch_order(order)
            return out

        @app.seeder("events")
        def seed_events(count: int) -> list[Record]:
            orders = self.data.orders.list()
            out = []
            for _ in range(count):
                order = app.rng.choice(orders) if orders else None
                type_id = app.rng.choice([0, 13, 15, 55])
                out.append(self.data.make_event(self.now(), type_id, order["BillBeeOrderId"] if order else None))
            return out


def _envelope_dict(data: Any) -> dict[str, Any]:
    return {"ErrorMessage": None, "ErrorCode": 0, "ErrorDescription": ERROR_CODES[0], "Data": data}


def _response_json(response: Response) -> Any:
    return json.loads(bytes(response.body))


def _not_found(request: Request, exc: Exception) -> Response:
    return aspnet_message(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")


def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return aspnet_message(405, f"The requested resource does not support http method '{request.method}'.")


def _rate_limited(retry_after: float) -> Response:
    return BillbeeSandbox.throttled(SlidingWindow(2, 1.0), retry_after)


def _server_error(status: int) -> Response:
    return aspnet_message(status, "An error has occurred.")


def create_app(
    seed: int = 1,
    api_key: str = DEFAULT_CREDENTIALS["apiKey"],
    username: str = DEFAULT_CREDENTIALS["username"],
    password: str = DEFAULT_CREDENTIALS["password"],
    rate_limits: bool = True,
    orders: int = 250,
    products: int = 60,
    customers: int = 80,
) -> SandboxApp:
    """The Billbee sandbox; ``orders``/``products``/``customers`` size the seeded account."""
    if not all(isinstance(v, str) and v for v in (api_key, username, password)):
        raise ValueError("api_key, username and password must be non-empty strings")
    app = SandboxApp(
        "billbee",
        prefix=PREFIX,
        seed=seed,
        case_insensitive=True,
        rate_limited=_rate_limited,
        server_error=_server_error,
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    sandbox = BillbeeSandbox(
        app,
        api_key=api_key,
        username=username,
        password=password,
        rate_limits=rate_limits,
        counts={"orders": orders, "products": products, "customers": customers},
    )
    app.options["billbee"] = sandbox
    app.default_credentials = {"apiKey": api_key, "username": username, "password": password}
    app.set_populate(sandbox.populate)  # seeds now and on every POST /_sandbox/reset
    return app
