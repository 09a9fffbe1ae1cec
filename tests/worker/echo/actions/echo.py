async def process(ctx, msg, cfg):
    return msg.body
