"""Output validation: jsonschema against skiff.validation, fastjsonschema and jsonschema-rs.

    .venv/bin/python bench/validators.py [--records 2000] [--repeat 5]

Schema: the real Billbee order out-schema (components/billbee/schemas/orderApiGetList.out.json,
about 44 KB, no $ref). Records: the benchmarks' compact orders (about 1 KB, as the paged sync
serves) and full orders from the Billbee sandbox (about 5 KB, every field the API returns).
Formats are annotations only (jsonschema's default), so the others run with format checks off.
Rows: plain jsonschema (the reference and the baseline of the ratios), skiff.validation's
SchemaValidator as it is now, fastjsonschema, jsonschema-rs (each skipped when not installed).
Every validator must agree on valid and invalid records before it is timed.
Prints microseconds per record and the speed-up over jsonschema, medians of alternating rounds.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, make_order, median

SCHEMA = REPO / "components" / "billbee" / "schemas" / "orderApiGetList.out.json"

IsValid = Callable[[Any], bool]


def sandbox_orders(count: int) -> list[dict[str, Any]]:
    """Full orders as the Billbee sandbox's GET /orders answers them."""
    sys.path.insert(0, str(REPO / "components" / "billbee"))
    from sandbox.app import DEFAULT_CREDENTIALS as C
    from sandbox.app import create_app

    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    from starlette.testclient import TestClient

    app = create_app(orders=max(count, 1), rate_limits=False)
    out: list[dict[str, Any]] = []
    with TestClient(app.asgi()) as client:
        page = 1
        while len(out) < count:
            r = client.get(
                "/api/v1/orders",
                params={"page": page, "pageSize": 250},
                auth=(C["username"], C["password"]),
                headers={"X-Billbee-Api-Key": C["apiKey"]},
            )
            r.raise_for_status()
            data = r.json()["Data"]
            if not data:
                break
            out.extend(data)
            page += 1
    return out[:count]


def validators(schema: dict[str, Any]) -> dict[str, tuple[float, IsValid]]:
    """name -> (compile seconds, is_valid)."""
    out: dict[str, tuple[float, IsValid]] = {}

    from jsonschema import Draft202012Validator

    from skiff.validation import SchemaValidator

    # The reference, as skiff validated before it had a fast path (draft 2020-12 by default).
    t0 = time.perf_counter()
    reference = Draft202012Validator(schema)
    out["jsonschema"] = (time.perf_counter() - t0, reference.is_valid)

    # Whatever skiff.validation does today (not the cached compile_schema: time a fresh one).
    t0 = time.perf_counter()
    skiff_validator = SchemaValidator(schema)
    out["skiff.validation"] = (time.perf_counter() - t0, skiff_validator.is_valid)

    try:
        import fastjsonschema
    except ImportError:
        print("fastjsonschema: not installed (pip install fastjsonschema)")
    else:
        t0 = time.perf_counter()
        fast = fastjsonschema.compile(schema, use_formats=False)
        seconds = time.perf_counter() - t0

        def fast_valid(instance: Any) -> bool:
            try:
                fast(instance)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        out["fastjsonschema"] = (seconds, fast_valid)

    try:
        import jsonschema_rs
    except ImportError:
        print("jsonschema-rs: not installed (pip install jsonschema-rs)")
    else:
        t0 = time.perf_counter()
        rs = jsonschema_rs.validator_for(schema, validate_formats=False)
        out["jsonschema-rs"] = (time.perf_counter() - t0, rs.is_valid)
    return out


def invalid_variants(record: dict[str, Any]) -> list[dict[str, Any]]:
    bad: list[dict[str, Any]] = []
    a = copy.deepcopy(record)
    a["State"] = "shipped"  # enum / type
    bad.append(a)
    b = copy.deepcopy(record)
    del b["CreatedAt"]  # required
    bad.append(b)
    c = copy.deepcopy(record)
    c["OrderItems"][0]["Quantity"] = "one"  # nested type
    bad.append(c)
    return bad


def bench(name: str, fns: dict[str, tuple[float, IsValid]], records: list[dict[str, Any]], repeat: int) -> None:
    for vname, (_, fn) in fns.items():
        if not all(fn(r) for r in records):
            raise SystemExit(f"{vname} rejects a valid {name} record")
        if any(fn(r) for r in invalid_variants(records[0])):
            raise SystemExit(f"{vname} accepts an invalid {name} record")
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeat):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            fn = fns[n][1]
            t0 = time.perf_counter()
            for rec in records:
                fn(rec)
            times[n].append((time.perf_counter() - t0) / len(records))
    size = sum(len(json.dumps(r, separators=(",", ":"))) for r in records) / len(records)
    base = median(times[names[0]])
    print(f"\n{name}: {len(records)} records of about {size / 1024:.1f} KB, {repeat} rounds (medians)")
    print(f"{'validator':<20} {'compile ms':>10} {'us/record':>10} {'ratio':>7} {'speed-up':>9}")
    for n in names:
        med = median(times[n])
        print(f"{n:<20} {fns[n][0] * 1000:10.1f} {med * 1e6:10.1f} {med / base:7.3f} {base / med:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    fns = validators(schema)
    print(f"schema: {SCHEMA.relative_to(REPO)} ({SCHEMA.stat().st_size // 1024} KB)")
    bench("compact orders", fns, [make_order(i) for i in range(args.records)], args.repeat)
    bench("sandbox orders", fns, sandbox_orders(min(args.records, 1000)), args.repeat)
    print("\nratio = time per record / jsonschema's (lower is faster)")


if __name__ == "__main__":
    main()
