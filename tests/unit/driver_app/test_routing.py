"""The routing table: one handler per message class, collected from ``@on`` marks."""

from __future__ import annotations

import pytest

from driver_app.routing import on, route_map


class Ping:
    pass


class Pong:
    pass


class Receiver:
    @on(Ping)
    def _on_ping(self, message: Ping) -> str:
        return "ping"

    @on(Pong)
    def _on_pong(self, message: Pong) -> str:
        return "pong"

    def helper(self) -> None:  # not a handler
        pass


def test_the_marked_methods_make_the_table():
    routes = route_map(Receiver)
    assert set(routes) == {Ping, Pong}
    assert routes[type(Ping())](Receiver(), Ping()) == "ping"


def test_a_subclass_overrides_a_handler_by_name():
    class Louder(Receiver):
        @on(Ping)
        def _on_ping(self, message: Ping) -> str:
            return "PING"

    assert route_map(Louder)[Ping](Louder(), Ping()) == "PING"
    assert route_map(Louder)[Pong] is Receiver._on_pong


def test_two_handlers_for_one_message_class_are_refused():
    class Confused:
        @on(Ping)
        def _on_ping(self, message: Ping) -> None:
            pass

        @on(Ping)
        def _on_other_ping(self, message: Ping) -> None:
            pass

    with pytest.raises(TypeError, match="Ping is handled by both _on_ping and _on_other_ping"):
        route_map(Confused)
