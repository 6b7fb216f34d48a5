"""Helpers for tests that start real processes on loopback ports."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


_PORTS = None


def free_port() -> int:
    """A free loopback port outside the ephemeral range (see sim.network.free_ports)."""
    global _PORTS
    if _PORTS is None:
        from sim.network import free_ports

        _PORTS = free_ports()
    return next(_PORTS)


# Service-level latency bounds (the README's promises: BROKEN within 1.5 s, ...) are
# checked by tests marked ``latency``, through bound(): on a slow or loaded machine set
# EV_TEST_LATENCY_SCALE (e.g. 2) rather than loosen a test.  The figures themselves are
# measured by `make bench`.
LATENCY_SCALE = float(os.environ.get("EV_TEST_LATENCY_SCALE", "1"))


def bound(seconds: float) -> float:
    """A latency bound of ``seconds`` on a reference machine, scaled for this one."""
    return seconds * LATENCY_SCALE


def missing(message: str) -> NoReturn:
    """What a test needs is not installed: under CI=true a failure, never a silent skip."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (required under CI=true)")
    pytest.skip(message)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02):
    """Poll until ``predicate()`` is truthy; return its value or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_port(port: int, timeout: float = 10.0) -> None:
    def accepting() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for(accepting, timeout)


def spawn(args: list[str], log_path: Path, **env: str) -> subprocess.Popen:
    """Start a console script of this project (``ev-...``) with output to a file."""
    environment = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock", "PYTHONUNBUFFERED": "1", **env}
    exe = str(BIN / args[0])
    out = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([exe, *args[1:]], stdout=out, stderr=subprocess.STDOUT, env=environment)


def stop(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """End a process we started (SIGCONT first in case a test froze it)."""
    if process.poll() is not None:
        return
    try:
        os.kill(process.pid, 18)  # SIGCONT
        process.terminate()
        process.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        process.kill()
        process.wait(timeout)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "2", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert))
    return key, cert


def make_certificates(folder: Path) -> dict[str, Path]:
    """With openssl: a site CA (``ca``), a broker certificate for 127.0.0.1 it signed
    (``cert``, ``key``) and an unrelated CA (``stranger``)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca(folder, "site-ca")
    _, stranger = _ca(folder, "stranger-ca")
    key, cert = folder / "broker.key", folder / "broker.crt"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost", "-CA", str(ca), "-CAkey", str(ca_key),
             "-keyout", str(key), "-out", str(cert))
    return {"ca": ca, "stranger": stranger, "key": key, "cert": cert}


CLEAR_LINE = "\r\x1b[K"


def screen(output: str) -> tuple[list[str], str]:
    """What a terminal shows of ``output`` that uses only ``CLEAR_LINE`` and newlines:
    the finished lines and the line under the cursor."""
    lines, current = [], ""
    for n, part in enumerate(output.replace("\r\n", "\n").split(CLEAR_LINE)):
        if n:
            current = ""  # each CLEAR_LINE wipes the line under the cursor
        *done, current = (current + part).split("\n")
        lines += done
    return lines, current


def read_pty(fd: int, seconds: float) -> str:
    """Everything a program writes to its terminal for ``seconds``."""
    import select

    chunks, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunks.append(os.read(fd, 65536))
            except OSError:
                break
    return b"".join(chunks).decode(errors="replace")


@contextmanager
def served(app) -> Iterator[str]:
    """A WSGI ``app`` served by werkzeug on a free loopback port in a thread; yields its
    ``host:port``, and shuts it down on the way out."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def tampered(envelope: bytes) -> bytes:
    """A sealed envelope with the last bit of its ciphertext flipped: it no longer opens."""
    body = json.loads(envelope)
    ct = bytearray(base64.b64decode(body["ct"]))
    ct[-1] ^= 0x01
    return json.dumps({**body, "ct": base64.b64encode(bytes(ct)).decode()}).encode()


def in_clear(secret: bytes) -> tuple[str, ...]:
    """How a key's secret would read in a log, a record or a letter: hex or base64."""
    return (secret.hex(), base64.b64encode(secret).decode(),
            base64.urlsafe_b64encode(secret).rstrip(b"=").decode())
