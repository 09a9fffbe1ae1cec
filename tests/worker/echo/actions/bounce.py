async def process(ctx, msg, cfg):
    await ctx.rebound("not ready yet")
