async def verify(ctx, cfg):
    if cfg.get("apiKey") == "good-key":
        return {"verified": True}
    return {"verified": False, "reason": "the API key is not known"}


async def process(ctx, cfg):
    # skiff validate looks for 'process' in verifyCredentials handlers, the executor for 'verify'.
    return await verify(ctx, cfg)
