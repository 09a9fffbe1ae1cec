from skiff.errors import ApiError


async def process(ctx, msg, cfg):
    raise ApiError("the API refused order 7", status=422)
