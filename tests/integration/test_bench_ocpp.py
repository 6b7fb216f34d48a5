"""``make bench``'s OCPP suite in miniature, so that it cannot rot between benchmark
runs: a real ``ev-central --ocpp`` and a few simulated chargers (bench.ocpp_fleet) over
real WebSockets; every figure is there, every charger connected, the charging ones
counted SUPPLYING, and their transactions billed once."""

from __future__ import annotations

import pytest

from bench import central_ocpp

pytestmark = pytest.mark.integration


def test_the_ocpp_bench_measures_a_small_fleet_and_bills_each_transaction_once():
    lines: list[str] = []
    result = central_ocpp.run(6, probes=2, window=0.5, share=0.5, progress=lines.append,
                              warmup=0.5)
    assert any(line.startswith("  connecting: 6/6 chargers started") for line in lines)
    assert (result["cps"], result["charging"], result["connected"]) == (6, 3, 6)
    assert result["supplying"] == 3
    assert result["samples"] == 2 and result["fault_answered"]["samples"] == 2
    assert result["cpu_percent"] >= 0 and result["rss_mib"] > 10
    billing = result["billing"]
    assert billing["transactions_stopped"] == billing["sessions_ended"] == 3
    assert billing["billed_once"] is True
    assert (result["timeouts"], result["charger_errors"]) == (0, 0)
