from skiff.errors import RateLimited


async def process(ctx, msg, cfg):
    raise RateLimited("429 from /orders after 5 attempts")
