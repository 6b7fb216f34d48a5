"""Benchmark figures: percentiles, state counts and the SUPPLYING gauge."""

from bench.stats import (
    metric,
    paired_cost,
    pooled_bursts,
    state_counts,
    summary,
    supplying_in,
)
from cloud.central.app import prometheus_text


def test_summary_in_milliseconds():
    figures = summary("lag", [0.010, 0.020, 0.030, 0.040])
    assert figures == {"name": "lag", "samples": 4, "p50_ms": 30.0, "p99_ms": 40.0,
                       "mean_ms": 25.0, "max_ms": 40.0}


def test_a_run_that_measured_nothing_still_has_figures():
    # a collapsed run (no probe ever SUPPLYING) printed a traceback instead of its figures
    assert summary("telemetry -> REST", []) == {"name": "telemetry -> REST", "samples": 0}


def test_paired_cost_round_by_round_with_its_standard_error():
    # rounds at 8,000 and 10,000 records a second without; 10 and 20 % fewer with
    figures = paired_cost([8000, 10000], [7200, 8000])
    assert figures == {"by_round": [10.0, 20.0], "mean": 15.0, "standard_error": 5.0}
    assert paired_cost([100], [88])["standard_error"] is None  # one round: no spread


def test_state_counts_most_common_first():
    cps = [{"state": "SUPPLYING"}, {"state": "DISCONNECTED"}, {"state": "SUPPLYING"}]
    assert list(state_counts(cps).items()) == [("SUPPLYING", 2), ("DISCONNECTED", 1)]
    assert state_counts([]) == {}


def test_supplying_read_from_centrals_metrics():
    text = prometheus_text({'cps_by_state{state="SUPPLYING"}': 4998,
                            'cps_by_state{state="DISCONNECTED"}': 2, "heartbeats_total": 7})
    assert supplying_in(text) == 4998
    assert supplying_in(prometheus_text({"heartbeats_total": 7})) == 0


def test_a_metric_is_read_by_its_whole_sample_name():
    text = prometheus_text({"telemetry_consumed_total": 12, "telemetry_consumed_late": 3})
    assert metric(text, "evcharging_telemetry_consumed_total") == 12.0
    assert metric(text, "evcharging_telemetry_consumed") == 0.0
    assert metric(text, "evcharging_heartbeats") == 0.0


def test_bursts_pool_as_records_over_seconds_not_a_mean_of_rates():
    def burst(taken, seconds, cpu, handling):
        return {"burst_records": 100, "burst_taken": taken, "burst_s": seconds,
                "burst_cpu_percent": cpu, "burst_msgs_per_s": round(taken / seconds),
                "burst_handling_us_per_record": handling}
    pooled = pooled_bursts([burst(100, 10.0, 60.0, 40.0), burst(100, 30.0, 80.0, 60.0),
                            burst(50, 10.0, 70.0, 10.0)])
    assert pooled == {"bursts": 3, "burst_records": 300, "burst_taken": 250, "burst_s": 50.0,
                      "burst_cpu_percent": 74.0, "burst_msgs_per_s": 5,
                      "burst_handling_us_per_record": 42.0,
                      "burst_msgs_per_s_each": [10, 3, 5],
                      "burst_handling_us_each": [40.0, 60.0, 10.0]}
