"""Deterministic sample data for the Billwerk sandbox: the product catalog, people, dates and a tiny PDF."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

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


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: list[str]) -> bytes:
    """A small valid one-page PDF (Helvetica text) for invoice downloads."""
    ops = ["BT", "/F1 18 Tf", "50 790 Td", f"({_pdf_text(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        ops += ["0 -18 Td", f"({_pdf_text(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
