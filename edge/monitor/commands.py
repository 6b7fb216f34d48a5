"""``ev-cp-m register``, ``deregister`` and ``reauth``: one line of outcome each, and an
exit code (0 done; 1 the re-authentication failed; 2 anything else: a bad flag, the
registry's refusal, an untrusted certificate, a monitor that cannot be reached), never
a traceback and never a secret."""

from __future__ import annotations

import argparse
import sys

from protocol.messages import CP_ID, MAX_TEXT
from runtime import config

from . import registrar
from .control import ControlUnreachable, ControlVerb, ask, check_loopback
from .registration import RegistryError


def check_cp(parser: config.Parser, args: argparse.Namespace) -> None:
    if not args.cp_id:
        parser.error("--cp-id is required")
    if not CP_ID.match(args.cp_id):
        parser.error(f"--cp-id {args.cp_id!r} is not a valid id (letters, digits, _ . -)")
    if args.location is not None and len(args.location) > MAX_TEXT:
        parser.error(f"--location is longer than {MAX_TEXT} characters")


def register(parser: config.Parser, args: argparse.Namespace) -> int:
    """Register this CP with the site's registry over HTTPS (--registry, --ca, --cp-id,
    --location, --price, and --enroll-token-file or --cert/--key) and write its secret
    file (mode 0600); a registered CP gets its location and price updated.

    Its flags are the monitor's (and may come from monitor.toml)."""
    return _registry(parser, args, "register")


def deregister(parser: config.Parser, args: argparse.Namespace) -> int:
    """Deregister this CP at the site's registry over HTTPS: it can no longer log in to
    Central, which drops its link."""
    return _registry(parser, args, "deregister")


def _registry(parser: config.Parser, args: argparse.Namespace, action: str) -> int:
    check_cp(parser, args)
    if not args.registry:
        parser.error("--registry https://HOST:PORT is required")
    found = registrar.from_args(args, parser.prog)
    try:
        result = found.register() if action == "register" else found.deregister()
    except RegistryError as error:
        config.fail(str(error), parser.prog)
    print(result.text)
    return 0


def reauth(parser: config.Parser, args: argparse.Namespace) -> int:
    """Ask the running monitor, through its --control port, to log in to Central again
    (a new key; after Central revoked the CP's key, its way back) and wait for the outcome.
    """
    if not args.control:
        parser.error("--control HOST:PORT is required (the monitor's control port)")
    try:
        check_loopback(args.control)
    except ValueError as error:
        parser.error(f"--control: {error}")
    try:
        reply = ask(args.control, ControlVerb.REAUTH)
    except ControlUnreachable as error:
        config.fail(f"cannot reach the monitor at {args.control} ({error}): is ev-cp-m "
                    f"running with --control {args.control}?", parser.prog)
    if reply.ok:
        print(reply.text)
        return 0
    sys.stderr.write(f"{parser.prog}: {reply.text}\n")
    return 1


COMMANDS = {"register": register, "deregister": deregister, "reauth": reauth}
