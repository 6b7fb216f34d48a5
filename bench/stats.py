"""Percentiles and printing for benchmark figures."""

from __future__ import annotations

import statistics


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, seconds: list[float]) -> dict:
    return {
        "name": name,
        "samples": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }
