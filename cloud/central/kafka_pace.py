"""How Central's Kafka thread paces itself: how many records it takes at a time, and how
long it rests after a batch so that the CP loop, which shares the GIL, keeps up."""

from __future__ import annotations

BATCH, BATCH_WAIT = 500, 0.1  # records at most a batch; seconds to wait for the first
BACKLOG_REST = 0.5  # a backlog drains at most 2/3 of the time: the CP loop has the rest
GATHER = 0.02  # seconds records gather after a batch of several: fewer, larger batches


def rest_after(taken: int, busy: float) -> float:
    """Seconds Kafka's thread rests after a batch of ``taken`` records that took
    ``busy`` seconds to handle.

    - A full batch (a backlog): BACKLOG_REST of the time it took.  Without the rest,
      draining a backlog held the GIL so much that the CP loop answered frames seconds
      late and CPs dropped their links (100,000 records at once: hundreds of 2,000).
    - Several records (steady load): GATHER, so that the next batch is larger: fewer
      wake-ups, each of which takes the GIL from the CP loop and finds cold caches.
    - One record or none (light traffic): no rest, so a lone record waits for nothing."""
    if taken >= BATCH:
        return busy * BACKLOG_REST
    return GATHER if taken > 1 else 0.0
