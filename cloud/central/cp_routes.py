"""What an authenticated CP says on its framed link, routed to the fleet's hooks.

:data:`FROM_CP` has one handler per message type a monitor may send once logged in
(``tests/unit/central/test_cp_routes.py`` checks that every such type has one).  A
handler gets the fleet, the server's command ledger, the message and ``reply`` (which
answers on the same link): a supply record is acknowledged with ``RecordAck`` once
stored, a denied supply request answered with ``SupplyDenied``; an authorization goes
out through the CP's command port.
"""

from __future__ import annotations

from collections.abc import Callable

from cloud.central.fleet import Fleet
from cloud.central.framed import CommandLedger
from protocol import messages as m
from runtime.routing import Routes

FROM_CP = Routes("message from an authenticated CP")
Reply = Callable[[m.Message], None]


@FROM_CP.on(m.Heartbeat)
def heartbeat(fleet: Fleet, ledger: CommandLedger, msg: m.Heartbeat, reply: Reply) -> None:
    fleet.on_heartbeat(msg)


@FROM_CP.on(m.EngineStatus)
def engine_status(fleet: Fleet, ledger: CommandLedger, msg: m.EngineStatus,
                  reply: Reply) -> None:
    fleet.on_engine_status(msg)


@FROM_CP.on(m.CommandResult)
def command_result(fleet: Fleet, ledger: CommandLedger, msg: m.CommandResult,
                   reply: Reply) -> None:
    fleet.on_command_result(*ledger.resolve(msg))


@FROM_CP.on(m.SupplyRequest)
def supply_request(fleet: Fleet, ledger: CommandLedger, msg: m.SupplyRequest,
                   reply: Reply) -> None:
    reason = fleet.on_supply_request(msg)  # authorized: the command went out
    if reason is not None:
        reply(m.SupplyDenied(cp_id=msg.cp_id, ref=msg.id, reason=reason))


@FROM_CP.on(m.SupplyStarted)
def supply_started(fleet: Fleet, ledger: CommandLedger, msg: m.SupplyStarted,
                   reply: Reply) -> None:
    fleet.on_supply_started(msg)
    reply(m.RecordAck(cp_id=msg.cp_id, ref=msg.id, session_id=msg.session_id))


@FROM_CP.on(m.SupplyEnded)
def supply_ended(fleet: Fleet, ledger: CommandLedger, msg: m.SupplyEnded,
                 reply: Reply) -> None:
    fleet.on_supply_ended(msg)
    reply(m.RecordAck(cp_id=msg.cp_id, ref=msg.id, session_id=msg.session_id))
