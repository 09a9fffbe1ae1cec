async def process(ctx, cfg):
    return {"eu": "Europe", "us": "United States"}
