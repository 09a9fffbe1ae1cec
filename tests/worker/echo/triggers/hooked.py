"""A trigger with every hook; each leaves a line in ``cfg['log']`` so a test sees what ran, in order."""

import json
from pathlib import Path

_inits = 0  # what init prepares for the messages of this worker


def _log(cfg, line):
    with Path(cfg["log"]).open("a", encoding="utf-8") as f:
        f.write(line + "\n")


async def startup(ctx, cfg):
    _log(cfg, "startup")
    return {"subscription": cfg.get("subscription", "sub-1")}


def init(ctx, cfg):
    global _inits
    if cfg.get("failInit"):
        raise RuntimeError("the subscription service is down")
    _inits += 1
    _log(cfg, "init")


async def shutdown(ctx, cfg, startup_data):
    _log(cfg, "shutdown " + json.dumps(startup_data, sort_keys=True))


async def process(ctx, msg, cfg):
    _log(cfg, "process")
    await ctx.emit({"inits": _inits, **msg.body})
