"""The Billbee sandbox with its real throttles, as a process of its own for bench/all.py.

    python bench/_sandbox.py --orders 2500 --api-key KEY

Prints one JSON line ``{"baseUrl", "url", "apiKey", "username", "password"}`` once it listens,
then serves until stdin closes. A key of its own per run keeps its rate-limit windows (also
those kept in Redis) apart from any other sandbox on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys

from skiff.sandbox import load_sandbox, serve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2500)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    app = load_sandbox("billbee", seed=1, api_key=args.api_key, orders=args.orders)
    server = serve(app)
    creds = {**app.default_credentials, "apiKey": args.api_key}
    print(json.dumps({"baseUrl": server.base_url, "url": server.url, **creds}), flush=True)
    sys.stdin.read()  # until the parent closes it
    server.stop()


if __name__ == "__main__":
    main()
