async def process(ctx, msg, cfg):
    await ctx.http_reply({"statusCode": 200, "body": {"ok": msg.body}, "headers": {"content-type": "application/json"}})
