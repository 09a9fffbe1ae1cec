"""skiff.cli.sink: the CLI transport turns a call's events into stdout lines and stderr notices."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from skiff.cli.limit import LimitReached
from skiff.cli.sink import StdoutSink
from skiff.errors import ApiError
from skiff.message import Attachment, Message
from skiff.run import Data, End, Error, Snapshot, UpdateKeys


class Pipe(io.StringIO):
    """stdout as a pipe: what was flushed is what the next program has read."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed = ""

    def flush(self) -> None:
        self.flushed = self.getvalue()


async def test_data_is_written_and_settle_makes_it_durable() -> None:
    out, err = Pipe(), io.StringIO()
    sink = StdoutSink(out, err=err)
    await sink.deliver(Data(Message(body={"id": 1})))
    await sink.deliver(Data(Message(body={"id": 2})))
    await sink.settle()
    assert [json.loads(line) for line in out.flushed.splitlines()] == [{"id": 1}, {"id": 2}]
    await sink.deliver(Snapshot({"cursor": 2}))
    await sink.deliver(End())
    sink.close()
    assert out.flushed == out.getvalue() and err.getvalue() == "" and sink.error is None


async def test_whole_messages_and_the_error_of_the_call() -> None:
    out = Pipe()
    sink = StdoutSink(out, err=io.StringIO(), messages=True)
    await sink.deliver(Data(Message(body={"id": 1}, id="m-1")))
    failure = ApiError("GET /x: 404 Not Found", status=404)
    await sink.deliver(Error(failure, Message(body={})))
    sink.close()
    assert json.loads(out.flushed)["id"] == "m-1" and sink.error is failure


async def test_the_limit_ends_delivery_at_the_nth_record() -> None:
    out = Pipe()
    sink = StdoutSink(out, err=io.StringIO(), limit=2)
    await sink.deliver(Data(Message(body=1)))
    with pytest.raises(LimitReached):
        await sink.deliver(Data(Message(body=2)))
    sink.close()
    assert out.flushed == "1\n2\n"


async def test_new_keys_go_into_the_cfg_and_its_file_never_onto_the_screen(tmp_path: Path) -> None:
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text('{"token": "0ld-t0ken-value"}')
    cfg = {"token": "0ld-t0ken-value"}
    out, err = Pipe(), io.StringIO()
    sink = StdoutSink(out, err=err, cfg=cfg, cfg_file=cfg_file)
    await sink.deliver(UpdateKeys({"token": "n3w-t0ken-value"}))
    sink.close()
    assert cfg == {"token": "n3w-t0ken-value"}  # the next poll uses it
    assert json.loads(cfg_file.read_text()) == {"token": "n3w-t0ken-value"}
    assert err.getvalue() == f"updateKeys: token updated in {cfg_file}\n" and out.getvalue() == ""


async def test_attachments_left_out_are_counted_once_the_call_is_over() -> None:
    err = io.StringIO()
    sink = StdoutSink(Pipe(), err=err)
    att = Attachment(content_type="text/plain", size=3, content=b"abc")
    await sink.deliver(Data(Message(body={"id": 1}, attachments={"a.txt": att})))
    assert err.getvalue() == ""
    sink.close()
    assert err.getvalue() == "1 attachment(s) not written: --attachments DIR writes them\n"
