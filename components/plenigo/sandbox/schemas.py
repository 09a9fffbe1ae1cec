"""Request body schemas of the implemented write operations (JSON Schema 2020-12, from the API reference).

Written out here rather than read from the OpenAPI file, so the sandbox runs without it; the
conformance tests check the sandbox against the spec. Unknown fields are ignored, as plenigo's
Go backend does; a field of the wrong type or out of range is a 400 with ``validationErrors``.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from .core import compile_schema

__all__ = ["BODIES"]

Schema = dict[str, Any]

CUSTOMER_ID: Schema = {"type": "string", "pattern": "^[0-9]{1,18}$"}
UNIQUE_ID: Schema = {"type": "string", "pattern": "^[0-9\\-a-zA-Z]{2,30}$"}
SALUTATION: Schema = {"type": "string", "enum": ["DIVERSE", "MR", "MRS", "NONE"]}
DATE: Schema = {"type": ["string", "null"], "format": "date"}
DATE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
BOOL: Schema = {"type": "boolean"}
INT64: Schema = {"type": "integer", "minimum": 1}
STATUS_ADDON = ["CANCELLED", "DELIVERED", "IN_DELIVERY", "OPEN", "CONDITIONS_FULFILLED", "READY_FOR_DELIVERY"]


def s(max_length: int = 100, **extra: Any) -> Schema:
    return {"type": "string", "maxLength": max_length, **extra}


def obj(properties: Schema, *required: str, **extra: Any) -> Schema:
    return {"type": "object", "properties": properties, "required": list(required), **extra}


def string_map(key_length: int, value_length: int) -> Schema:
    return {
        "type": "object",
        "propertyNames": {"type": "string", "maxLength": key_length},
        "additionalProperties": {"type": "string", "maxLength": value_length},
    }


ADDRESS_BASE: Schema = {
    "businessAddress": BOOL,
    "salutation": SALUTATION,
    "title": s(),
    "firstName": s(),
    "lastName": s(),
    "companyName": s(),
    "additionalCompanyInfo": s(),
    "street": s(),
    "streetNumber": s(),
    "additionalStreetInfo": s(),
    "postbox": s(),
    "postcode": s(),
    "city": s(),
    "state": s(2),
    "country": {"type": "string", "minLength": 2, "maxLength": 2},
    "vatNumber": s(20),
    "phoneNumber": s(pattern="^\\+?[1-9]\\d{1,14}$"),
    "deliveryInformation": s(),
    "academicTitle": s(),
    "jobPosition": s(),
    "validationStatus": {"type": "string", "enum": ["NONE", "VALID", "INVALID", "SUSPECT", "OVERRIDDEN"]},
    "validationHash": {"type": "string"},
}
ADDRESS_TYPE: Schema = {"type": "string", "enum": ["INVOICE", "DELIVERY"]}
ADDRESS_CHANGE: Schema = {**ADDRESS_BASE, "preferred": BOOL}
ADDRESS_CREATION: Schema = {**ADDRESS_CHANGE, "type": ADDRESS_TYPE, "customerId": CUSTOMER_ID}

CUSTOMER_BASE: Schema = {
    "username": s(),
    "email": s(format="email"),
    "externalSystemId": s(),
    "salutation": SALUTATION,
    "firstName": s(),
    "lastName": s(),
    "invoiceEmail": s(format="email"),
    "language": {"type": "string", "minLength": 2, "maxLength": 2},
    "mobileNumber": s(pattern="(^\\+?[1-9]\\d{1,14}$|^$)"),
    "birthday": DATE,
    "miscellaneousData": obj({"leitwegId": s(50)}),
}
CUSTOMER_CHANGE: Schema = {**CUSTOMER_BASE, "pseudoEmail": BOOL, "password": s(), "processingBlocked": BOOL}
CUSTOMER_DATA = string_map(30, 200)

ACCESS_RIGHT_ITEM: Schema = {
    "lifeTimeStart": DATE_TIME,
    "lifeTimeEnd": DATE_TIME,
    # The reference documents these as date-time but its examples send times ("06:00:00").
    "accessTimeStart": {"type": ["string", "null"]},
    "accessTimeEnd": {"type": ["string", "null"]},
    "pausedTimeStart": DATE_TIME,
    "pausedTimeEnd": DATE_TIME,
    "maxCacheDate": DATE_TIME,
    "data": string_map(20, 2000),
    "blocked": BOOL,
    "activePartners": {"type": "array", "items": {"type": "string"}},
}
OPT_IN_TYPES = ["EMAIL", "MESSENGER", "PHONE", "POST"]
OPT_IN_STATUS = ["NONE", "SINGLE_OPT_IN", "DOUBLE_OPT_IN", "OBJECTION_OPT_IN", "REVOKED_OPT_IN"]
PAUSE: Schema = obj(
    {
        "startPauseDate": DATE,
        "endPauseDate": DATE,
        "pauseType": {"type": "string", "enum": ["PAYMENT_ONLY", "STANDARD"]},
    },
    "startPauseDate",
    "endPauseDate",
)
WBZ_MARK: Schema = obj(
    {
        "dealerGroup": s(200),
        "dealerNumber": s(200),
        "agencyPrice": {"type": "number"},
        "basePrice": {"type": "number"},
        "exitLiability": {"type": "integer"},
        **{f"{kind}Wkz{x}": {"type": "number"} for kind in ("start", "scale") for x in "ABC"},
        "data": string_map(100, 2000),
    },
    "dealerGroup",
    "dealerNumber",
)

_SCHEMAS: dict[str, Schema] = {
    # Access Rights
    "createAccessRightsForCustomer": obj(
        {**ACCESS_RIGHT_ITEM, "accessRightUniqueId": UNIQUE_ID}, "accessRightUniqueId"
    ),
    "updateAccessRightForCustomer": obj(ACCESS_RIGHT_ITEM),
    # Addresses
    "createAddress": obj(ADDRESS_CREATION, "customerId"),
    "updateAddressById": obj(ADDRESS_CHANGE),
    "createFutureAddress": obj(ADDRESS_BASE),
    "updateFutureAddress": obj(ADDRESS_BASE),
    "createWbzAddress": obj({**ADDRESS_BASE, "customerId": CUSTOMER_ID}, "customerId"),
    "validateAddress": obj(ADDRESS_CREATION),
    # Customers
    "createCustomer": obj(
        {
            **CUSTOMER_CHANGE,
            "customerId": CUSTOMER_ID,
            "registrationSource": s(),
            "sendWelcomeMail": BOOL,
            "addresses": {"type": "array", "items": obj({**ADDRESS_CHANGE, "type": ADDRESS_TYPE}, "type")},
            "data": CUSTOMER_DATA,
        },
        "email",
        "language",
    ),
    "updateCustomer": obj(CUSTOMER_CHANGE),
    "replaceAdditionalData": obj({"customerId": CUSTOMER_ID, "data": CUSTOMER_DATA}),
    "changeCustomerEmail": obj({"email": s(format="email", minLength=3)}, "email"),
    "changeCustomerInvoiceEmail": obj({"invoiceEmail": s(format="email")}, "invoiceEmail"),
    "changeCustomerUsername": obj({"username": s()}, "username"),
    "updateCustomerAssociatedOptIn": obj(
        {
            "optIns": {
                "type": "object",
                "propertyNames": {"enum": OPT_IN_TYPES},
                "additionalProperties": obj({"status": {"type": "string", "enum": OPT_IN_STATUS}}, "status"),
            }
        },
        "optIns",
    ),
    "changeCustomerStatus": obj(
        {"status": {"type": "string", "enum": ["ACTIVATED", "BLOCKED", "DEACTIVATED"]}}, "status"
    ),
    "createStripeCustomer": obj({"stripeId": s(20, minLength=1)}, "stripeId"),
    "updateCustomerMark": WBZ_MARK,
    "searchCustomerByAddress": obj(
        {
            "firstName": s(),
            "lastName": s(),
            "companyName": s(),
            "street": s(),
            "postcode": s(),
            "city": s(),
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
        },
        "postcode",
        "country",
        anyOf=[{"required": ["lastName"]}, {"required": ["companyName"]}],
    ),
    # Invoices
    "invoicePaymentStatusChange": obj({"status": {"type": "string", "enum": ["PAID", "NOT_PAID"]}}, "status"),
    # Orders
    "updatePurchasedAddonTrackingData": obj(
        {
            "status": {"type": "string", "enum": STATUS_ADDON},
            "trackingData": obj(
                {
                    "trackingId": s(50),
                    "trackingUrl": s(400),
                    "serviceProvider": s(),
                    "sendingDate": DATE_TIME,
                    "arrivalDate": DATE_TIME,
                    "additionalData": string_map(30, 200),
                }
            ),
        },
        "status",
    ),
    "updateCrossClientTransactionPaidStatus": obj(
        {"paidStatus": {"type": "string", "enum": ["OPEN", "PAID"]}}, "paidStatus"
    ),
    # Subscriptions
    "changeSubscriptionAccess": obj({"accessBlocked": BOOL}, "accessBlocked"),
    "changeSubscriptionAddress": obj({"addressId": INT64, "addressType": ADDRESS_TYPE}, "addressId", "addressType"),
    "changeSubscriptionAnalogInvoice": obj({"analogInvoice": BOOL}, "analogInvoice"),
    "cancelSubscriptionAt": obj({"cancellationDate": DATE}),
    "changeSubscriptionDiscount": obj(
        {"subscriptionItemId": INT64, "discountPercentage": {"type": "integer", "minimum": 0, "maximum": 100}},
        "subscriptionItemId",
    ),
    "changeSubscriptionPaymentMethod": obj(
        {
            "paymentMethod": {
                "type": "string",
                "enum": ["AMAZON_PAY", "BANK_ACCOUNT", "BILLING", "CREDIT_CARD", "PAYPAL"],
            },
            "paymentMethodId": {"type": "integer", "minimum": 0},
        },
        "paymentMethod",
        "paymentMethodId",
    ),
    "addSubscriptionDeliveries": obj(
        {"deliveryAddition": {"type": "integer", "minimum": 1, "maximum": 100}}, "deliveryAddition"
    ),
    "changeSubscriptionQuantity": obj(
        {"subscriptionItemId": INT64, "quantity": {"type": "integer", "minimum": 1, "maximum": 10000}},
        "subscriptionItemId",
        "quantity",
    ),
    "changeSubscriptionSuppressInvoiceSending": obj({"suppressInvoiceSending": BOOL}, "suppressInvoiceSending"),
    "changeSubscriptionPurchaseOrderIndicator": obj({"purchaseOrderIndicator": s(50)}, "purchaseOrderIndicator"),
    "pauseSubscription": PAUSE,
    "pauseSubscriptionDelivery": PAUSE,
    "replaceSubscriptionChainAdditionalData": obj({"data": string_map(30, 200)}),
    "useCrossClientVoucher": obj(
        {"customerId": CUSTOMER_ID, "voucherCode": s(100, minLength=1)}, "customerId", "voucherCode"
    ),
}

BODIES: dict[str, Draft202012Validator] = {name: compile_schema(schema) for name, schema in _SCHEMAS.items()}
