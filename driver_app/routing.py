"""One routing table per receiver, in the spirit of mobilityhouse ocpp's ``@on``: a
handler is marked with the message class it handles, and :func:`route_map` collects the
marks of a class into ``{message class: handler}``, built once, when the receiver's
module is imported.  A test holds each table to the message types its receiver can get,
so a new message type without a handler fails a test, not a driver's app at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])

_MARK = "_routes_message"


def on(message_type: type) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of ``message_type``."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _MARK, message_type)
        return handler

    return mark


def route_map(receiver: type) -> dict[type, Callable[..., Any]]:
    """``{message class: handler}`` from the methods of ``receiver`` marked with
    :func:`on`; TypeError if two handlers claim one message class."""
    routes: dict[type, Callable[..., Any]] = {}
    for klass in reversed(receiver.__mro__):
        for name, member in vars(klass).items():
            message_type = getattr(member, _MARK, None)
            if message_type is None:
                continue
            claimed = routes.get(message_type)
            if claimed is not None and claimed.__name__ != name:
                raise TypeError(f"{receiver.__name__}: {message_type.__name__} is handled "
                                f"by both {claimed.__name__} and {name}")
            routes[message_type] = member
    return routes
