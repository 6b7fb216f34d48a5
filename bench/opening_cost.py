"""What opening the data plane's envelopes costs Central, both kinds in one process.

The supplying benchmark (:mod:`bench.central_supplying`) compares two Centrals, one
without its sealing layer and one with it.  A Central process differs from the next by
8-10 % in how fast it handles the same records, which is as much as what it measures.
Here one Central (``bench.plain_central``, plain control plane) takes bursts of plain
and sealed telemetry records in turn, ``pairs`` of each, so that each sealed burst is
compared with the plain one just before it in the same process; ``instances`` such
Centrals in a run.  It measures the data plane's opening only: the control plane's
sealing is in the supplying benchmark's figures, not in these.

    python -c "from bench import opening_cost as o; print(o.run(2000, instances=2))"
"""

from __future__ import annotations

from bench import central_supplying
from bench.central_supplying import BURST_PER_CP, burst
from bench.stats import paired_cost


def alternating(pairs: int):
    """Bursts plain, sealed, plain, sealed ... (``pairs`` of each).  The fleet logged in
    plain, so its links stay plain; what it publishes is sealed while ``sealing`` is set."""

    def take(kafka: str, url: str, fleet, central, progress) -> dict:
        taken: dict[bool, list[dict]] = {False: [], True: []}
        for n in range(2 * pairs):
            sealed = n % 2 == 1
            for cp in fleet:
                cp.sealing = sealed
            taken[sealed].append(burst(kafka, url, fleet, BURST_PER_CP, central, progress))
        for cp in fleet:
            cp.sealing = False
        return {"plain_bursts": taken[False], "sealed_bursts": taken[True]}

    return take


def run(count: int = 2000, instances: int = 2, pairs: int = 3, progress=print) -> dict:
    plain: list[dict] = []
    sealed: list[dict] = []
    dropped = 0
    for n in range(instances):
        progress(f"  Central {n + 1}/{instances}: {pairs} plain and {pairs} sealed bursts")
        result = central_supplying.run(count, 5.0, progress, sealing=False,
                                       bursts=alternating(pairs))
        plain += result["plain_bursts"]
        sealed += result["sealed_bursts"]
        dropped += result["links_dropped"] + result["burst_links_dropped"]
    rates = [[b["burst_msgs_per_s"] for b in bursts] for bursts in (plain, sealed)]
    handling = [[b["burst_handling_us_per_record"] for b in bursts] for bursts in (plain, sealed)]
    return {"cps": count, "centrals": instances, "pairs_each": pairs, "links_dropped": dropped,
            "burst_msgs_per_s_plain": rates[0], "burst_msgs_per_s_sealed": rates[1],
            "handling_us_per_record_plain": handling[0],
            "handling_us_per_record_sealed": handling[1],
            "burst_cost_by_pair": paired_cost(*rates),
            "handling_cost_by_pair": paired_cost(*([1 / u for u in us] for us in handling))}
