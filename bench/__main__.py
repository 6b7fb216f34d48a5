"""``make bench``: print the figures the issues ask for (not pass/fail).

    python -m bench                     # everything
    python -m bench fault edge          # some of it
    python -m bench central --cps 500
    python -m bench ocpp --cps 200
"""

from __future__ import annotations

import argparse
import json
import sys

from bench import (
    api_lists,
    bridge_throughput,
    central_fleet,
    central_ocpp,
    central_supplying,
    data_plane,
    edge_footprint,
    edge_sealing,
    fault_latency,
    opening_cost,
    registry_https,
    sealing,
)

SUITES = {
    "central": "Central with N CPs at 1 Hz heartbeats: CPU, RSS, fault -> REST lag",
    "ocpp": "Central with N OCPP 1.6J chargers (20 % charging) beside N framed CPs: "
            "CPU, RSS, fault -> REST lag, billing",
    "fault": "fault button -> dashboard BROKEN, one real engine + monitor",
    "edge": "engine + monitor RSS and idle CPU",
    "engine-sealing": "seal() per message; engine CPU supplying, every MQTT payload sealed",
    "bridge": "bridge MQTT -> Kafka against a bare MQTT subscriber, zero loss",
    "driver": "driver request -> accepted over Kafka",
    "telemetry": "telemetry -> dashboard, engine to browser event",
    "supplying": "Central, N CPs supplying, 1 Hz telemetry each: without and with sealing",
    "sealing": "what sealing costs per message: Central's opening, the engine's sealing",
    "opening": "one Central, N CPs, plain and sealed bursts in turn: what opening costs",
    "registry": "ev-registry over HTTPS: register, read, update; read with mutual TLS (p50/p99)",
    "api": "Central's REST list endpoints with 10,000 CPs registered (p50/p99)",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=", ".join(SUITES))
    parser.add_argument("--cps", type=int, default=2000)
    args = parser.parse_args(argv)
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suite {sorted(unknown)[0]!r}; choose from {', '.join(SUITES)}")
    progress = lambda text: print(text, flush=True)  # noqa: E731
    runs = {
        "central": lambda: central_fleet.run(args.cps, progress=progress),
        "ocpp": lambda: central_ocpp.compare(args.cps, progress=progress),
        "fault": fault_latency.run,
        "edge": edge_footprint.run,
        "engine-sealing": edge_sealing.run,
        "bridge": lambda: bridge_throughput.run(30000),
        "driver": data_plane.driver_latency,
        "telemetry": data_plane.telemetry_lag,
        "supplying": lambda: central_supplying.compare(args.cps, progress=progress),
        "sealing": sealing.run,
        "opening": lambda: opening_cost.run(args.cps, progress=progress),
        "registry": registry_https.run,
        "api": lambda: api_lists.run(progress=progress),
    }
    for suite in args.suites or SUITES:
        print(f"== {suite}: {SUITES[suite]}", flush=True)
        print(json.dumps(runs[suite](), indent=2), flush=True)


if __name__ == "__main__":
    sys.exit(main())
