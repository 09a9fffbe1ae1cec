from skiff.message import Message


async def process(ctx, msg, cfg):
    return Message(body=msg.body, headers={"X-EIO-Routing-Key": cfg["replyKey"], "kept": "yes"})
