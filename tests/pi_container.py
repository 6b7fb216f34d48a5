"""A stand-in for a freshly flashed Raspberry Pi: Debian bookworm booted with real systemd
as PID 1 by ``systemd-nspawn -b``, configured on first boot by cloud-init from the seed
that ``ansible/firstboot.py`` writes, and reachable over SSH like a Pi on the network.

The OS tree is built once with debootstrap (about a minute) and kept in
``~/.cache/evcharging/`` (``EV_CACHE`` moves it); each boot mounts it read-only under a
tmpfs overlay (``--volatile=overlay``), so every test starts from a blank card. The
container shares the host's network: everything in it listens on 127.0.0.1 ports the
test picked. No GPIO and no ARM, but the same systemd, cloud-init, sshd, sudo, apt, pip
and Mosquitto as a Pi, and a blank machine the playbook has never seen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

SUITE = "bookworm"  # Raspberry Pi OS releases follow Debian's
PACKAGES = ("systemd,systemd-sysv,dbus,python3,python3-venv,python3-pip,openssh-server,sudo,"
            "mosquitto,ca-certificates")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def missing_tools() -> list[str]:
    return [tool for tool in ("systemd-nspawn", "debootstrap", "ssh", "ssh-keygen")
            if shutil.which(tool) is None]


def cache_dir() -> Path:
    return Path(os.environ.get("EV_CACHE", Path.home() / ".cache" / "evcharging"))


def _mirror() -> str:
    return os.environ.get("EV_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def _run(args: list[str], log: Path, timeout: float) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(map(str, args))}\n".encode())
        out.flush()
        result = subprocess.run(list(map(str, args)), stdout=out, stderr=subprocess.STDOUT,
                                timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}); see {log}")


def template(log: Path) -> Path:
    """The OS tree (built once): debootstrap, then cloud-init from apt (debootstrap cannot
    resolve its virtual dependencies)."""
    root = cache_dir() / f"{SUITE}-cp"
    if (root / ".evcharging-template").exists():
        return root
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    _run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, partial,
          _mirror()], log, 900)
    script = ("apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q install -y "
              "--no-install-recommends cloud-init && apt-get clean "
              # the mqtt role enables and starts it, on the port the inventory gives
              "&& systemctl disable mosquitto")
    _run(["systemd-nspawn", "-q", "-D", partial, "--register=no", "--keep-unit", "--pipe",
          "/bin/sh", "-c", script], log, 600)
    # cloud-init's locale step needs locales a minbase tree lacks (Pi OS has them)
    (partial / "etc/cloud/cloud.cfg.d/90-evcharging-test.cfg").write_text("locale: false\n")
    (partial / ".evcharging-template").write_text(f"{SUITE} from {_mirror()}\n")
    partial.rename(root)
    return root


class PiContainer:
    def __init__(self, workdir: Path, ssh_port: int, user: str = "pi") -> None:
        self.workdir, self.ssh_port, self.user = workdir, ssh_port, user
        self.key = workdir / "id_ed25519"
        self.console = workdir / "console.log"
        self.process: subprocess.Popen | None = None
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "evcharging-test",
                        "-f", str(self.key)], check=True)

    def boot(self, tree: Path, seed: Path, timeout: float = 120.0) -> float:
        """Boot ``tree`` with ``seed`` as cloud-init's NoCloud seed; seconds until SSH."""
        sshd = self.workdir / "sshd-test.conf"  # cloud-init writes beside it
        sshd.write_text(f"Port {self.ssh_port}\nListenAddress 127.0.0.1\n")
        binds = [f"{seed}:/var/lib/cloud/seed/nocloud",
                 f"{sshd}:/etc/ssh/sshd_config.d/10-test.conf"]
        if HOST_CA.exists():  # pip and apt trust what this host trusts (proxies included)
            pip = self.workdir / "pip.conf"
            pip.write_text("[global]\ncert = /etc/ssl/certs/host-ca-bundle.crt\n")
            binds += [f"{HOST_CA}:/etc/ssl/certs/host-ca-bundle.crt", f"{pip}:/etc/pip.conf"]
        args = ["systemd-nspawn", "-b", "-D", str(tree), "--volatile=overlay",
                # no systemd or machined on the host: keep our own scope, register nowhere
                "--register=no", "--keep-unit", "--console=read-only",
                f"--machine=evcp-{self.ssh_port}", *(f"--bind-ro={b}" for b in binds)]
        started = time.monotonic()
        with self.console.open("wb") as out:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"})
        while self.ssh("true", check=False, timeout=5).returncode != 0:
            if self.process.poll() is not None:
                raise RuntimeError(f"the container stopped; see {self.console}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"no SSH within {timeout} s; see {self.console}")
            time.sleep(0.5)
        return time.monotonic() - started

    @property
    def ssh_args(self) -> list[str]:
        return ["-i", str(self.key), "-p", str(self.ssh_port), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=3"]

    def ssh(self, command: str, check: bool = True, timeout: float = 60.0):
        """Run ``command`` as the Ansible user (sudo for root); stdout as text."""
        result = subprocess.run(["ssh", *self.ssh_args, f"{self.user}@127.0.0.1", command],
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode:
            raise RuntimeError(f"{command!r}: {result.returncode}\n{result.stderr}")
        return result

    def unit(self, name: str, *properties: str) -> dict[str, str]:
        out = self.ssh(f"systemctl show {name} -p {','.join(properties)}").stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def poweroff(self, timeout: float = 60.0) -> None:
        """SIGTERM is nspawn's clean shutdown of the container's systemd."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
