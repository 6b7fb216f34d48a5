"""Each real service process talks to systemd's notify socket the way its unit expects:
READY=1 once it serves, WATCHDOG=1 again and again from its main loop, STOPPING=1 on
SIGTERM.  The socket here is one the test binds, as systemd would
(``tests/unit/test_systemd_units.py`` proves that the kicks stop when a main loop hangs).
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.support import free_port, spawn, stop

pytestmark = pytest.mark.integration


def _command(name: str, tmp_path) -> list[str]:
    if name == "ev-cp-e":
        return [name, "--cp-id", "CP-SD-1", "--listen", f"127.0.0.1:{free_port()}",
                "--state-dir", str(tmp_path / "state")]
    if name == "ev-cp-m":
        secret = tmp_path / "secret"
        secret.write_text("s" * 32)
        return [name, "--cp-id", "CP-SD-1", "--engine", f"127.0.0.1:{free_port()}",
                "--central", f"127.0.0.1:{free_port()}", "--secret-file", str(secret)]
    if name == "ev-bridge":  # no brokers: its I/O loop turns (and retries) all the same
        return [name, "--mqtt", f"127.0.0.1:{free_port()}", "--kafka",
                f"127.0.0.1:{free_port()}"]
    if name == "ev-registry":
        return [name, "--listen", f"127.0.0.1:{free_port()}", "--db",
                str(tmp_path / "central.db"), *_registry_credentials(tmp_path)]
    return [name, "--listen", f"127.0.0.1:{free_port()}", "--http",
            f"127.0.0.1:{free_port()}", "--db", str(tmp_path / "central.db"),
            "--admin-token", "t" * 24]


def _registry_credentials(folder) -> list[str]:
    """A certificate of a throw-away site CA and an enrollment token."""
    from datetime import UTC, datetime

    from cloud.registry import ca

    issued = ca.issue_server(ca.new_ca("notify test CA", datetime.now(UTC)), ["127.0.0.1"],
                             datetime.now(UTC))
    ca.write_public(folder / "registry.crt", ca.pem_cert(issued.cert))
    ca.write_private(folder / "registry.key", ca.pem_key(issued.key))
    (folder / "token").write_text("t" * 32)
    return ["--tls-cert", str(folder / "registry.crt"), "--tls-key",
            str(folder / "registry.key"), "--enroll-token-file", str(folder / "token")]


@pytest.mark.parametrize("name", ["ev-cp-e", "ev-cp-m", "ev-bridge", "ev-central",
                                  "ev-registry"])
def test_ready_watchdog_and_stopping(name, tmp_path, output_dir):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.1)
        process = spawn(_command(name, tmp_path), output_dir / f"{name}.log",
                        NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
        try:
            got: list[str] = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and got.count("WATCHDOG=1") < 4:
                try:
                    got.append(sock.recv(4096).decode())
                except TimeoutError:
                    assert process.poll() is None, f"{name} ended early"
            ready = [i for i, text in enumerate(got) if text.startswith("READY=1")]
            assert ready, got
            assert got.count("WATCHDOG=1") >= 4, got  # every 0.2 s: half of WATCHDOG_USEC
            process.terminate()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                    text.startswith("STOPPING=1") for text in got):
                try:
                    got.append(sock.recv(4096).decode())
                except TimeoutError:
                    pass
            assert any(text.startswith("STOPPING=1") for text in got), got
            assert process.wait(10) == 0
        finally:
            stop(process)
