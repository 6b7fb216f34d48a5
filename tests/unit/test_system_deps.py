"""scripts/system-deps.sh: what `make demo` and `make test` install, or say to install."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

SCRIPT = ROOT / "scripts" / "system-deps.sh"


def machine(tmp_path: Path, uid: int, *have: str) -> dict[str, str]:
    """A PATH with only ``have`` (and sh's basics), ``id -u`` answering ``uid``, and an
    apt-get that records what it was asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in (*have, "apt-get"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "$0 $*" >> {tmp_path}/calls\n')
        tool.chmod(0o755)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "id").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, "PATH": f"{bin_dir}:/nonexistent", "SYSTEM_DEPS_SBIN": str(tmp_path)}


def run(env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", str(SCRIPT), what], env=env, capture_output=True,
                          text=True, timeout=30)


def test_demo_installs_mosquitto_with_apt_as_root(tmp_path):
    done = run(machine(tmp_path, 0), "demo")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[-1].endswith("apt-get install -y -qq mosquitto")


def test_demo_says_in_one_line_what_to_install_when_it_cannot(tmp_path):
    done = run(machine(tmp_path, 1000), "demo")
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "Mosquitto is missing: the demo falls back to amqtt, which does not keep QoS 1; "
        "install it with sudo apt-get install -y mosquitto"]


@pytest.mark.parametrize("what", ["demo", "test"])
def test_under_ci_a_missing_package_fails(tmp_path, what):
    done = run({**machine(tmp_path, 1000), "CI": "true"}, what)
    assert done.returncode == 1 and "mosquitto" in done.stderr


def test_the_tests_need_more_than_the_demo(tmp_path):
    env = machine(tmp_path, 1000, "mosquitto")
    assert run(env, "demo").stderr == ""
    line = run(env, "test").stderr.strip()
    assert line.endswith("sudo apt-get install -y chromium openssl systemd-container "
                         "debootstrap openssh-client")
