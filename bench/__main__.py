"""``make bench``: print the figures the issues ask for.

    python -m bench                 # everything
    python -m bench fault edge      # some of it
    python -m bench central --cps 500
"""

from __future__ import annotations

import argparse
import json
import sys

from bench import central_fleet, edge_footprint, fault_latency

SUITES = {
    "central": "Central with N CPs at 1 Hz heartbeats: CPU, RSS, fault -> REST lag",
    "fault": "fault button -> dashboard BROKEN, one real engine + monitor",
    "edge": "engine + monitor RSS and idle CPU",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=", ".join(SUITES))
    parser.add_argument("--cps", type=int, default=2000)
    args = parser.parse_args(argv)
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suite {sorted(unknown)[0]!r}; choose from {', '.join(SUITES)}")
    for suite in args.suites or SUITES:
        print(f"== {suite}: {SUITES[suite]}", flush=True)
        if suite == "central":
            result = central_fleet.run(args.cps, progress=lambda s: print(s, flush=True))
        elif suite == "fault":
            result = fault_latency.run()
        else:
            result = edge_footprint.run()
        print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    sys.exit(main())
