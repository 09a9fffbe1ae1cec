from skiff.message import Message, deterministic_id


def test_deterministic_id_is_stable_and_distinct() -> None:
    a = deterministic_id("billbee", "orders", 1, "2024-01-01T00:00:00")
    assert a == deterministic_id("billbee", "orders", 1, "2024-01-01T00:00:00")
    assert a != deterministic_id("billbee", "orders", 1, "2024-01-02T00:00:00")
    assert a != deterministic_id("billbee", "orders", 2, "2024-01-01T00:00:00")


def test_from_dict_accepts_whole_message_or_bare_body() -> None:
    whole = Message.from_dict({"id": "m1", "body": {"a": 1}, "headers": {"h": 1}})
    assert whole.id == "m1" and whole.body == {"a": 1} and whole.headers == {"h": 1}
    bare = Message.from_dict({"a": 1})
    assert bare.body == {"a": 1}
    assert Message.from_dict(whole.to_dict()).to_dict() == whole.to_dict()


def test_new_ids_are_unique_across_fork() -> None:
    import os

    from skiff.message import new_id

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its first id and leave at once
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    assert child != new_id()
    assert len({new_id() for _ in range(1000)}) == 1000


def test_passthrough_keeps_what_arrived_and_adds_this_step() -> None:
    from skiff.message import with_passthrough

    incoming = Message.from_dict({"id": "in", "body": {"b": 2}, "passthrough": {"step_1": {"body": {"a": 1}}}})
    assert incoming.passthrough == {"step_1": {"body": {"a": 1}}}
    out = with_passthrough(Message(body={"c": 3}, id="out"), incoming, "step_2")
    assert out.passthrough["step_1"] == {"body": {"a": 1}}
    assert out.passthrough["step_2"]["body"] == {"c": 3} and "passthrough" not in out.passthrough["step_2"]
    assert out.to_dict()["passthrough"] == out.passthrough
    kept = with_passthrough(Message(body={}), incoming, None)
    assert kept.passthrough == {"step_1": {"body": {"a": 1}}}
    assert "passthrough" not in Message(body={}).to_dict()


def test_child_headers_propagate_ids_thread_and_meta() -> None:
    from skiff.message import child_headers

    incoming = {
        "messageId": "m-1",
        "threadId": "t-1",
        "X-EIO-Meta-Tenant": "acme",
        "reply_to": "reply.q",
        "execId": "dropped",
    }
    out = child_headers(incoming, "m-2")
    assert out == {
        "x-eio-meta-tenant": "acme",
        "threadId": "t-1",
        "messageId": "m-2",
        "parentMessageId": "m-1",
        "reply_to": "reply.q",
    }
    started = child_headers({"messageId": "m-1", "x-eio-meta-trace-id": "trace"}, "m-3")
    assert started["threadId"] == "trace"
    fresh = child_headers({}, "m-4")
    assert fresh["threadId"] and "parentMessageId" not in fresh


def test_derived_ids_repeat_for_a_redelivered_message() -> None:
    from skiff.message import derived_id

    assert derived_id("m-1", 0) == derived_id("m-1", 0)
    assert len({derived_id("m-1", 0), derived_id("m-1", 1), derived_id("m-2", 0)}) == 3


def test_attachment_from_platform_dict() -> None:
    from skiff.message import Attachment

    att = Attachment.from_dict({"url": "http://s/1", "size": "12", "content-type": "application/pdf"})
    assert att.to_dict() == {"url": "http://s/1", "size": 12, "content-type": "application/pdf"}
