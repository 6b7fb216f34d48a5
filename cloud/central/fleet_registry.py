"""The Fleet's registry desk: what the API's administrator changes in the registry.

A CP's location and price (``PUT /api/cps/<id>``), its deregistration (``DELETE``:
the link dropped, the row and its keys gone, its sessions kept, as ``ev-registry``
does), and drivers registered, updated or removed.  Each change is one store write,
the core told, and one audit record naming the administrator.  A mixin of
:class:`cloud.central.fleet.Fleet` (its lock, store, core, ports and keys).
"""

from __future__ import annotations

from typing import Any

from cloud.central import audit
from cloud.central.errors import BadRegistration, UnknownCp, UnknownDriver
from cloud.central.store import price as parse_price
from protocol.messages import MAX_TEXT


class RegistryDesk:
    """Mixed into Fleet."""

    def change_cp(self, cp_id: str, actor: str, location: object = None,
                  price: object = None) -> dict[str, Any]:
        """New location and/or price for a registered CP; returns its view."""
        if location is not None and (not isinstance(location, str) or len(location) > MAX_TEXT):
            raise BadRegistration(f"location must be text of at most {MAX_TEXT} characters")
        amount = parse_price(price) if price is not None else None
        with self._lock:
            row = self.store.cp(cp_id)
            if row is None:
                raise UnknownCp(cp_id)
            new_location = row["location"] if location is None else location
            new_price = row["price_eur_kwh"] if amount is None else str(amount)
            self.store.update_cp(cp_id, new_location, new_price)
            moment = self._now()
            self._notice_registrations(moment)  # registered by another process just now?
            self._run(self._core.changed(cp_id, new_location, new_price, moment))
            self._audit_admin("registered", actor, cp_id, new=False, location=new_location,
                              price_eur_kwh=new_price)
            return self._core.view(cp_id)

    def deregister_cp(self, cp_id: str, actor: str) -> dict[str, Any]:
        """Deregister a CP: its link dropped, its row and keys gone, its sessions kept."""
        with self._lock:
            if not self.store.remove_cp(cp_id):
                raise UnknownCp(cp_id)
            self._run(self._core.deregistered(cp_id, self._now()))
            self._ports.pop(cp_id, None)
            self.keys.revoke(cp_id)
            self._audit_admin("deregistered", actor, cp_id)
            return {"cp_id": cp_id, "deregistered": True}

    def driver(self, driver_id: str) -> dict[str, Any]:
        """The driver, its supply under way and its last ticket (as on the board)."""
        row = self.store.driver(driver_id)
        if row is None:
            raise UnknownDriver(driver_id)
        return self.driver_on_board(row)

    def put_driver(self, driver_id: str, actor: str) -> tuple[dict[str, Any], bool]:
        """Register a driver, or confirm one registered already: (its row, new?)."""
        with self._lock:
            row = self.store.driver(driver_id)
            if row is not None:
                return self.driver_on_board(row), False
            self.add_driver(driver_id, actor)
            return self.driver_on_board(self.store.driver(driver_id)), True

    def remove_driver(self, driver_id: str, actor: str) -> dict[str, Any]:
        """Remove a driver (its sessions stay, as history)."""
        with self._lock:
            if not self.store.remove_driver(driver_id):
                raise UnknownDriver(driver_id)
            self._audit_admin("deregistered", actor, None, driver_id=driver_id)
            return {"driver_id": driver_id, "deregistered": True}

    def _audit_admin(self, action: str, actor: str, cp_id: str | None, **params) -> None:
        who, source = audit.split_actor(actor)
        row = self.store.append_audit(audit.Record(action, who, source, cp_id, params))
        self._audited(row)
