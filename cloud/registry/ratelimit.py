"""Failed attempts per source address: after too many, the address waits (HTTP 429).

Pure: the time is an argument.  An address that failed ``limit`` times within the last
``window`` seconds is refused (whatever it sends, right credentials too) until the oldest
of those failures is ``window`` seconds old; ``retry_after`` says how long that is, for
the ``Retry-After`` header.  A success does not wipe the slate: guessing a token while
holding a valid certificate gains nothing.  At most ``max_addresses`` addresses are
remembered (the quietest are forgotten first), so a flood of sources cannot exhaust
memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

LIMIT = 5
WINDOW = 60.0
MAX_ADDRESSES = 10_000


class FailureLimiter:
    def __init__(self, limit: int = LIMIT, window: float = WINDOW,
                 max_addresses: int = MAX_ADDRESSES) -> None:
        if limit < 1 or window <= 0 or max_addresses < 1:
            raise ValueError("limit, window and max_addresses must be positive")
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str, now: float) -> int | None:
        """Whole seconds ``address`` must wait (at least 1), or None if it may try."""
        failures = self._recent(address, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[-self.limit] + self.window - now))

    def failed(self, address: str, now: float) -> None:
        failures = self._recent(address, now)
        if failures is None:
            failures = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
        failures.append(now)
        self._failures.move_to_end(address)

    def _recent(self, address: str, now: float) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def __len__(self) -> int:
        return len(self._failures)
