async def process(ctx, msg, cfg):
    await ctx.http_reply(201, {"ok": msg.body}, {"content-type": "application/json"})
