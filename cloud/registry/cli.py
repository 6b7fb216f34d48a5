"""``ev-registry``: the CP registration API over HTTPS, and the site CA's tool.

    ev-registry --tls-cert FILE --tls-key FILE [--listen HOST:PORT] [--db PATH]
                [--enroll-token-file FILE] [--client-ca FILE]
    ev-registry ca init --dir DIR [--name NAME] [--days N]
    ev-registry ca issue --dir DIR --name HOST [--name HOST ...] [--client] [--days N]
                [--force]

The registry serves HTTPS only and shares Central's SQLite file (``--db``, on the same
host).  Callers prove themselves with the site's enrollment token (bearer, read from
``--enroll-token-file``) or a client certificate signed by ``--client-ca`` whose common
name is the CP id; at least one of the two must be configured.
"""

from __future__ import annotations

import argparse
import logging
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path

from protocol.transport import parse_address
from runtime import config, listening, logs, signals, systemd
from runtime.entry import console_script

log = logging.getLogger("cloud.registry")
PROG = "ev-registry"
MIN_TOKEN = 16


def _address(text: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> config.Parser:
    parser = config.Parser(prog=PROG, description="EV charging network CP registry (HTTPS)")
    parser.add_argument("--listen", type=_address, default="127.0.0.1:8443",
                        metavar="HOST:PORT", help="HTTPS address (default 127.0.0.1:8443)")
    parser.add_argument("--db", default="./central.db", metavar="PATH",
                        help="Central's SQLite file (shared, same host)")
    parser.add_argument("--tls-cert", metavar="FILE", help="the registry's certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")
    parser.add_argument("--client-ca", metavar="FILE",
                        help="CA whose client certificates (CN = CP id) may act on their CP")
    parser.add_argument("--enroll-token-file", metavar="FILE",
                        help="file holding the site's enrollment token (bearer)")
    commands = parser.add_subparsers(dest="command", parser_class=config.Parser)
    ca = commands.add_parser("ca", help="the site CA").add_subparsers(
        dest="ca_command", required=True, parser_class=config.Parser)
    init = ca.add_parser("init", help="create the CA's key and certificate in DIR")
    init.add_argument("--dir", required=True, metavar="DIR")
    init.add_argument("--name", default="evcharging site CA", help="the CA's common name")
    init.add_argument("--days", type=int, default=3650)
    issue = ca.add_parser("issue", help="a server certificate (SAN for each --name) or, "
                          "with --client, a CP's client certificate (CN = CP id)")
    issue.add_argument("--dir", required=True, metavar="DIR")
    issue.add_argument("--name", required=True, action="append", metavar="HOST",
                       help="host name or IP address (repeatable); with --client, the CP id")
    issue.add_argument("--client", action="store_true")
    issue.add_argument("--days", type=int, default=825)
    issue.add_argument("--force", action="store_true", help="replace existing files")
    return parser


@console_script
def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv, "registry")
    logs.setup()
    if args.command == "ca":
        return _ca(args)
    return serve(args)


def _ca(args: argparse.Namespace) -> int:
    from cloud.registry import ca

    folder = Path(args.dir)
    now = datetime.now(UTC)
    try:
        if args.ca_command == "init":
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if (folder / "ca.key").exists():
                raise ca.CaError(f"{folder / 'ca.key'} exists: not overwritten")
            authority = ca.new_ca(args.name, now, args.days)
            ca.write_private(folder / "ca.key", ca.pem_key(authority.key))
            ca.write_public(folder / "ca.crt", ca.pem_cert(authority.cert))
            print(f"site CA '{args.name}': {folder / 'ca.crt'} (give it to every client), "
                  f"key {folder / 'ca.key'} (0600, keep it private)")
            return 0
        authority = ca.load_ca(folder)
        if args.client:
            if len(args.name) != 1:
                raise ca.CaError("a client certificate names one CP: give --name once")
            issued = ca.issue_client(authority, args.name[0], now, args.days)
        else:
            issued = ca.issue_server(authority, args.name, now, args.days)
        stem = folder / args.name[0]
        ca.write_private(stem.with_name(stem.name + ".key"), ca.pem_key(issued.key), args.force)
        ca.write_public(stem.with_name(stem.name + ".crt"), ca.pem_cert(issued.cert), args.force)
    except ca.CaError as error:
        config.fail(str(error), PROG)
    except OSError as error:
        config.fail(f"cannot write in {folder}: {error.strerror or error}", PROG)
    kind = f"client certificate for CP {args.name[0]}" if args.client else \
        f"server certificate for {', '.join(args.name)}"
    print(f"{kind}: {stem}.crt, key {stem}.key (0600)")
    return 0


def _credentials(args: argparse.Namespace) -> tuple[ssl.SSLContext, str | None]:
    from cloud.registry.server import tls_context

    if not args.tls_cert or not args.tls_key:
        config.fail("HTTPS only: --tls-cert and --tls-key are required "
                    "(make them with `ev-registry ca issue`)", PROG)
    token = None
    if args.enroll_token_file:
        token = config.read_secret_file(args.enroll_token_file, "enrollment token file", PROG)
        if len(token) < MIN_TOKEN:
            config.fail(f"the enrollment token in {args.enroll_token_file} is too short "
                        f"(at least {MIN_TOKEN} characters)", PROG)
    elif not args.client_ca:
        config.fail("no caller could prove itself: give --enroll-token-file, --client-ca "
                    "or both", PROG)
    try:
        return tls_context(args.tls_cert, args.tls_key, args.client_ca), token
    except FileNotFoundError as error:
        config.fail(f"cannot read {error.filename}: {error.strerror}", PROG)
    except (OSError, ssl.SSLError, ValueError) as error:
        which = "--client-ca" if args.client_ca and "verify" in str(error).lower() else \
            "--tls-cert/--tls-key"
        config.fail(f"{which} unusable: {getattr(error, 'reason', None) or error}", PROG)




def serve(args: argparse.Namespace) -> int:
    from cloud.central.store import Store
    from cloud.registry.api import untrusted_certificate
    from cloud.registry.app import create_app
    from cloud.registry.server import RegistryServer

    context, token = _credentials(args)
    host, port = args.listen
    try:
        store = Store(args.db)
    except Exception as error:  # sqlite3 errors: unreadable file, not a database...
        config.fail(f"cannot open database {args.db}: {error}", PROG)
    try:
        listener = listening.bind(host, port)
    except OSError as error:
        store.close()
        config.fail(f"cannot listen on {host}:{port} (--listen): "
                    f"{error.strerror or error}", PROG)
    app = create_app({"STORE": store, "ENROLL_TOKEN": token})
    httpd = RegistryServer(listener, app, context,
                           lambda source, reason: untrusted_certificate(app, source, reason),
                           systemd.Watchdog())
    listener.close()  # the server holds its own duplicate
    signals.shut_down_on_signals(httpd, log)
    ways = " and ".join(w for w, on in (("enrollment token", token),
                                         ("client certificates", args.client_ca)) if on)
    log.info("registry up: https://%s:%s/api/v1/cps/<cp_id> (%s), database %s", host, port,
             ways, args.db)
    print(f"registry: https://{host}:{port}/api/v1/cps/<cp_id>", flush=True)
    systemd.ready(f"HTTPS on {host}:{port}")
    try:
        httpd.serve_forever(poll_interval=0.5)
    finally:
        systemd.stopping()
        httpd.server_close()
        store.close()
        log.info("registry stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
