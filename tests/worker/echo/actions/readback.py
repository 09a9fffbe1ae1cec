async def process(ctx, msg, cfg):
    # What a component does with an incoming attachment: read it through ctx (checked URL).
    return {name: (await ctx.read_attachment(att)).decode() for name, att in msg.attachments.items()}
