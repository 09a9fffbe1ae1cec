"""Deterministic sample data for the Billomat sandbox, and a tiny PDF writer for completed documents."""

from __future__ import annotations

import random
from typing import Any

__all__ = ["CITIES", "COMPANIES", "FIRST_NAMES", "LAST_NAMES", "PRODUCTS", "company", "make_pdf", "person"]

FIRST_NAMES = [
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannes", "Ida", "Jonas",
    "Katrin", "Lukas", "Mara", "Niklas", "Olga", "Paul", "Rita", "Stefan", "Tara", "Uwe",
]  # fmt: skip
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann",
]  # fmt: skip
COMPANIES = [
    "Nordlicht", "Bergwerk", "Hafenblick", "Sonnenhof", "Waldkauz", "Elbtal", "Feldmark", "Rheinfall",
    "Kupferkessel", "Lindenbaum", "Silberstreif", "Morgenrot", "Steinbock", "Tannenzapfen",
]  # fmt: skip
LEGAL_FORMS = ["GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG"]
CITIES = [
    ("10115", "Berlin", "DE"), ("20095", "Hamburg", "DE"), ("80331", "München", "DE"),
    ("50667", "Köln", "DE"), ("60311", "Frankfurt am Main", "DE"), ("57562", "Herdorf", "DE"),
    ("1010", "Wien", "AT"), ("8001", "Zürich", "CH"), ("10121", "Torino", "IT"),
]  # fmt: skip
STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße", "Hollertszug", "Via Ticino"]
PRODUCTS = [
    ("Beratung", "Stunde", 95.0), ("Wartungsvertrag", "Monat", 49.0), ("Schulung", "Tag", 780.0),
    ("Lizenz Basic", "Stück", 19.9), ("Lizenz Pro", "Stück", 39.9), ("Installation", "Pauschal", 250.0),
    ("Support-Paket", "Monat", 120.0), ("Hosting", "Monat", 29.0), ("Reisekosten", "km", 0.3),
]  # fmt: skip


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def company(rng: random.Random) -> dict[str, Any]:
    """Name and address fields of a client-like record."""
    zip_code, city, country = rng.choice(CITIES)
    return {
        "name": f"{rng.choice(COMPANIES)} {rng.choice(LEGAL_FORMS)}",
        "street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
        "zip": zip_code,
        "city": city,
        "country_code": country,
    }


def _pdf_text(text: str) -> str:
    # PDF string literals: escape the delimiters; Latin-1 covers German umlauts in WinAnsi.
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: list[str]) -> bytes:
    """A small valid one-page PDF (Helvetica text), so clients can store and open real PDF bytes."""
    text_ops = ["BT", "/F1 18 Tf", "50 790 Td", f"({_pdf_text(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        text_ops += ["0 -18 Td", f"({_pdf_text(line)}) Tj"]
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1", errors="replace")
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
