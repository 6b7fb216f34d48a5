"""The README's path from a blank SD card to a CP on the dashboard, on a machine that
boots real systemd (tests/pi_container.py): cloud-init applies the seed of
ansible/firstboot.py, the playbook logs in over SSH as that user and starts the four
services under systemd, and the CP shows up on Central's REST API, turning BROKEN when
its fault button is pressed. Then what only a real systemd can show: READY and watchdog
notifications, the monitor restarting with the engine, a hung main loop restarted, and
a second playbook run that changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sim.brokers import create_topics, kafka_broker
from tests.integration.test_ansible import (
    ANSIBLE,
    BIN,
    ansible_env,
    build_wheel,
    recap,
    require_register_command,
)
from tests.pi_container import PiContainer, missing_tools, template
from tests.support import ROOT, free_port, missing, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

UNITS = ("ev-central", "ev-bridge", "ev-registry", "ev-cp-e", "ev-cp-m")


def _require_container_tools() -> None:
    if os.geteuid() != 0:
        missing("booting a container needs root")
    if tools := missing_tools():
        missing(f"missing {', '.join(tools)} (apt-get install systemd-container debootstrap)")


class Site:
    """The container as both hosts of an inventory: central1 (Mosquitto, Central, the
    bridge, the registry) and the charging point cp1 (mock GPIO: its buttons are pressed through the
    engine's front panel)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports = {name: free_port() for name in
                      ("ssh", "kafka", "mqtt", "central", "http", "engine", "panel",
                       "registry")}
        self.pi = PiContainer(tmp, self.ports["ssh"])
        wheel = build_wheel(tmp)
        p = self.ports
        self.inventory = tmp / "inventory.yml"
        self.inventory.write_text(f"""---
all:
  vars:
    ansible_user: pi
    ansible_host: 127.0.0.1
    ansible_port: {p['ssh']}
    ansible_ssh_private_key_file: {self.pi.key}
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    ansible_python_interpreter: /usr/bin/python3
    evcharging_central_address: 127.0.0.1
    evcharging_central_port: {p['central']}
    evcharging_mqtt_port: {p['mqtt']}
    evcharging_registry_port: {p['registry']}
    evcharging_credentials_dir: {tmp / 'credentials'}
    wheel_path: {wheel}
  children:
    central:
      hosts:
        central1:
          central_listen: 127.0.0.1:{p['central']}
          central_http: 127.0.0.1:{p['http']}
          central_kafka: 127.0.0.1:{p['kafka']}
          central_registry_listen: 127.0.0.1:{p['registry']}
          mqtt_bind_address: 127.0.0.1
    edge:
      hosts:
        cp1:
          cp_id: CP001
          location: Container bay 1
          price_eur_kwh: "0.35"
          pin_factory: mock
          edge_listen: 127.0.0.1:{p['engine']}
          edge_panel: 127.0.0.1:{p['panel']}
""")

    def firstboot(self) -> Path:
        out = self.tmp / "seeds"
        subprocess.run([sys.executable, str(ANSIBLE / "firstboot.py"), "-i",
                        str(self.inventory), "--ssh-key", f"{self.pi.key}.pub", "--out",
                        str(out)], check=True, capture_output=True)
        return out / "cp1"

    def playbook(self) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(self.inventory),
                               "site.yml"], cwd=ANSIBLE, env=ansible_env(self.tmp),
                              capture_output=True, text=True, timeout=600)

    def cp(self) -> dict | None:
        url = f"http://127.0.0.1:{self.ports['http']}/api/cps/CP001"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return json.load(response)
        except OSError:
            return None

    def state(self) -> str | None:
        return (self.cp() or {}).get("state")

    def panel(self, *words: str) -> dict:
        out = subprocess.run([str(BIN / "ev-cp-e"), "panel", "--panel",
                              f"127.0.0.1:{self.ports['panel']}", *words],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        return json.loads(out[out.index("{"):])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require_container_tools()
    require_register_command()
    tmp = tmp_path_factory.mktemp("pi")
    logs = ROOT / "test-output" / "pi_container"  # kept after the run
    logs.mkdir(parents=True, exist_ok=True)
    tree = template(logs / "template.log")
    site = Site(tmp)
    site.logs = logs
    kafka = kafka_broker(tmp, site.ports["kafka"]).start()
    create_topics(kafka.address)
    try:
        site.boot_seconds = site.pi.boot(tree, site.firstboot())
        site.first = site.playbook()
        (logs / "first-run.log").write_text(site.first.stdout + site.first.stderr)
        assert site.first.returncode == 0, site.first.stdout[-5000:] + site.first.stderr[-2000:]
        yield site
    finally:
        site.pi.poweroff()
        shutil.copy(site.pi.console, logs / "console.log")
        kafka.stop()


def test_cloud_init_applied_the_firstboot_seed(site):
    status = site.pi.ssh("cloud-init status --wait --long", check=False).stdout
    assert "status: done" in status, status + site.pi.ssh(
        "sudo grep -h -i -B2 -A2 'warn\\|error\\|fail' /var/log/cloud-init.log | tail -40").stdout
    assert site.pi.ssh("hostname").stdout.strip() == "cp1"
    groups = site.pi.ssh("id -nG").stdout.split()
    assert {"sudo", "gpio", "dialout"} <= set(groups)
    assert site.pi.ssh("sudo -n true").returncode == 0  # passwordless, for Ansible
    assert "enabled" in site.pi.ssh("systemctl is-enabled ssh").stdout


def test_every_service_runs_under_systemd(site):
    for unit in UNITS:
        props = site.pi.unit(unit, "ActiveState", "SubState", "Type", "NRestarts", "User")
        assert props == {"ActiveState": "active", "SubState": "running", "Type": "notify",
                         "NRestarts": "0", "User": "evcharging"}, (unit, props)
    assert site.pi.ssh("systemctl is-system-running", check=False).stdout.strip() == "running"
    engine = site.pi.unit("ev-cp-e", "MainPID")["MainPID"]
    environ = site.pi.ssh(f"sudo cat /proc/{engine}/environ").stdout.split("\0")
    assert "GPIOZERO_PIN_FACTORY=mock" in environ  # the role's drop-in over the unit's lgpio
    # no reader on /dev/serial0 here: one warning per start, no crash (NRestarts is 0)
    journal = site.pi.ssh("sudo journalctl -u ev-cp-e --no-pager").stdout
    assert journal.count("engine CP001 ready") == 1, journal[-3000:]  # deployed: one start
    assert journal.count("card reader /dev/serial0") == 1, journal[-2000:]


def test_the_cp_reaches_the_dashboard_and_its_fault_button_turns_it_red(site):
    wait_for(lambda: site.state() == "ACTIVATED", 30)
    assert site.cp()["location"] == "Container bay 1"
    site.panel("press", "fault")
    wait_for(lambda: site.state() == "BROKEN", 3)
    site.panel("press", "fault")  # a latching button: pressed again, the fault clears
    wait_for(lambda: site.state() == "ACTIVATED", 3)


def test_restarting_the_engine_restarts_the_monitor(site):
    before = site.pi.unit("ev-cp-m", "MainPID")["MainPID"]
    site.pi.ssh("sudo systemctl restart ev-cp-e")

    def monitor_restarted() -> bool:
        monitor = site.pi.unit("ev-cp-m", "MainPID", "ActiveState")
        return monitor["ActiveState"] == "active" and monitor["MainPID"] not in (before, "0")

    wait_for(monitor_restarted, 20, interval=0.5)
    wait_for(lambda: site.state() == "ACTIVATED", 20)


def test_a_hung_main_loop_is_restarted_by_the_watchdog(site):
    bridge = site.pi.unit("ev-bridge", "MainPID", "NRestarts")
    site.pi.ssh(f"sudo kill -STOP {bridge['MainPID']}")
    wait_for(lambda: site.pi.unit("ev-bridge", "NRestarts")["NRestarts"]
             == str(int(bridge["NRestarts"]) + 1), 25, interval=0.5)
    wait_for(lambda: site.pi.unit("ev-bridge", "ActiveState")["ActiveState"] == "active", 20)
    log = site.pi.ssh("sudo journalctl -u ev-bridge --no-pager").stdout
    assert "Watchdog timeout" in log, log[-2000:]


def test_a_second_playbook_run_changes_nothing(site):
    second = site.playbook()
    (site.logs / "second-run.log").write_text(second.stdout + second.stderr)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-2000:]
    counts = recap(second.stdout)
    assert counts and all(c["changed"] == 0 for c in counts.values()), second.stdout[-3000:]
