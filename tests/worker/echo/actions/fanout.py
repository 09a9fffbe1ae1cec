async def process(ctx, msg, cfg):
    await ctx.emit({"copy": 1, **msg.body})
    await ctx.emit({"copy": 2, **msg.body})
