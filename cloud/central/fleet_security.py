"""The fleet's security operations, mixed into :class:`cloud.central.fleet.Fleet`: they
share its lock, its core (:class:`~cloud.central.core_keys.KeysCore`), its executor and
its event stream, whose audit trail records each of them.

A CP's login (:meth:`Security.login`: a fresh key, persisted, its last authentication,
``key revoked`` lifted), a key's revocation (:meth:`Security.revoke_key`), messages that
did not open or were replayed, input refused, failures, and CPs deregistered by another
process (the registry), noticed by the sweep within a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.central.events import (
    AuthOk,
    AuthRefused,
    Failure,
    KeyIssue,
    KeyMismatch,
    KeyRevocation,
    RefusedInput,
    Replay,
)
from cloud.central.keys import iso
from protocol import seal

EXPIRE_KEYS_EVERY = 10.0  # seconds between two looks for keys past their grace


@dataclass(frozen=True)
class Login:
    """What a CP is told when it is let in: whether it is in service, its price, and
    its new key (wrapped for the wire by the CP server)."""

    in_service: bool
    price_eur_kwh: str
    key: seal.Key


class Security:
    """Mixed into Fleet; uses its ``_lock``, ``_core``, ``_run``, ``_now``, ``_ports``,
    ``store``, ``keys`` and ``events``."""

    _data_version: int | None = None
    _keys_expired_at: float = 0.0

    def login(self, cp_id: str, peer: str) -> Login | None:
        """A CP proved its secret from ``peer``: issue its key; None if it is not
        registered (any more)."""
        with self._lock:
            row = self.store.cp(cp_id)
            if row is None:
                return None
            now = self._now()
            self._notice_registrations(now)  # registered by another process just now?
            issued = self.keys.issue(cp_id)
            self.store.set_last_auth(cp_id, now.wall)
            self.events.emit(AuthOk(cp_id, peer))
            self.events.emit(KeyIssue(cp_id, issued.key_id, peer))
            self._run(self._core.logged_in(cp_id, issued.key_id, iso(issued.issued_at),
                                           f"cp@{peer}", now))
            cp = self._core.cps.get(cp_id)
            reasons = cp.stop_reasons if cp is not None else self.store.stop_reasons(row)
            return Login(not reasons, row["price_eur_kwh"], issued.key)

    def revoke_key(self, cp_id: str, actor: str = "admin") -> dict:
        """Revoke the CP's key (UnknownCp if there is no such CP): out of service at once,
        the supply under way ended, the CP told and its link closed, every key of it
        deleted.  Returns its view."""
        with self._lock:
            cp = self._core.cps.get(cp_id)
            connected = bool(cp is not None and cp.connected)
            self._run(self._core.revoke_key(cp_id, actor, self._now()))
            key_ids = self.keys.revoke(cp_id)
            self.events.emit(KeyRevocation(cp_id, key_ids, actor, connected))
            return self._core.view(cp_id)

    # -- what was refused ----------------------------------------------------------
    def on_auth_refused(self, cp_id: str | None, peer: str, reason: str) -> None:
        with self._lock:
            self._core.counters["auth_refusals"] += 1
            self.events.emit(AuthRefused(cp_id, peer, reason))

    def on_admin_refused(self, peer: str, request: str, reason: str) -> None:
        """An admin call without the right bearer token (audited, never the token)."""
        with self._lock:
            self.events.emit(AuthRefused(None, peer, reason, "admin", request))

    def on_service_refused(self, peer: str, request: str, reason: str) -> None:
        """A weather office's call without its service token (audited, never the token)."""
        with self._lock:
            self.events.emit(AuthRefused(None, peer, reason, "service", request))

    def on_frame_rejected(self, cp_id: str | None, reason: str, peer: str = "") -> None:
        """A frame NAKed (bad LRC, JSON, size, type...): counted and audited."""
        with self._lock:
            self._core.counters["frames_rejected"] += 1
            self.events.emit(RefusedInput(cp_id, peer, reason))

    def on_key_mismatch(self, cp_id: str | None, source: str, reason: str, plane: str,
                        envelope: str = "") -> None:
        """A message of the CP that did not open: refused, counted, audited, shown."""
        with self._lock:
            self._core.counters["key_mismatches"] += 1
            self.events.emit(KeyMismatch(cp_id, source, reason, plane, envelope))
            self._run(self._core.key_problem(cp_id, reason, self._now()))

    def on_replay(self, cp_id: str, source: str, kind: str, message_id: str) -> None:
        """A CP's message whose id was applied already: refused, counted, audited."""
        with self._lock:
            self._core.counters["replays"] += 1
            self.events.emit(Replay(cp_id, source, kind, message_id))

    def on_refused_input(self, cp_id: str | None, source: str, reason: str,
                         actor: str = "cp") -> None:
        with self._lock:
            self.events.emit(RefusedInput(cp_id, source, reason, actor))

    def on_failure(self, source: str, what: str, cp_id: str | None = None) -> None:
        with self._lock:
            self.events.emit(Failure(source, what, cp_id))

    # -- the registry, shared with other processes (the sweep) -----------------------
    def _notice_registrations(self, now) -> None:
        """CPs registered since the last look, by any process (each new row has a rowid
        above every earlier one): cheap enough for every login."""
        for row in self.store.cps_after(self._last_rowid):
            self._last_rowid = max(self._last_rowid, row["rowid"])
            key = self.keys.current(row["id"])
            credentials = {"registered_at": row["created_at"],
                           "last_auth_at": row.get("last_auth_at"),
                           "key_id": key.key_id if key else None,
                           "key_issued_at": iso(key.issued_at) if key else None}
            self._run(self._core.register(row["id"], row["location"] or "",
                                          row["price_eur_kwh"], self.store.stop_reasons(row),
                                          now, credentials))

    def _notice_changes_elsewhere(self, now) -> None:
        """What another process changed in the registry: CPs it removed leave the table
        (their links dropped, their keys deleted), and a new location or price takes
        effect at once (the next authorization charges the new price).  Cheap while
        nobody else writes: SQLite's data_version says whether anyone did."""
        version = self.store.changed_elsewhere()
        if version == self._data_version:
            return
        self._data_version = version
        registered = self.store.cp_terms()
        for cp_id in sorted(set(self._core.cps) - set(registered)):
            self._run(self._core.deregistered(cp_id, now))
            self._ports.pop(cp_id, None)
            self.keys.revoke(cp_id)
        for cp_id, (location, price) in registered.items():
            cp = self._core.cps.get(cp_id)  # None: registered after the last look, next one
            if cp is not None and (cp.location, cp.price) != (location, price):
                self._run(self._core.changed(cp_id, location, price, now))

    def _expire_keys(self, now) -> None:
        if now.mono - self._keys_expired_at >= EXPIRE_KEYS_EVERY:
            self._keys_expired_at = now.mono
            self.keys.expire()
