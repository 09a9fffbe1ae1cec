"""Deterministic sample data for the Billomat sandbox, and a tiny PDF writer for completed documents."""

from __future__ import annotations

import random
from typing import Any

from skiff.sandbox.pdf import make_pdf

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
