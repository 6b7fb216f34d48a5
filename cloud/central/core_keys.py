"""The fleet's pure core, its security half: what a login, a key's revocation, a message
that did not open and a deregistration do to the CP table.  Facts in, effects out, time
passed in (:class:`~cloud.central.core_table.TableCore` is the CP table it works on;
:class:`~cloud.central.core.Core` adds the supply decisions).

A revoked key is a :class:`~cloud.central.cpstate.StopReason` like the others: the CP is
out of service (even while its link is down) until its monitor logs in again, and that
login lifts ``key revoked`` alone.  The keys themselves are the shell's
(:mod:`cloud.central.keys`): the core only knows their ids and when they were issued.
"""

from __future__ import annotations

from cloud.central import effects as fx
from cloud.central.core_links import LinksCore
from cloud.central.core_table import Effects
from cloud.central.cpstate import StopReason
from cloud.central.cptable import Moment
from cloud.central.events import CpStopped
from protocol.states import EngineState

REVOKED = "key revoked"  # the reason a supply ends and the CP is told


class KeysCore(LinksCore):
    def logged_in(self, cp_id: str, key_id: str, key_issued_at: str, actor: str,
                  now: Moment) -> Effects:
        """The CP authenticated and holds a new key: a re-authentication after its key
        was revoked lifts that stop reason (and no other)."""
        cp = self.cps.get(cp_id)
        if cp is None:
            return []
        cp.last_auth_at, cp.key_id, cp.key_issued_at = now.wall, key_id, key_issued_at
        effects: Effects = []
        if StopReason.KEY_REVOKED in cp.stop_reasons:
            effects += self.lift(cp_id, StopReason.KEY_REVOKED, actor, now)
        return effects + self._refresh(cp, now)

    def revoke_key(self, cp_id: str, actor: str, now: Moment) -> Effects:
        """Take the CP out of service for its revoked key (UnknownCp if there is none):
        the supply under way ends, authorizations lapse, the CP is told (sealed with the
        key) and its link closed.  The shell deletes the keys after these effects."""
        cp = self._get(cp_id)
        effects: Effects = []
        if cp.connected and cp.session_id and cp.engine_state == EngineState.SUPPLYING:
            effects.append(fx.EndSupply(cp_id, cp.session_id, cp.driver_id, REVOKED))
        cp.stop_reasons = cp.stop_reasons | {StopReason.KEY_REVOKED}
        cp.key_id = cp.key_issued_at = None
        effects += [fx.SaveStopReasons(cp_id, cp.stop_reasons),
                    fx.Announce(CpStopped(cp_id, StopReason.KEY_REVOKED, actor))]
        effects += self._drop_authorizations(cp_id, REVOKED, now)
        if cp.connected:
            effects.append(fx.RevokeKey(cp_id, REVOKED))
        return effects + self._refresh(cp, now)

    def key_problem(self, cp_id: str | None, reason: str, now: Moment) -> Effects:
        """A message of the CP that did not open: counted and shown on its tile."""
        cp = self.cps.get(cp_id) if cp_id else None
        if cp is None:
            return []
        cp.key_problems += 1
        cp.key_problem = {"reason": reason, "at": now.wall}
        return self._refresh(cp, now)

    def changed(self, cp_id: str, location: str, price: str, now: Moment) -> Effects:
        """The registry changed the CP's location or price: the next authorization
        charges the new price (a supply under way keeps its own)."""
        cp = self.cps.get(cp_id)
        if cp is None:
            return []
        cp.location, cp.price = location, price
        return self._refresh(cp, now)

    def deregistered(self, cp_id: str, now: Moment) -> Effects:
        """The registry deregistered the CP: it leaves the table and its link is
        dropped at once."""
        cp = self._forget(cp_id)
        if cp is None:
            return []
        effects = self._drop_authorizations(cp_id, "CP deregistered", now)
        text = "deregistered"
        if cp.connected:
            effects.append(fx.Disconnect(cp_id, "CP deregistered"))
            text += ": its link is dropped"
        return effects + [fx.Note("warning", cp_id, text), fx.Publish("cp_removed", {"id": cp_id})]
