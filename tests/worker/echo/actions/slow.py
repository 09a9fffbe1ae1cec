import asyncio
from pathlib import Path


async def process(ctx, msg, cfg):
    """Emit, mark that the message is in flight, then hold it until the test releases it."""
    await ctx.emit(msg.body)
    Path(cfg["started"]).write_text(str(msg.body.get("n")), encoding="utf-8")
    release = Path(cfg["release"])
    while not release.exists():
        await asyncio.sleep(0.05)
