"""The monitor's terminal keys on a real terminal (a pty): after Central revokes the key
the status line says what to do, and ``a`` logs in again with a new key."""

from __future__ import annotations

import os
import pty
import subprocess
import time

import pytest

from protocol import messages as m
from tests.integration.test_monitor import CP, SECRET, FakeCentral, FakeEngine
from tests.support import BIN, free_port, read_pty, screen, stop

pytestmark = pytest.mark.integration

REVOKED = "key revoked by Central: press a to re-authenticate (or run ev-cp-m reauth)"


class Terminal:
    def __init__(self, args: list[str]) -> None:
        self.main, sub = pty.openpty()
        self.process = subprocess.Popen([str(BIN / args[0]), *args[1:]], stdin=sub,
                                        stdout=sub, stderr=sub,
                                        env={**os.environ, "TERM": "xterm"})
        os.close(sub)
        self.output = ""

    def until(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(*screen(self.output)):
            if time.monotonic() > deadline:
                lines, current = screen(self.output)
                raise AssertionError("\n".join([*lines[-8:], current]))
            self.output += read_pty(self.main, 0.1)

    def press(self, key: str) -> None:
        os.write(self.main, key.encode())

    def close(self) -> None:
        stop(self.process)
        self.output += read_pty(self.main, 0.3)
        os.close(self.main)


@pytest.fixture
def peers():
    engine, central = FakeEngine(free_port()).start(), FakeCentral(free_port()).start()
    yield engine, central
    engine.close()
    central.close()


def test_revoked_then_a_re_authenticates_and_q_quits(tmp_path, peers):
    engine, central = peers
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    terminal = Terminal(["ev-cp-m", "--cp-id", CP, "--engine", engine.address, "--central",
                         central.address, "--secret-file", str(secret_file)])
    try:
        terminal.until(lambda lines, current: len(central.keys) == 1
                       and f"key {central.keys[0].key_id}" in current)
        assert any("keys: a=re-authenticate r=register d=deregister q=quit" in line
                   for line in screen(terminal.output)[0])
        central.revoke()
        terminal.until(lambda lines, current: REVOKED in current)
        time.sleep(1.0)
        assert len(central.keys) == 1  # no login by itself
        terminal.press("d")  # no registry flags: a warning, nothing else
        terminal.until(lambda lines, current: any(
            "the registry keys need --registry" in line for line in lines))
        terminal.press("a")
        terminal.until(lambda lines, current: len(central.keys) == 2
                       and f"key {central.keys[1].key_id}" in current)
        terminal.until(lambda lines, current: any(
            "re-authentication: logged in to Central" in line for line in lines))
        assert engine.of(m.KeyRevoked) and len(engine.of(m.KeyIssued)) == 2
        terminal.press("q")
        assert terminal.process.wait(10) == 0
    finally:
        terminal.close()
    assert "Traceback" not in terminal.output and SECRET not in terminal.output
    for key in central.keys:
        assert key.secret.hex() not in terminal.output
