"""Explicit routing tables, in the spirit of mobilityhouse ocpp's ``@on(Action)``, for
every receiver: the engine, the monitor, Central and the driver app.

A receiver keeps one :class:`Routes` table per kind of input (the message types a link
brings it, the actions of a ``Command``, the actions its core returns) and marks each
handler with ``@TABLE.on(key)``; the table is built from those marks when the module is
imported, and the receiver dispatches with :meth:`Routes.handler`.  Nothing is looked up
by a name built from a string, and each receiver's tests check that every key it can
get has a handler, so a new message type or command action fails in a test, not at
run time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

Handler = TypeVar("Handler", bound=Callable)


class Routes:
    """One receiver's table: key (a message type, an action name, an action class) ->
    the function that handles it, called with the receiver as its first argument."""

    def __init__(self, receives: str) -> None:
        self.receives = receives  # what the keys are, for error messages
        self._handlers: dict[Hashable, Callable] = {}

    def on(self, *keys: Hashable) -> Callable[[Handler], Handler]:
        """Mark the decorated function as the handler of ``keys``."""

        def mark(handler: Handler) -> Handler:
            for key in keys:
                if key in self._handlers:
                    raise ValueError(f"two handlers for {self.receives} {_name(key)}: "
                                     f"{self._handlers[key].__name__} and {handler.__name__}")
                self._handlers[key] = handler
            return handler

        return mark

    def handler(self, key: Hashable) -> Callable | None:
        """The handler of ``key``; None if this receiver has none."""
        return self._handlers.get(key)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._handlers)

    def __contains__(self, key: object) -> bool:
        return key in self._handlers

    def __repr__(self) -> str:
        keys = ", ".join(_name(key) for key in self._handlers)
        return f"Routes({self.receives}: {keys})"


def _name(key: Hashable) -> str:
    return key.__name__ if isinstance(key, type) else repr(key)
