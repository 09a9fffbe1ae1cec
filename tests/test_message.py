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
