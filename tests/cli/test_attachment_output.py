"""skiff.cli.attachment_output: attachments written to --attachments DIR, or counted as left out."""

from __future__ import annotations

from pathlib import Path

from skiff.cli.attachment_output import AttachmentOutput
from skiff.message import Attachment, Message


def pdf(body: object = None) -> Message:
    att = Attachment(content_type="application/pdf", size=0, content=b"%PDF-1 invoice")
    return Message(body={"id": 7} if body is None else body, attachments={"invoice.pdf": att})


async def test_a_body_names_the_file_each_attachment_was_written_to(tmp_path: Path) -> None:
    out = AttachmentOutput(str(tmp_path / "att"))
    printed = await out.printable(pdf(), whole=False)
    [file] = (tmp_path / "att").iterdir()
    assert file.read_bytes() == b"%PDF-1 invoice" and file.name.endswith("-invoice.pdf")
    assert printed == {"id": 7, "attachments": {"invoice.pdf": str(file)}}
    assert out.notice() is None


async def test_a_whole_message_carries_the_file_url(tmp_path: Path) -> None:
    out = AttachmentOutput(str(tmp_path))
    printed = await out.printable(pdf(), whole=True)
    [file] = tmp_path.iterdir()
    assert printed["attachments"]["invoice.pdf"] == {
        "size": 14,
        "content-type": "application/pdf",
        "url": file.as_uri(),
    }
    assert printed["body"] == {"id": 7}


async def test_a_body_that_is_no_object_is_printed_as_it_is(tmp_path: Path) -> None:
    assert await AttachmentOutput(str(tmp_path)).printable(pdf(body=[1, 2]), whole=False) == [1, 2]
    assert len(list(tmp_path.iterdir())) == 1  # written all the same


async def test_without_a_folder_nothing_is_written_and_the_count_is_told() -> None:
    out = AttachmentOutput(None)
    assert await out.printable(pdf(), whole=False) == {"id": 7}
    assert await out.printable(pdf(), whole=False) == {"id": 7}
    assert await out.printable(Message(body={"id": 8}), whole=False) == {"id": 8}
    assert out.notice() == "2 attachment(s) not written: --attachments DIR writes them"
