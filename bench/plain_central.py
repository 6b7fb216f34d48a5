"""``ev-central`` with its sealing layer swapped for the plain codecs: the "without" of
the supplying benchmark, run in the same ``make bench`` as the sealed Central.

Benchmarks only (``python -m bench.plain_central <ev-central flags>``): Central itself
has no switch that turns sealing off.  Everything else (the CP server, the key issued
and wrapped at every login, the replay window, the fleet, the store) is the code Central
runs; only opening the envelopes is left out, on the control plane (a CP's frames after
login) and on the data plane (``cp.*`` records), so the difference between the two runs
is what sealing costs.  A data-plane record that is an envelope is still opened:
:mod:`bench.opening_cost` sends both kinds to one such Central (the supplying
benchmark's plain fleet sends none).
"""

from __future__ import annotations

import sys

from cloud.central import cli, cp_connection, kafka_records
from cloud.central.link_sealing import CpSealing

OPEN = kafka_records.open_record  # Central's own, before it is swapped below
SEALED = b'{"v":'  # how an envelope begins (protocol.seal); no plain message does


class PlainLink(CpSealing):
    """The logged-in link's codec without the envelopes (still a ``CpSealing``, so that
    revocation takes the same path)."""

    def encode(self, message):
        return self.inner.encode(message)

    def decode(self, payload: bytes):
        return self.inner.decode(payload)


def plain_record(key, value, keys):
    """A plain record decoded; a sealed one opened as Central opens it, for the
    benchmark that sends both kinds to one Central (:mod:`bench.opening_cost`)."""
    if value.startswith(SEALED):
        return OPEN(key, value, keys)
    return kafka_records.DATA_CODEC.decode(value)


if __name__ == "__main__":
    cp_connection.CpSealing = PlainLink
    kafka_records.open_record = plain_record
    sys.exit(cli.main())
