"""The two interfaces the fleet's shell and the CP server program against.

:class:`CpPort` sends commands to one connected CP in the domain's words; the framed
protocol's link implements it today (:class:`cloud.central.framed.FramedPort`), an
OCPP 1.6J link will tomorrow.  :class:`Registry` is where a CP's credentials come
from (the store implements it: :class:`cloud.central.store.Store`).
"""

from __future__ import annotations

from typing import Protocol


class CpPort(Protocol):
    """Commands for one connected CP; each returns once the command is on its way."""

    def authorize(self, session_id: str, driver_id: str | None, price_eur_kwh: str) -> None: ...

    def stop(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def end_supply(self, session_id: str, driver_id: str | None, reason: str) -> None: ...

    def revoke_key(self, reason: str) -> None:
        """Tell the CP its key is revoked (sealed with that key), then close the link
        once that is delivered; what the CP sends meanwhile is refused."""

    def disconnect(self, reason: str) -> None:
        """Close the link (the CP was deregistered)."""


class Registry(Protocol):
    """The registered CPs and their credentials."""

    def knows(self, cp_id: str) -> bool: ...

    def secret_key(self, cp_id: str) -> str | None:
        """The key derived from the CP's secret (hex), or None for an unknown CP."""

