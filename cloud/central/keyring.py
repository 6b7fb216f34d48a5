"""The CPs' keys as Central holds them: pure data and decisions, time passed in.

Per CP, its **current** key (issued at its last login; it seals the control plane and
the data plane) and, for the data plane only, the keys of its earlier logins for
:data:`GRACE` seconds after they were replaced: an MQTT message sealed before a
reconnection may reach Central through the bridge and Kafka after it, and still opens.
Revocation deletes every key of the CP, current or in grace.  Times are epoch seconds.
The shell (:mod:`cloud.central.keys`) persists what changes and owns the lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace

from protocol import seal

GRACE = 600.0  # seconds an earlier key still opens data-plane messages


def new_key_id() -> str:
    """``k-`` and 12 hex digits: names a key on the wire, tells nothing of it."""
    return f"k-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class IssuedKey:
    cp_id: str
    key: seal.Key
    issued_at: float
    retired_at: float | None = None  # None: the CP's current key

    @property
    def key_id(self) -> str:
        return self.key.key_id


class KeyRing:
    """Every CP's keys, current and in grace, oldest first; and ``current_keys``, each
    CP's current key alone (the one lookup the data plane makes per record; the dict is
    updated in place, never replaced)."""

    def __init__(self, keys: Iterable[IssuedKey] = (), grace: float = GRACE) -> None:
        self.grace = grace
        self._by_cp: dict[str, list[IssuedKey]] = {}
        for issued in sorted(keys, key=lambda k: k.issued_at):
            self._by_cp.setdefault(issued.cp_id, []).append(issued)
        self.current_keys: dict[str, seal.Key] = {
            cp_id: ring[-1].key for cp_id, ring in self._by_cp.items()
            if ring[-1].retired_at is None}

    def issue(self, cp_id: str, key: seal.Key,
              now: float) -> tuple[IssuedKey, IssuedKey | None, list[IssuedKey]]:
        """``key`` becomes the CP's current key.  Returns it, the key it replaces (now
        retired, kept for the data plane: persist its ``retired_at``) and the earlier
        keys past their grace (dropped: delete them)."""
        kept, retired, dropped = [], None, []
        for issued in self._by_cp.get(cp_id, []):
            if issued.retired_at is None:
                retired = replace(issued, retired_at=now)
                kept.append(retired)
            elif now - issued.retired_at <= self.grace:
                kept.append(issued)
            else:
                dropped.append(issued)
        current = IssuedKey(cp_id, key, now)
        self._by_cp[cp_id] = [*kept, current]
        self.current_keys[cp_id] = key
        return current, retired, dropped

    def current(self, cp_id: str) -> IssuedKey | None:
        keys = self._by_cp.get(cp_id)
        if keys and keys[-1].retired_at is None:
            return keys[-1]
        return None

    def for_data(self, cp_id: str, key_id: str, now: float) -> seal.Key | None:
        """The key ``key_id`` if it is the CP's current one or within its grace."""
        for issued in self._by_cp.get(cp_id, ()):
            if issued.key_id == key_id and (issued.retired_at is None
                                            or now - issued.retired_at <= self.grace):
                return issued.key
        return None

    def revoke(self, cp_id: str) -> tuple[str, ...]:
        """Delete every key of the CP; returns their ids, oldest first."""
        self.current_keys.pop(cp_id, None)
        return tuple(issued.key_id for issued in self._by_cp.pop(cp_id, []))

    def expire(self, now: float) -> list[IssuedKey]:
        """Drop the retired keys past their grace; returns them."""
        dropped = []
        for cp_id, keys in list(self._by_cp.items()):
            alive = [k for k in keys if k.retired_at is None or now - k.retired_at <= self.grace]
            if len(alive) != len(keys):
                dropped += [k for k in keys if k not in alive]
                if alive:
                    self._by_cp[cp_id] = alive
                else:
                    del self._by_cp[cp_id]
        return dropped

    def cp_ids(self) -> set[str]:
        return set(self._by_cp)
