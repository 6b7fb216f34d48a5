"""The framed protocol's side of the command port: :class:`FramedPort` turns the
fleet's domain commands into ``Command`` messages on one CP's link, and
:class:`CommandLedger` remembers what each command was, so that the CP's
``CommandResult`` can be told to the fleet in the domain's words again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from protocol import messages as m

COMMAND_TTL = 10.0  # a command not delivered within this is ignored by the CP
REMEMBERED = 10000


class CommandLedger:
    """Command id -> (cp_id, action, session_id), for the last ``REMEMBERED`` commands
    sent on any link (a result may come back on a new link of the same CP)."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._commands: OrderedDict[str, tuple[str, str, str | None]] = OrderedDict()

    def remember(self, command: m.Command) -> None:
        self._commands[command.id] = (command.cp_id, command.action, command.session_id)
        while len(self._commands) > self.size:
            self._commands.popitem(last=False)

    def resolve(self, result: m.CommandResult) -> tuple[str, str, str | None, bool, str]:
        """``(cp_id, action, session_id, ok, reason)``; action "command" if unknown."""
        cp_id, action, session_id = self._commands.pop(result.ref, (result.cp_id, "command",
                                                                     None))
        return cp_id, action, session_id, result.ok, result.reason or ""


class FramedPort:
    """The command port of one CP on a framed-protocol link: ``send(message)`` puts a
    message on that link, ``finish(reason, revoked)`` closes it once what was sent is
    acknowledged (``revoked``: refusing what the CP sends meanwhile); both from any
    thread, in the order called."""

    def __init__(self, cp_id: str, send: Callable[[m.Message], Any], ledger: CommandLedger,
                 wallclock: Callable[[], str] = m.utc_now,
                 finish: Callable[[str, bool], Any] = lambda reason, revoked: None) -> None:
        self.cp_id = cp_id
        self._send = send
        self._finish = finish
        self.ledger = ledger
        self.wallclock = wallclock

    def authorize(self, session_id: str, driver_id: str | None, price_eur_kwh: str) -> None:
        self._command("authorize", session_id=session_id, driver_id=driver_id,
                      price_eur_kwh=price_eur_kwh)

    def stop(self, reason: str) -> None:
        self._command("stop", reason=reason)

    def resume(self, reason: str) -> None:
        self._command("resume", reason=reason)

    def end_supply(self, session_id: str, driver_id: str | None, reason: str) -> None:
        self._command("end_supply", session_id=session_id, driver_id=driver_id, reason=reason)

    def revoke_key(self, reason: str) -> None:
        self._send(m.KeyRevoked(cp_id=self.cp_id, reason=reason))
        self._finish(reason, True)

    def disconnect(self, reason: str) -> None:
        self._finish(reason, False)

    def _command(self, action: str, **fields: Any) -> None:
        expires = m.parse_ts(self.wallclock()) + timedelta(seconds=COMMAND_TTL)
        expires_at = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        command = m.Command(cp_id=self.cp_id, action=action, expires_at=expires_at, **fields)
        self.ledger.remember(command)
        self._send(command)
