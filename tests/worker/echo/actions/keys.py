async def process(ctx, msg, cfg):
    await ctx.update_keys({"access_token": "new-token", "expires_in": 3600})
    return msg.body
