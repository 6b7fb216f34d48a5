"""Routing tables: ``@TABLE.on(key)`` marks a handler, the table finds it by key."""

import pytest

from runtime.routing import Routes


def test_a_marked_method_is_the_handler_of_its_keys():
    table = Routes("greeting")

    class Receiver:
        def __init__(self) -> None:
            self.heard: list[str] = []

        @table.on("hello", "hi")
        def _greeted(self, word: str) -> str:
            self.heard.append(word)
            return "welcome"

    receiver = Receiver()
    assert table.handler("hi")(receiver, "hi") == "welcome"
    assert receiver.heard == ["hi"]
    assert set(table) == {"hello", "hi"} and "hello" in table
    assert table.handler("bye") is None
    assert Receiver._greeted.__name__ == "_greeted"  # marking leaves the method as it was


def test_types_are_keys_and_two_handlers_for_one_key_are_refused():
    table = Routes("message")

    class Ping:
        pass

    @table.on(Ping)
    def first(receiver, message):
        return "first"

    with pytest.raises(ValueError, match="two handlers for message Ping: first and second"):
        @table.on(Ping)
        def second(receiver, message):
            return "second"

    assert table.handler(Ping)(None, Ping()) == "first"
    assert "Ping" in repr(table)
