"""Deterministic sample data for the Billwerk sandbox: the product catalog, people, dates and a tiny PDF."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

from skiff.sandbox.pdf import make_pdf

__all__ = [
    "CATALOG",
    "CITIES",
    "COMPANIES",
    "EVENTS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "add_months",
    "make_pdf",
    "money",
    "ts",
]

FIRST_NAMES = ["Jane", "John", "Max", "Erika", "Lena", "Tim", "Mia", "Noah", "Lea", "Paul", "Sara", "Jonas"]
LAST_NAMES = ["Doe", "Test", "Mustermann", "Musterfrau", "Becker", "Krause", "Lang", "Vogel", "Roth", "Fuchs"]
COMPANIES = ["Example Company", "Test Inc.", "Musterfirma", "OldTek GmbH", "Acme AG", "Nordwind KG", ""]
CITIES = [
    ("12345", "Example City", "DE"),
    ("80538", "München", "DE"),
    ("20095", "Hamburg", "DE"),
    ("1010", "Wien", "AT"),
    ("8001", "Zürich", "CH"),
]

# Webhook events Billwerk documents (APIS.md); creating a hook for another name is a 422.
EVENTS = [
    "AccountCreated",
    "ContractCancelled",
    "ContractChanged",
    "ContractCreated",
    "ContractDataChanged",
    "ContractDeleted",
    "CustomerChanged",
    "CustomerCreated",
    "CustomerDeleted",
    "DebitAuthCancelled",
    "InvoiceCorrected",
    "InvoiceCreated",
    "OrderSucceeded",
    "PaymentBearerExpired",
    "PaymentEscalated",
    "PaymentFailed",
    "PaymentSucceeded",
    "RecurringBillingApproaching",
    "TrialEndApproaching",
]

# Plan groups → plans → variants (fee per month, trial days), and metered/quantity components.
CATALOG: dict[str, Any] = {
    "groups": [
        {
            "key": "software",
            "name": "Sandbox Software",
            "plans": [
                {
                    "key": "basic",
                    "name": "Basic",
                    "de": "Basis",
                    "variants": [
                        {"key": "basic-monthly", "fee": 9.9, "months": 1, "trial": 0},
                        {"key": "basic-yearly", "fee": 99.0, "months": 12, "trial": 0},
                    ],
                },
                {
                    "key": "pro",
                    "name": "Pro",
                    "de": "Profi",
                    "variants": [
                        {"key": "pro-monthly", "fee": 24.9, "months": 1, "trial": 14},
                        {"key": "pro-yearly", "fee": 249.0, "months": 12, "trial": 14},
                    ],
                },
            ],
        },
        {
            "key": "services",
            "name": "Sandbox Services",
            "plans": [
                {
                    "key": "support",
                    "name": "Support",
                    "de": "Support",
                    "variants": [
                        {"key": "support-monthly", "fee": 49.0, "months": 1, "trial": 0},
                    ],
                },
            ],
        },
    ],
    "components": [
        {"key": "api-calls", "name": "API calls", "unit": "call", "price": 0.01, "type": "Metered"},
        {"key": "extra-users", "name": "Extra users", "unit": "user", "price": 5.0, "type": "Quantity"},
        {"key": "storage", "name": "Storage", "unit": "GB", "price": 0.5, "type": "Metered"},
    ],
}


def ts(dt: datetime) -> str:
    """Billwerk's timestamps: ``2014-05-12T14:22:24.0000000Z`` (seven fraction digits, UTC)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def add_months(dt: datetime, months: int) -> datetime:
    month_index = dt.month - 1 + months
    year, month = dt.year + month_index // 12, month_index % 12 + 1
    return dt.replace(year=year, month=month, day=min(dt.day, calendar.monthrange(year, month)[1]))


def money(value: float) -> float:
    return round(value + 0.0, 2)
