"""Percentiles, state counts and printing for benchmark figures."""

from __future__ import annotations

import statistics
from collections import Counter


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, seconds: list[float]) -> dict:
    """Count, percentiles, mean and max in ms; only the count when nothing was measured."""
    if not seconds:
        return {"name": name, "samples": 0}
    return {
        "name": name,
        "samples": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def paired_cost(without: list[float], with_: list[float]) -> dict:
    """What a change costs, round by round: each round's throughput ``with_`` against
    ``without`` measured beside it, as a percentage lost; their mean and its standard
    error, so that a figure near a limit shows how near.  (Pairing takes out the
    machine's drift between rounds, which is larger than the cost itself.)"""
    costs = [100 * (1 - w / wo) for wo, w in zip(without, with_, strict=True)]
    spread = statistics.stdev(costs) / len(costs) ** 0.5 if len(costs) > 1 else None
    return {"by_round": [round(cost, 1) for cost in costs],
            "mean": round(statistics.fmean(costs), 1),
            "standard_error": None if spread is None else round(spread, 1)}


def pooled_bursts(bursts: list[dict]) -> dict:
    """Several bursts taken by one Central as one: records over seconds, CPU weighted by
    time, handling CPU by record; each burst's rate and handling CPU kept beside it (a
    machine whose speed swings from one burst to the next shows it there)."""
    seconds = sum(burst["burst_s"] for burst in bursts)
    taken = sum(burst["burst_taken"] for burst in bursts)
    handling = sum(burst["burst_handling_us_per_record"] * burst["burst_taken"]
                   for burst in bursts)
    return {"bursts": len(bursts),
            "burst_records": sum(burst["burst_records"] for burst in bursts),
            "burst_taken": taken, "burst_s": round(seconds, 2),
            "burst_cpu_percent": round(sum(burst["burst_cpu_percent"] * burst["burst_s"]
                                           for burst in bursts) / seconds, 1),
            "burst_msgs_per_s": round(taken / seconds),
            "burst_handling_us_per_record": round(handling / max(taken, 1), 2),
            "burst_msgs_per_s_each": [burst["burst_msgs_per_s"] for burst in bursts],
            "burst_handling_us_each": [burst["burst_handling_us_per_record"]
                                       for burst in bursts]}


def state_counts(cps: list[dict]) -> dict[str, int]:
    """How many CPs are in each state, from ``GET /api/cps``, most common first."""
    return dict(Counter(cp["state"] for cp in cps).most_common())


def metric(metrics: str, sample: str) -> float:
    """The value of ``sample`` (a name and its labels) in a ``/metrics`` text; 0 if absent."""
    for line in metrics.splitlines():
        if line.startswith(f"{sample} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def supplying_in(metrics: str) -> int:
    """How many CPs Central's ``/metrics`` text counts as SUPPLYING."""
    return int(metric(metrics, 'evcharging_cps_by_state{state="SUPPLYING"}'))
