"""The README's commands, as written, against a running demo (``ev-sim`` on its
well-known ports), and the commands its printout gives for one more CP."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from sim.network import port_free
from tests.support import BIN, ROOT, missing, wait_for

pytestmark = pytest.mark.integration

WELL_KNOWN = (8000, 7000, 8443, 9092, 1883, 6000, 6100, 6200, 9000)
CHARGE_SECONDS = 3  # how long a simulated vehicle charges here (OCPP-01's supplies)
API = "http://127.0.0.1:8000/api"


def readme_blocks() -> list[list[str]]:
    """The README's ``sh`` blocks: their commands without comments."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [[line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
            for block in blocks]


def block_with(needle: str) -> list[str]:
    return next(block for block in readme_blocks() if any(needle in c for c in block))


def get(path: str):
    with urllib.request.urlopen(API + path, timeout=5) as response:
        return json.load(response)


def state(cp_id: str) -> str:
    return get(f"/cps/{cp_id}")["state"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``ev-sim`` as ``make demo`` runs it (smaller, and with shorter simulated charges),
    in a folder where ``.venv/bin/...`` resolves as it does in the project's root."""
    def taken() -> list[int]:
        return [port for port in WELL_KNOWN if not port_free("127.0.0.1", port)]

    try:  # an ev-sim that test_sim just stopped may hold one for a moment more
        wait_for(lambda: not taken(), 20)
    except TimeoutError:
        missing(f"the demo's well-known ports {taken()} are not free")
    here = tmp_path_factory.mktemp("readme")
    (here / ".venv").symlink_to(BIN.parent)
    out = here / "ev-sim.out"
    process = subprocess.Popen(
        [str(BIN / "ev-sim"), "--cps", "2", "--drivers", "1", "--workdir", str(here / "work"),
         "--charge-seconds", str(CHARGE_SECONDS)],
        cwd=here, stdout=open(out, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: process.poll() is None and "Ctrl+C stops everything" in
                 out.read_text() or process.poll() is not None, 120, 0.2)
        assert process.poll() is None, out.read_text()
        yield here, out
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done


def test_the_panel_walkthrough_works_as_written(demo):
    here, _ = demo
    sessions_before = {s["id"] for s in get("/sessions?cp_id=MAD-01")}
    expected = iter(["BROKEN", "ACTIVATED", "AUTHORIZED", "SUPPLYING", "ACTIVATED", None])
    commands = block_with("127.0.0.1:6100 press fault")
    assert len(commands) == 6
    for command in commands:
        done = shell(command, here)
        want = next(expected)
        if want:
            wait_for(lambda w=want: state("MAD-01") == w, 5)
        else:
            assert json.loads(done.stdout.splitlines()[-1])["state"] == "available"
    ended = [s for s in get("/sessions?cp_id=MAD-01") if s["id"] not in sessions_before]
    assert len(ended) == 1 and ended[0]["status"] == "ended" and ended[0]["driver_id"] is None
    assert float(ended[0]["kwh"]) > 0


def test_the_drivers_file_mode_works_as_written_with_the_demos_driver(demo):
    here, _ = demo
    commands = block_with("--driver-id DRV-YOU --file requests.txt")
    shell(commands[1], here)  # echo MAD-01 > requests.txt
    driver = subprocess.Popen(shlex.split(commands[2]), cwd=here, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: get("/cps/MAD-01")["driver_id"] == "DRV-YOU", 30)
        panel = [str(BIN / "ev-cp-e"), "panel", "--panel", "127.0.0.1:6100", "press", "plug"]
        subprocess.run(panel, check=True, capture_output=True, timeout=30)
        wait_for(lambda: state("MAD-01") == "SUPPLYING", 5)
        subprocess.run(panel, check=True, capture_output=True, timeout=30)
        output, _ = driver.communicate(timeout=60)
    finally:
        driver.kill()
    assert driver.returncode == 0, output
    assert "TICKET" in output and "1 completed" in output


def test_the_key_block_revokes_and_reauthentication_brings_the_cp_back(demo):
    here, out = demo
    token = re.search(r"admin token +(\S+)", out.read_text()).group(1)
    set_token, revoke, reauth = block_with("/api/cps/MAD-01/key")
    assert set_token.startswith("TOKEN=")
    done = subprocess.run(revoke, shell=True, cwd=here, capture_output=True, text=True,
                          timeout=30, env={**os.environ, "TOKEN": token})
    assert done.returncode == 0, done.stderr
    wait_for(lambda: state("MAD-01") == "STOPPED", 5)
    assert "key revoked" in get("/cps/MAD-01")["stop_reasons"]
    shell(reauth, here)
    wait_for(lambda: state("MAD-01") == "ACTIVATED", 10)
    assert "key revoked" not in get("/cps/MAD-01")["stop_reasons"]


def test_the_printed_commands_attach_one_more_cp(demo):
    here, out = demo
    text = out.read_text()
    lines = text[text.index("One more CP by hand"):].splitlines()[1:4]
    add, engine, monitor = (line.strip() for line in lines)
    shell(add, here)
    without_mock_pins = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    processes = [subprocess.Popen(shlex.split(command.rstrip(" &")), cwd=here,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, env=without_mock_pins)
                 for command in (engine, monitor)]
    try:
        wait_for(lambda: any(cp["id"] == "NEW-01" and cp["state"] == "ACTIVATED"
                             for cp in get("/cps")), 30)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def test_the_drivers_menu_works_as_written_with_the_demos_driver(demo):
    """The menu line of the README's driver block, on a real terminal: the CP list."""
    import fcntl
    import pty
    import termios

    from tests.support import read_pty

    here, _ = demo
    menu = block_with("--driver-id DRV-YOU")[0]
    main, sub = pty.openpty()
    driver = subprocess.Popen(shlex.split(menu), cwd=here, stdin=sub, stdout=sub, stderr=sub,
                              start_new_session=True,
                              preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(sub)
    seen = [read_pty(main, 3)]

    def shows(text: str) -> bool:
        seen.append(read_pty(main, 0.2))
        return text in "".join(seen)

    try:
        assert shows("DRV-YOU> "), seen  # the menu's prompt
        os.write(main, b"1\r")
        wait_for(lambda: shows("MAD-01"), 20)
        os.write(main, b"q\r")
        assert driver.wait(10) == 0
    finally:
        driver.kill()
        os.close(main)


def test_the_weather_block_freezes_and_thaws_madrid_as_written(demo):
    here, out = demo
    text = out.read_text()
    sim_file = re.search(r"weather sim file +(\S+)", text).group(1)
    assert f"ev-weather set Madrid -3 --sim-file {sim_file}" in text  # the printout says how
    set_sim, freeze, thaw = block_with("ev-weather set Madrid -3 --sim-file $SIM")
    assert set_sim.startswith("SIM=")
    for command, alerts, wanted in ((freeze, ["Madrid"], "STOPPED"), (thaw, [], "ACTIVATED")):
        done = subprocess.run(command, shell=True, cwd=here, capture_output=True, text=True,
                              timeout=30, env={**os.environ, "SIM": sim_file})
        assert done.returncode == 0, done.stderr
        wait_for(lambda a=alerts: [x["location"] for x in get("/alerts")] == a, 15)
        wait_for(lambda w=wanted: state("MAD-01") == w, 5)
    assert get("/cps/MAD-01")["stop_reasons"] == []
    assert get("/weather")["status"] == "ok"


def test_the_ocpp_charger_is_activated_and_bills_the_first_drivers_supply(demo):
    """OCPP-01 (ev-cp-m --ocpp against Central's OCPP endpoint): the README's commands show
    it ACTIVATED and its sessions; DRV-01's first request is there, and it is billed."""
    here, out = demo
    text = out.read_text()
    assert "URL ws://127.0.0.1:9000/ocpp/OCPP-01, identity OCPP-01" in text
    show, sessions = block_with("/api/cps/OCPP-01")

    def billed() -> list[dict]:
        found = json.loads(shell(sessions, here).stdout)
        return [s for s in found if s["status"] == "ended" and s["driver_id"] == "DRV-01"]

    ended = wait_for(billed, 30, 0.5)[0]
    assert ended["reason"] == "unplugged"
    # 22 kW for 3 s on a 60x clock: 1.1 kWh (more: a meter reading is taken at each end
    # of a second), at OCPP-01's 0.32 EUR/kWh
    kwh, eur = Decimal(str(ended["kwh"])), Decimal(str(ended["eur"]))
    assert Decimal("1.0") <= kwh <= Decimal("1.6"), ended
    assert abs(eur - kwh * Decimal("0.32")) <= Decimal("0.01"), ended
    assert re.search(r"OCPP-01 +ticket for DRV-01: [0-9.]+ kWh", out.read_text())
    wait_for(lambda: json.loads(shell(show, here).stdout)["state"] == "ACTIVATED", 10, 0.2)
    token = re.search(r"admin token +(\S+)", text).group(1)
    ask = urllib.request.Request(
        API + "/cps/OCPP-01/ocpp/get_configuration", method="POST",
        data=json.dumps({"keys": ["MeterValueSampleInterval"]}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(ask, timeout=30) as response:
        keys = json.load(response)["configurationKey"]
    assert [(k["key"], k["value"]) for k in keys] == [("MeterValueSampleInterval", "5")]


def test_a_real_charger_connects_to_the_demo_as_the_readme_says(demo):
    """The README's register block for ACME-07, then a charger (python ``ocpp``) with the
    URL, identity and password the README names: its tile turns ACTIVATED."""
    from tests.integration.ocpp_charger import Charger

    here, out = demo
    site = Path(re.search(r"site CA +(\S+)/ca\.crt", out.read_text()).group(1))
    set_site, register, show = block_with("--cp-id ACME-07 ")
    assert set_site.startswith("SITE=")
    done = subprocess.run(register, shell=True, cwd=here, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "SITE": str(site)})
    assert done.returncode == 0, done.stderr
    password = shell(show, here).stdout.strip()
    readme = (ROOT / "README.md").read_text()
    assert "central system URL to `ws://127.0.0.1:9000/ocpp/ACME-07`" in readme
    charger = Charger("ws://127.0.0.1:9000/ocpp/", "ACME-07", password)
    try:
        assert charger.refused is None
        assert charger.boot().status == "Accepted"
        charger.status("Available")
        wait_for(lambda: state("ACME-07") == "ACTIVATED", 10)
    finally:
        charger.close()
    wait_for(lambda: state("ACME-07") == "DISCONNECTED", 10)
