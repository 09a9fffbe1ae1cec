from skiff.message import Attachment, Message


async def process(ctx, msg, cfg):
    content = f"invoice {msg.body.get('n')}\n".encode()
    att = Attachment(content_type="text/plain", size=len(content), content=content)
    return Message(body={"n": msg.body.get("n")}, attachments={"invoice.txt": att})
