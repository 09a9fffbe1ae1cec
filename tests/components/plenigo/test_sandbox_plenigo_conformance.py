"""The Plenigo sandbox against plenigo's OpenAPI 3.1 spec (read from /work/shared/specs, never copied).

For every operation the sandbox implements: the path exists in the spec; a valid call (ids from
the seeded data, bodies from the spec's examples or its schemas) answers a documented 2xx whose
body validates against the spec's response schema (JSON Schema 2020-12, formats checked); an
unknown id, a bad body and a missing token answer documented statuses with plenigo's error
shape; a refused write leaves the store untouched.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from skiff.sandbox import SandboxApp, SandboxServer, import_sandbox_module, load_sandbox, serve
from tests.shared_files import shared_file

SPEC_FILE = shared_file("specs/plenigo.v3.openapi.json")

SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text())
SPEC_URI = "urn:plenigo-v3"
REGISTRY: Registry[Any] = Registry().with_resource(SPEC_URI, Resource.from_contents(SPEC, DRAFT202012))
FORMATS = FormatChecker(["date", "date-time", "email"])
TAGS = {"Customers", "Addresses", "Orders", "Invoices", "Subscriptions", "Access Rights", "Offers"}
COVERAGE_FLOOR = 116  # every operation of the seven tags above
TOKEN = {"X-plenigo-token": "sandbox-token"}

MODULE = import_sandbox_module("plenigo")
OPERATIONS = MODULE.operations()
OP_IDS = [o.operation_id for o in OPERATIONS]

# The spec documents no 400 for these although they take a body; a bad body still gets a 400.
SPEC_OMITS_400 = {
    "updateAccessRightForCustomer",
    "changeCustomerStatus",
    "replaceAdditionalData",
    "invoicePaymentStatusChange",
    "updatePurchasedAddonTrackingData",
    "updateCrossClientTransactionPaidStatus",
    "replaceSubscriptionChainAdditionalData",
}


def absolute_refs(schema: Any) -> Any:
    """Point the spec's local ``#/components/...`` refs at the registered spec resource."""
    if isinstance(schema, dict):
        return {
            k: (SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else absolute_refs(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [absolute_refs(v) for v in schema]
    return schema


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(absolute_refs(schema), registry=REGISTRY, format_checker=FORMATS)


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def spec_op(method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = SPEC["paths"][path][method.lower()]
    return operation


def check_response(operation_id: str, response: httpx.Response) -> None:
    """The status is documented and the body validates against that status's schema."""
    meta = next(o for o in OPERATIONS if o.operation_id == operation_id)
    documented = spec_op(meta.method, meta.path)["responses"]
    status = str(response.status_code)
    assert status in documented, f"{operation_id}: undocumented status {status}: {response.text[:300]}"
    content = resolve(documented[status]).get("content", {}).get("application/json")
    if content is None:
        assert not response.content.strip(), f"{operation_id}: {status} documents no body"
        return
    errors = sorted(validator(content["schema"]).iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{operation_id} {status}: {errors[0].json_path}: {errors[0].message}"


def example_body(operation: dict[str, Any]) -> Any:
    """The request body the spec shows (first example), else one built from the schema's required fields."""
    content = operation["requestBody"]["content"]["application/json"]
    for example in (content.get("examples") or {}).values():
        return copy.deepcopy(resolve(example)["value"])
    return from_schema(content["schema"])


def from_schema(node: dict[str, Any]) -> Any:
    node = resolve(node)
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged.update(from_schema(part))
        return merged
    kind = node.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if "enum" in node:
        return node["enum"][0]
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {name: from_schema(props[name]) for name in node.get("required", []) if name in props}
    if kind == "integer":
        return int(node.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    samples = {"date": "2031-01-15", "date-time": "2031-01-15T08:00:00Z", "email": "new.reader@example.com"}
    return samples.get(str(node.get("format")), "sample")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return load_sandbox("plenigo", customers=30, rate_limits=False)


@pytest.fixture(scope="module")
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=TOKEN, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def anonymous(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def ids(app: SandboxApp) -> dict[str, Any]:
    found: dict[str, Any] = MODULE.sample_ids(app)
    return found


def store_fingerprint(app: SandboxApp) -> str:
    return json.dumps({n: list(t) for n, t in app.store.tables.items()}, sort_keys=True, default=str)


# ---------------------------------------------------------------------------- building calls

PARAM_OVERRIDES: dict[str, dict[str, str]] = {
    "deleteCustomer": {"customerId": "deletableCustomerId"},
    "deleteAddressById": {"addressId": "unusedAddressId"},
    "getFutureAddresses": {"addressId": "futureAddressId"},
    "createFutureAddress": {"addressId": "futureAddressId"},
    "updateFutureAddress": {"addressId": "futureAddressId"},
    "deleteFutureAddress": {"addressId": "futureAddressId"},
    "updateAccessRightForCustomer": {"customerId": "accessCustomerId"},
    "deleteAccessRightForCustomer": {"customerId": "accessCustomerId"},
    "blockCustomerAccessRightItem": {"customerId": "accessCustomerId"},
    "unblockCustomerAccessRightItem": {"customerId": "accessCustomerId"},
    "deleteStripeCustomer": {"customerId": "stripeCustomerId"},
    "getCustomerMark": {"customerId": "markCustomerId"},
    "getCrossClientSubscriptionsByChain": {"chainId": "crossClientChainId"},
    "pauseSubscriptionDelivery": {"subscriptionId": "printSubscriptionId"},
    "deletePauseSubscriptionDelivery": {"subscriptionId": "printSubscriptionId"},
}
FUTURE = (date.today() + timedelta(days=40)).isoformat()


def body_overrides(operation_id: str, ids: dict[str, Any], app: SandboxApp) -> dict[str, Any] | None:
    """Spec examples use ids of plenigo's own examples; point them at seeded records."""
    world = MODULE.world_of(app)
    address = world.addresses.get(ids["addressId"])
    overrides: dict[str, dict[str, Any]] = {
        # The spec's own example sends times ("06:00:00") where its schema wants date-times.
        "createAccessRightsForCustomer": {"accessTimeStart": None, "accessTimeEnd": None},
        "updateAccessRightForCustomer": {"accessTimeStart": None, "accessTimeEnd": None},
        "createCustomer": {"customerId": None, "email": "wild.flower@example.org", "username": "wild_flower_2"},
        "updateCustomer": {"email": "wild.flower@example.org"},
        "changeCustomerEmail": {"email": "new.address@example.org"},
        "createAddress": {"customerId": ids["customerId"]},
        "createWbzAddress": {"customerId": ids["customerId"]},
        "validateAddress": {"customerId": ids["customerId"]},
        "updateCustomerAssociatedOptIn": {"optIns": {"EMAIL": {"status": "DOUBLE_OPT_IN"}}},
        "searchCustomerByAddress": {
            "postcode": address["postcode"],
            "country": address["country"],
            "lastName": address["lastName"],
        },
        "updateCrossClientTransactionPaidStatus": {"paidStatus": "PAID"},
        "useCrossClientVoucher": {"customerId": ids["customerId"], "voucherCode": ids["voucherCode"]},
        "changeSubscriptionAddress": {"addressId": ids["invoiceAddressId"], "addressType": "INVOICE"},
        "cancelSubscriptionAt": {"cancellationDate": FUTURE},
        "changeSubscriptionDiscount": {"subscriptionItemId": ids["subscriptionItemId"]},
        "changeSubscriptionQuantity": {"subscriptionItemId": ids["subscriptionItemId"]},
        "changeSubscriptionPaymentMethod": {
            "paymentMethod": ids["paymentMethod"],
            "paymentMethodId": ids["paymentMethodId"],
        },
        "pauseSubscription": {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
        "pauseSubscriptionDelivery": {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
    }
    return overrides.get(operation_id)


# Calls that need a state first: (method, path template, body).
SETUP: dict[str, list[tuple[str, str, Any]]] = {
    "undoSubscriptionCancellation": [("PUT", "/subscriptions/{subscriptionId}/cancel/regular", None)],
    "deletePauseSubscription": [
        ("PUT", "/subscriptions/{subscriptionId}/pause", {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"})
    ],
    "deletePauseSubscriptionDelivery": [
        (
            "PUT",
            "/subscriptions/{printSubscriptionId}/pause/delivery",
            {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
        ),
    ],
}


def build_call(operation_id: str, ids: dict[str, Any], app: SandboxApp) -> tuple[str, str, dict[str, Any], Any]:
    meta = next(o for o in OPERATIONS if o.operation_id == operation_id)
    operation = spec_op(meta.method, meta.path)
    overrides = PARAM_OVERRIDES.get(operation_id, {})
    path = meta.path
    params: dict[str, Any] = {}
    for raw in [*SPEC["paths"][meta.path].get("parameters", []), *operation.get("parameters", [])]:
        param = resolve(raw)
        name, where = param["name"], param["in"]
        if where == "path":
            key = overrides.get(name, name)
            value = ids[key]
            if operation_id == "createFutureAddress" and name == "date":
                value = (date.fromisoformat(ids["date"]) + timedelta(days=1)).isoformat()
            path = path.replace("{" + name + "}", str(value))
        elif where == "query" and name == "size":
            params["size"] = 100
        elif where == "query" and param.get("required"):
            params[name] = ids[name] if name in ids else ids["accessRightUniqueId"]
    body = None
    if "requestBody" in operation:
        body = example_body(operation)
        for key, value in (body_overrides(operation_id, ids, app) or {}).items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        problems = list(validator(schema).iter_errors(body))
        assert not problems, f"{operation_id}: test body is not spec-valid: {problems[0].message}"
    return meta.method, path, params, body


def main_id_param(path: str) -> str | None:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return names[0] if names else None


# ---------------------------------------------------------------------------- tests


def test_covered_operations_exist_in_spec_and_meet_the_floor() -> None:
    by_tag: Counter[str] = Counter()
    for meta in OPERATIONS:
        operation = spec_op(meta.method, meta.path)  # KeyError = a path or method not in the spec
        assert operation["operationId"] == meta.operation_id
        by_tag[operation["tags"][0]] += 1
    spec_ops = [
        (m, op["operationId"])
        for item in SPEC["paths"].values()
        for m, op in item.items()
        if isinstance(op, dict) and set(op.get("tags", [])) & TAGS
    ]
    missing = sorted(oid for _, oid in spec_ops if oid not in OP_IDS)
    print(
        f"\nplenigo sandbox covers {len(OPERATIONS)} of {sum(len(v) for v in SPEC['paths'].values())} "
        f"spec operations: {dict(sorted(by_tag.items()))}"
    )
    assert not missing, f"operations of the covered tags not implemented: {missing}"
    assert len(OPERATIONS) >= COVERAGE_FLOOR


@pytest.mark.parametrize("operation_id", OP_IDS)
def test_valid_call_answers_documented_2xx_matching_schema(
    operation_id: str, app: SandboxApp, client: httpx.Client, ids: dict[str, Any]
) -> None:
    meta = next(o for o in OPERATIONS if o.operation_id == operation_id)
    try:
        for method, template, setup_body in SETUP.get(operation_id, []):
            setup_path = template
            for key, value in ids.items():
                setup_path = setup_path.replace("{" + key + "}", str(value))
            assert client.request(method, setup_path, json=setup_body).status_code == 200
        method, path, params, body = build_call(operation_id, ids, app)
        response = client.request(method, path, params=params, json=body)
        assert 200 <= response.status_code < 300, f"{operation_id}: {response.status_code} {response.text[:400]}"
        check_response(operation_id, response)
    finally:
        if meta.method != "GET":
            app.reset()  # the next test starts from the seeded state again


def test_searches_return_data(client: httpx.Client) -> None:
    """The seeded data is not empty where a connector needs records to look at."""
    for path in (
        "/customers",
        "/addresses",
        "/orders",
        "/invoices",
        "/subscriptions",
        "/accessRights",
        "/products/offers",
        "/products/offers/archived",
        "/orders/purchasedAddons",
        "/subscriptions/deliveryLists/dates",
        "/subscriptions/paymentPeriods",
    ):
        items = client.get(path, params={"size": 100}).json()["items"]
        assert items, path


@pytest.mark.parametrize("operation_id", [o.operation_id for o in OPERATIONS if main_id_param(o.path)])
def test_unknown_id_answers_a_documented_error(
    operation_id: str, app: SandboxApp, client: httpx.Client, ids: dict[str, Any]
) -> None:
    method, path, params, body = build_call(operation_id, ids, app)
    meta = next(o for o in OPERATIONS if o.operation_id == operation_id)
    name = main_id_param(meta.path)
    assert name is not None
    unknown = "WBY" if name == "customerMark" else "ZZ9999999999" if name == "sourceCompanyId" else "987654321"
    for part_index, part in enumerate(meta.path.split("/")):
        if part == "{" + name + "}":
            pieces = path.split("/")
            pieces[part_index] = unknown
            path = "/".join(pieces)
            break
    before = store_fingerprint(app)
    response = client.request(method, path, params=params, json=body)
    check_response(operation_id, response)
    if response.status_code >= 400:
        assert set(response.json()) >= {"errorCode", "errorMessage"}
    assert store_fingerprint(app) == before, f"{operation_id} changed the store for an unknown id"


BODY_OPS = [o.operation_id for o in OPERATIONS if "requestBody" in spec_op(o.method, o.path)]


def wrong_types(operation: dict[str, Any]) -> dict[str, Any]:
    """A body whose every top-level property has the wrong JSON type."""
    schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    props: dict[str, Any] = {}
    for part in [schema, *schema.get("allOf", [])]:
        part = resolve(part)
        for nested in part.get("allOf", []):
            props.update(resolve(nested).get("properties", {}))
        props.update(part.get("properties", {}))
    bad: dict[str, Any] = {}
    for name, prop in props.items():
        kind = resolve(prop).get("type", "object")
        kinds = kind if isinstance(kind, list) else [kind]
        bad[name] = {"no": "object"} if "string" in kinds else "not-a-number"
    return bad


@pytest.mark.parametrize("operation_id", BODY_OPS)
def test_bad_body_is_a_400_and_changes_nothing(
    operation_id: str, app: SandboxApp, client: httpx.Client, ids: dict[str, Any]
) -> None:
    method, path, params, _ = build_call(operation_id, ids, app)
    meta = next(o for o in OPERATIONS if o.operation_id == operation_id)
    operation = spec_op(meta.method, meta.path)
    before = store_fingerprint(app)
    for payload in (wrong_types(operation), "{not json", ""):
        content = json.dumps(payload) if isinstance(payload, dict) else payload
        response = client.request(
            method, path, params=params, content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, f"{operation_id}: {response.status_code} {response.text[:300]}"
        if operation_id not in SPEC_OMITS_400:
            check_response(operation_id, response)
        body = response.json()
        assert isinstance(body["errorCode"], int) and body["errorMessage"]
        if isinstance(payload, dict):
            assert body["errorCode"] == 99400
            assert body["validationErrors"] and all(
                set(e) == {"field", "error", "value"} for e in body["validationErrors"]
            )
    assert store_fingerprint(app) == before, f"{operation_id}: a refused request changed the store"


@pytest.mark.parametrize("operation_id", OP_IDS)
def test_missing_or_wrong_token_is_401(
    operation_id: str, app: SandboxApp, anonymous: httpx.Client, ids: dict[str, Any]
) -> None:
    method, path, params, body = build_call(operation_id, ids, app)
    for headers in ({}, {"X-plenigo-token": "wrong"}):
        response = anonymous.request(method, path, params=params, json=body, headers=headers)
        assert response.status_code == 401
        check_response(operation_id, response)
        assert response.json()["errorCode"] == 99015
