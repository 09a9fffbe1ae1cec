async def process(ctx, msg, cfg):
    return msg.body


async def getMetaModel(ctx, cfg):
    return {"in": {"type": "object", "properties": {cfg.get("table", "a"): {"type": "string"}}}, "out": {}}
