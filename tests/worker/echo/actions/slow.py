import asyncio
from pathlib import Path


async def process(ctx, msg, cfg):
    """Mark that the message is being worked on, then wait until the test releases it."""
    Path(cfg["started"]).write_text(str(msg.body.get("n")), encoding="utf-8")
    release = Path(cfg["release"])
    while not release.exists():
        await asyncio.sleep(0.05)
    return msg.body
