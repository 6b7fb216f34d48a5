"""``ev-cp-m``: the charging point's monitor.

    ev-cp-m --cp-id ID (--engine HOST:PORT | --serial URL) [--central HOST:PORT]
            --secret-file PATH [--location TEXT]

Every flag also comes from ``/etc/evcharging/monitor.toml`` and ``EV_*`` variables.
"""

from __future__ import annotations

import argparse
import logging

from protocol.messages import CP_ID, MAX_TEXT
from runtime import config, logs, systemd
from runtime.entry import console_script
from runtime.signals import StopRequest

from .display import MonitorStatus
from .service import Monitor

log = logging.getLogger(__name__)

PROG = "ev-cp-m"
DEFAULT_CENTRAL = "127.0.0.1:7000"


def build_parser() -> config.Parser:
    parser = config.Parser(
        prog=PROG,
        description="Charging point monitor: checks the engine's health every second and "
        "keeps the authenticated link to Central.",
    )
    parser.add_argument("--cp-id", metavar="ID", help="this charging point's id (required)")
    parser.add_argument("--engine", metavar="HOST:PORT", type=config.address,
                        help="the engine's monitor socket")
    parser.add_argument("--serial", metavar="URL", help="the engine's serial line instead")
    parser.add_argument(
        "--central", metavar="HOST:PORT", type=config.address, default=DEFAULT_CENTRAL,
        help=f"Central's CP socket (default {DEFAULT_CENTRAL})",
    )
    parser.add_argument(
        "--secret-file", metavar="PATH", help="file holding the CP's secret (required)"
    )
    parser.add_argument("--location", metavar="TEXT", help="where the CP is, shown by Central")
    return parser


def check(parser: config.Parser, args: argparse.Namespace) -> None:
    """Errors that argparse cannot see once values may come from a file or the environment."""
    if not args.cp_id:
        parser.error("--cp-id is required")
    if not CP_ID.match(args.cp_id):
        parser.error(f"--cp-id {args.cp_id!r} is not a valid id (letters, digits, _ . -)")
    if bool(args.engine) == bool(args.serial):
        parser.error("give exactly one of --engine HOST:PORT or --serial URL")
    if not args.secret_file:
        parser.error("--secret-file is required")
    if args.location is not None and len(args.location) > MAX_TEXT:
        parser.error(f"--location is longer than {MAX_TEXT} characters")


@console_script
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = config.parse(parser, argv, "monitor")
    check(parser, args)
    secret = config.read_secret_file(args.secret_file, "secret file", PROG)
    display = MonitorStatus(args.cp_id)
    logs.setup(status=display.line)
    stop = StopRequest()
    stopping = stop.event
    monitor = Monitor(
        cp_id=args.cp_id,
        engine=args.engine or args.serial,
        serial=bool(args.serial),
        central=args.central,
        secret=secret,
        location=args.location,
        display=display,
    ).start()
    systemd.ready(f"monitor {args.cp_id} running")
    while not stopping.wait(0.5):
        pass
    log.info("stopping on %s", stop.name or "request")
    systemd.stopping()
    monitor.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
