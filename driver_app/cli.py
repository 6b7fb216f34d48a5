"""``ev-driver``: a driver's app.

    ev-driver --driver-id ID [--kafka HOST:PORT] [--file PATH [--wait S]] [--state-dir DIR]

Interactive menu without ``--file``; with it, one supply per CP id in the file, a
pause of ``--wait`` seconds after each one ends, then a summary.  Every flag also comes
from ``/etc/evcharging/driver.toml`` and ``EV_*`` variables.  SIGTERM, SIGINT or SIGHUP
ends the app (exit 0), at any moment, Kafka up or not; a supply under way goes on at the
CP and is followed again on restart.

The menu on a terminal has a prompt and a live status line, and its log goes to
``driver.log`` in the state dir (warnings also show on the terminal).  Elsewhere (file
mode, pipes, the journal) log lines go to stderr and progress is printed every 5 s.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import queue
import signal
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

from runtime import config, logs

log = logging.getLogger(__name__)

PROG = "ev-driver"
DEFAULT_KAFKA = "127.0.0.1:9092"
LOG_FILE = "driver.log"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


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
                        help="seconds between supplies in file mode (default 4)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the session in progress is remembered "
                        "(default ./state-driver-<id>)")
    return parser


def check(parser: config.Parser, args: argparse.Namespace) -> None:
    from protocol.messages import DRIVER_ID
    from protocol.transport import parse_address

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
    logs.level()  # a wrong EV_LOG_LEVEL: one line, exit 2


def read_file(path: str) -> list[str]:
    from .plan import read_cp_ids

    try:
        return read_cp_ids(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        config.fail(f"cannot read {path}: {error.strerror or error}", PROG)
    except UnicodeDecodeError:
        config.fail(f"{path} is not UTF-8 text", PROG)
    except ValueError as error:
        config.fail(f"{path}: {error}", PROG)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers below were in place
        return 0


def run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = config.parse(parser, argv, "driver")
    check(parser, args)
    cps = read_file(args.file) if args.file else None
    from .state import StateDir

    store = StateDir(Path(args.state_dir or f"state-driver-{args.driver_id}"))
    try:
        store.open()
    except OSError as error:
        config.fail(f"cannot use state dir {store.path}: {error.strerror or error}", PROG)
    stop = stop_on_signals()
    usable_streams()
    from .screen import Screen

    live = cps is None and sys.stdin.isatty() and sys.stdout.isatty()
    screen = Screen(sys.stdout, live)
    log_file = setup_logs(screen, store.path / LOG_FILE if live else None)
    if log_file:
        screen.line(f"log: {log_file} (warnings show here too)")

    from .app import App
    from .kafka_client import KafkaClient
    from .keyboard import Keyboard, read_lines
    from .plan import FileRun
    from .session import DriverSession

    saved = store.load("session")
    model = DriverSession(args.driver_id, memory=saved.get("session"))
    file_run = FileRun(cps, args.wait, saved.get("file")) if cps else None
    kafka = KafkaClient(args.kafka, args.driver_id, store.load("offsets"))
    commands: queue.Queue | None = None if cps else queue.Queue()
    keyboard = Keyboard(sys.stdin.fileno(), screen, commands) if live else None
    if commands is not None and keyboard is None:
        threading.Thread(target=read_lines, args=(sys.stdin, commands), daemon=True,
                         name="stdin").start()
    app = App(model, kafka, screen, store, file_run)
    with keyboard or nullcontext():
        if keyboard is not None:
            suspend_on_ctrl_z(keyboard, screen)
        code = app.loop(stop.event, commands)
    if stop.name or screen.closed:
        going_on = " (the supply goes on at the CP)" if model.following else ""
        log.info("stopping %s%s", f"on {stop.name}" if stop.name else f"({screen.gone})",
                 going_on)
    kafka.close()
    return code


def stop_on_signals():
    """SIGTERM, SIGINT and SIGHUP (the terminal closed) ask the app to stop."""
    from runtime.signals import StopRequest

    stop = StopRequest()

    def hang_up(signum: int, frame: object) -> None:
        stop.request("SIGHUP")

    signal.signal(signal.SIGHUP, hang_up)
    return stop


def usable_streams() -> None:
    """stdin, stdout and stderr exist (a closed one reads as empty, writes go nowhere)
    and replace what they cannot encode or decode instead of raising."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115
        elif hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass  # a full disk must not put a traceback on the person's screen


def setup_logs(screen, path: Path | None) -> Path | None:
    """Log lines to stderr around the screen's live region; with ``path`` (the menu on a
    terminal) every line goes to that file and only warnings to the terminal.  The file
    in use, or None."""
    from .screen import ScreenHandler

    formatter = logging.Formatter(LOG_FORMAT, "%H:%M:%S")
    terminal = ScreenHandler(screen)
    terminal.setFormatter(formatter)
    handlers: list[logging.Handler] = [terminal]
    if path is not None:
        terminal.setLevel(logging.WARNING)
        try:
            to_file = _QuietFileHandler(path, maxBytes=1_000_000, backupCount=1,
                                        encoding="utf-8")
        except OSError as error:
            screen.line(f"cannot write the log to {path}: {error.strerror or error}; "
                        "warnings show here")
            path = None
        else:
            to_file.setFormatter(formatter)
            handlers.append(to_file)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logs.level())
    return path


def suspend_on_ctrl_z(keyboard, screen) -> None:
    """Ctrl+Z: the terminal's own settings back and the live region off it while the
    shell has it; both again on ``fg``."""
    def suspend(signum: int, frame: object) -> None:
        keyboard.suspend()
        screen.hide()
        os.kill(os.getpid(), signal.SIGSTOP)
        keyboard.resume()  # continued
        screen.show()

    signal.signal(signal.SIGTSTP, suspend)


if __name__ == "__main__":
    raise SystemExit(main())
