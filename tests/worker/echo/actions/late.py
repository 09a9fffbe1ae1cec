import asyncio
from pathlib import Path


async def process(ctx, msg, cfg):
    """Mark that the message is in flight, wait until the test releases it, then emit."""
    Path(cfg["started"]).write_text(str(msg.body.get("n")), encoding="utf-8")
    release = Path(cfg["release"])
    while not release.exists():
        await asyncio.sleep(0.05)
    await ctx.emit(msg.body)
