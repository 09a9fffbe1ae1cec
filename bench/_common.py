"""Shared pieces of the benchmarks: Billbee-shaped orders, the local paged API, statistics.

The API runs in its own process (uvicorn, raw ASGI, every page pre-serialised as bytes) so it
uses the second core and never competes with the code being measured for the GIL.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH",
    "CREDENTIALS",
    "PAGE_SIZE",
    "REPO",
    "billbee_copy",
    "make_order",
    "median",
    "peak_rss_mb",
    "reset_peak_rss",
    "rss_mb",
    "serve",
]

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PAGE_SIZE = 250
CREDENTIALS = {"apiKey": "bench-key", "username": "bench@example.com", "password": "bench-pass"}

_SHOPS = [
    (100000000092373, "Amazon DE", "Amazon"),
    (100000000092374, "Shopify", "Shopify"),
    (100000000092375, "eBay", "Ebay"),
]
_FIRST = ["Tom", "Anna", "Lukas", "Marie", "Jonas", "Lea", "Felix", "Sophie"]
_LAST = ["Wagner", "Müller", "Schmidt", "Fischer", "Weber", "Becker"]
_CITIES = [("50667", "Köln", "NW"), ("10115", "Berlin", "BE"), ("80331", "München", "BY"), ("20095", "Hamburg", "HH")]


def make_order(i: int) -> dict[str, Any]:
    """A compact Billbee order (about 1 KB of JSON) valid against orderApiGetList.out.json."""
    shop_id, shop, platform = _SHOPS[i % 3]
    first, last = _FIRST[i % 8], _LAST[i % 6]
    zip_, city, state = _CITIES[i % 4]
    day = 1 + i % 28
    created = f"2023-{1 + i % 12:02d}-{day:02d}T{i % 24:02d}:{i % 60:02d}:11.636+00:00"
    price = round(5 + (i % 97) * 0.5, 2)
    address = {
        "BillbeeId": 100000000300000 + i % 5000,
        "FirstName": first,
        "LastName": last,
        "Company": None,
        "Street": "Schulstraße",
        "HouseNumber": str(1 + i % 90),
        "Zip": zip_,
        "City": city,
        "CountryISO2": "DE",
        "State": state,
        "Email": f"{first.lower()}.{i}@example.com",
    }
    return {
        "BillBeeOrderId": 100000000100000 + i,
        "Id": f"#{20000 + i}",
        "OrderNumber": f"SO-{20000 + i}",
        "State": 1 + i % 9,
        "VatMode": 0,
        "CreatedAt": created,
        "ConfirmedAt": created,
        "PayedAt": created if i % 3 else None,
        "ShippedAt": None,
        "InvoiceNumber": 1000 + i,
        "InvoiceAddress": address,
        "PaymentMethod": 1 + i % 3,
        "ShippingCost": 4.9,
        "TotalCost": round(price + 4.9, 2),
        "OrderItems": [
            {
                "BillbeeId": 100000001000000 + i,
                "Product": {
                    "Id": str(100000000400000 + i % 300),
                    "Title": f"Honig Akazie 500 g V{i % 9}",
                    "SKU": f"BB-{1000 + i % 300}",
                    "Weight": 500,
                },
                "Quantity": 1.0,
                "TotalPrice": price,
                "TaxAmount": round(price * 0.07, 4),
                "TaxIndex": 2,
            }
        ],
        "Currency": "EUR",
        "Buyer": {
            "Platform": platform,
            "BillbeeShopName": shop,
            "BillbeeShopId": shop_id,
            "Id": str(100000000200000 + i % 5000),
            "FullName": f"{first} {last}",
        },
        "UpdatedAt": created,
        "Tags": ["Express"] if i % 5 == 0 else [],
        "LanguageCode": "DE",
        "ApiAccountId": shop_id,
        "LastModifiedAt": created,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def rss_mb() -> float:
    """Resident memory now (Linux /proc), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident memory (VmHWM, which reset_peak_rss() resets; else ru_maxrss), in MB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0) so the peak covers only what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(records: int, *, timeout: float = 120.0) -> Iterator[str]:
    """Start the paged API in a subprocess; yields its base URL (``http://127.0.0.1:P``)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "_server.py"), "--records", str(records), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = proc.stdout.readline()  # "ready" once every page is built and uvicorn listens
        if not line.startswith("ready"):
            raise RuntimeError(f"bench server did not start: {line!r}")
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def billbee_copy(*, rate_limits: bool = False) -> Iterator[Path]:
    """The billbee component in a temp folder, rate limits removed (2 req/s would decide the run).

    Everything else (auth, envelope, pagination, in- and out-schemas) is the shipped file.
    """
    src = REPO / "components" / "billbee"
    tmp = Path(tempfile.mkdtemp(prefix="skiff-bench-"))
    try:
        dst = tmp / "billbee"
        dst.mkdir()
        data = json.loads((src / "component.json").read_text(encoding="utf-8"))
        if not rate_limits:
            data["http"]["rateLimits"] = []
        (dst / "component.json").write_text(json.dumps(data), encoding="utf-8")
        for sub in ("schemas", "actions", "triggers"):
            if (src / sub).exists():
                # Copied, not linked: a component is confined to its folder (symlinks out are refused).
                shutil.copytree(src / sub, dst / sub)
        yield dst
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out
