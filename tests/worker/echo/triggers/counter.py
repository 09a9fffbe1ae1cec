async def process(ctx, msg, cfg):
    seen = int(ctx.snapshot.get("seen", 0)) + 1
    await ctx.emit({"tick": seen})
    await ctx.emit_snapshot({"seen": seen})
