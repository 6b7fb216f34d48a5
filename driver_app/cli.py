"""``ev-driver``: a driver's app.

    ev-driver --driver-id ID [--kafka HOST:PORT] [--file PATH [--wait S]] [--state-dir DIR]

Interactive menu without ``--file``; with it, one service per CP id in the file, a
pause of ``--wait`` seconds after each one ends, then a summary.  Every flag also comes
from ``/etc/evcharging/driver.toml`` and ``EV_*`` variables.  SIGTERM or SIGINT ends the
app (exit 0); a supply under way goes on at the CP and is followed again on restart.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
from pathlib import Path

from protocol.messages import DRIVER_ID
from protocol.transport import parse_address
from runtime import config, logs
from runtime.signals import StopRequest

from .app import App, read_lines
from .link import KafkaLink
from .plan import FileRun, read_cp_ids
from .session import DriverSession
from .state import StateDir
from .ui import Screen

log = logging.getLogger(__name__)

PROG = "ev-driver"
DEFAULT_KAFKA = "127.0.0.1:9092"


def build_parser() -> config.Parser:
    parser = config.Parser(prog=PROG, description="A driver's app: ask for supplies at "
                           "charging points and follow them live, over Kafka.")
    parser.add_argument("--kafka", metavar="HOST:PORT", default=DEFAULT_KAFKA,
                        help=f"Kafka bootstrap server (default {DEFAULT_KAFKA})")
    parser.add_argument("--driver-id", metavar="ID", help="this driver's id (required)")
    parser.add_argument("--file", metavar="PATH",
                        help="one CP id per line (blank lines and # comments ignored): "
                        "ask for each in turn instead of showing the menu")
    parser.add_argument("--wait", metavar="S", type=float, default=4.0,
                        help="seconds between services in file mode (default 4)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the session in progress is remembered "
                        "(default ./state-driver-<id>)")
    return parser


def check(parser: config.Parser, args: argparse.Namespace) -> None:
    if not args.driver_id:
        parser.error("--driver-id is required")
    if not DRIVER_ID.match(args.driver_id):
        parser.error(f"--driver-id {args.driver_id!r} is not a valid id (letters, digits, _ . -)")
    try:
        parse_address(args.kafka)
    except ValueError as error:
        parser.error(f"--kafka: {error}")
    if not 0 <= args.wait <= 3600:
        parser.error("--wait must be between 0 and 3600 seconds")


def read_file(path: str) -> list[str]:
    try:
        return read_cp_ids(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        config.fail(f"cannot read {path}: {error.strerror or error}", PROG)
    except UnicodeDecodeError:
        config.fail(f"{path} is not UTF-8 text", PROG)
    except ValueError as error:
        config.fail(f"{path}: {error}", PROG)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = config.parse(parser, argv, "driver")
    check(parser, args)
    cps = read_file(args.file) if args.file else None
    store = StateDir(Path(args.state_dir or f"state-driver-{args.driver_id}"))
    try:
        store.open()
    except OSError as error:
        config.fail(f"cannot use state dir {store.path}: {error.strerror or error}", PROG)
    logs.setup()
    stop = StopRequest()
    stopping = stop.event

    saved = store.load("session")
    model = DriverSession(args.driver_id, memory=saved.get("session"))
    run = FileRun(cps, args.wait, saved.get("file")) if cps else None
    if model.following is not None:
        log.info("remembered a service at %s: asking Central how it went",
                 model.following.cp_id)
    link = KafkaLink(args.kafka, args.driver_id, store.load("offsets"))
    code = 0
    if link.connect(stopping):
        commands: queue.Queue | None = None
        if run is None:
            commands = queue.Queue()
            threading.Thread(target=read_lines, args=(sys.stdin, commands), daemon=True,
                             name="stdin").start()
        app = App(model, link, Screen(sys.stdout), store, run)
        code = app.loop(stopping, commands)
    if stop.name:
        going_on = " (the supply goes on at the CP)" if model.following else ""
        log.info("stopping on %s%s", stop.name, going_on)
    link.close()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
