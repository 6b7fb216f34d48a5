"""Registering CPs and drivers, from the API's Fleet or from ``ev-central cp add`` /
``driver add``: the store's write, then an :class:`~cloud.central.events.AdminAction`
on the given event stream (whose audit trail records it)."""

from __future__ import annotations

from cloud.central.events import AdminAction, EventStream


def register_cp(store, events: EventStream, cp_id: str, location: str, price: object,
                actor: str) -> str:
    """Register a CP (BadRegistration, BadPrice or CpIdTaken if it cannot be); returns
    its secret, shown once."""
    secret = store.add_cp(cp_id, location, price)
    events.emit(AdminAction(actor, "add_cp", cp_id, location))
    return secret


def register_driver(store, events: EventStream, driver_id: str, actor: str) -> None:
    """Register a driver (BadRegistration or DriverIdTaken if it cannot be)."""
    store.add_driver(driver_id)
    events.emit(AdminAction(actor, "add_driver", None, driver_id))
