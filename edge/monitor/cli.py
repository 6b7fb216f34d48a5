"""``ev-cp-m``: the charging point's monitor, and its commands.

    ev-cp-m --cp-id ID (--engine HOST:PORT | --serial URL) [--central HOST:PORT]
            --secret-file PATH [--location TEXT] [--control HOST:PORT]
            [--registry https://HOST:PORT --ca FILE (--enroll-token-file F | --cert F --key F)
             --price P]
    ev-cp-m register --registry https://HOST:PORT --cp-id ID --location L --price P
            --ca FILE (--enroll-token-file F | --cert F --key F) [--secret-file PATH]
    ev-cp-m deregister --registry https://HOST:PORT --cp-id ID --ca FILE (...)
    ev-cp-m reauth --control HOST:PORT
    ev-cp-m --cp-id ID (--engine HOST:PORT | --serial URL) --ocpp ws(s)://CSMS/PATH/ID
            [--ocpp-password-file F] [--ca FILE] [--state-dir DIR] [--price P]

Every flag also comes from ``/etc/evcharging/monitor.toml`` and ``EV_*`` variables, for
the commands too (they share the monitor's flags).
"""

from __future__ import annotations

import argparse
import logging
import sys

from runtime import config, logs, systemd
from runtime.entry import console_script
from runtime.signals import StopRequest

from . import commands, ocpp_cli, registrar
from .commands import check_cp
from .console import MonitorKeys, start_keyboard
from .control import ControlServer, check_loopback
from .display import MonitorStatus
from .service import Monitor

log = logging.getLogger(__name__)

PROG = "ev-cp-m"
DEFAULT_CENTRAL = "127.0.0.1:7000"


DESCRIPTION = ("Charging point monitor: checks the engine's health every second and keeps "
               "the authenticated link to Central.")


def build_parser(prog: str = PROG, description: str = DESCRIPTION) -> config.Parser:
    parser = config.Parser(prog=prog, description=description)
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
    parser.add_argument("--control", metavar="HOST:PORT", type=config.address,
                        help="local control port for `ev-cp-m reauth` (loopback only; "
                        "default off)")
    registrar.add_flags(parser)
    ocpp_cli.add_flags(parser)
    return parser


def check(parser: config.Parser, args: argparse.Namespace) -> None:
    """Errors that argparse cannot see once values may come from a file or the environment."""
    check_cp(parser, args)
    if bool(args.engine) == bool(args.serial):
        parser.error("give exactly one of --engine HOST:PORT or --serial URL")
    if not args.secret_file and not args.ocpp:
        parser.error("--secret-file is required (or --ocpp URL)")
    if args.control:
        try:
            check_loopback(args.control)
        except ValueError as error:
            parser.error(f"--control: {error}")


@console_script
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in commands.COMMANDS:
        command = commands.COMMANDS[argv[0]]
        parser = build_parser(f"{PROG} {argv[0]}", command.__doc__.split("\n\n")[0])
        return command(parser, config.parse(parser, argv[1:], "monitor"))
    parser = build_parser()
    args = config.parse(parser, argv, "monitor")
    check(parser, args)
    if args.ocpp:
        display = MonitorStatus(args.cp_id)
        logs.setup(status=display.line)
        return ocpp_cli.run(PROG, args, display)
    registry = registrar.from_args(args, PROG)
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
    )
    control = None
    if args.control:
        try:
            control = ControlServer(args.control, args.cp_id, monitor.reauthenticate,
                                    monitor.status).start()
        except OSError as error:
            config.fail(f"cannot listen on {args.control} (--control): "
                        f"{error.strerror or error}", PROG)
    monitor.start()
    start_keyboard(MonitorKeys(monitor, registry, stopping, monitor.use_secret), stopping)
    systemd.ready(f"monitor {args.cp_id} running")
    while not stopping.wait(0.5):
        pass
    log.info("stopping on %s", stop.name or "request")
    systemd.stopping()
    if control:
        control.close()
    monitor.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
