"""Per-CP keys on the control plane, against a real ``ev-central`` process and fake
monitors speaking the framed protocol (tests/integration/test_cp_server.py's
FakeMonitor: it unwraps the key of its Welcome and seals every frame after it).

A key revoked during a supply: the supply is ended by Central and the CP told (sealed
with that key), the link closed, the CP out of order "key revoked" while disconnected,
other CPs unaffected; a frame sealed with the revoked key is refused and audited; the
next login brings the CP back, and the supply record the CP kept is billed once, to the
cent.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.parse
import urllib.request

import pytest

from protocol import messages as m
from protocol import seal
from tests.integration.test_cp_server import FakeMonitor, get_json, run
from tests.support import free_port, in_clear, spawn, stop, wait_for, wait_port

pytestmark = pytest.mark.integration
TOKEN = "tok-central-keys"


def call(method: str, url: str, token: str | None = TOKEN) -> tuple[int, object, dict]:
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


@pytest.fixture
def central(tmp_path, output_dir):
    db = tmp_path / "central.db"
    secrets = {}
    for cp_id in ("CP1", "CP2"):
        added = run("cp", "add", cp_id, "--location", f"street {cp_id}", "--price", "0.35",
                    db=db)
        assert added.returncode == 0, added.stderr
        secrets[cp_id] = added.stdout.strip().splitlines()[-1]
    assert run("driver", "add", "D1", db=db).returncode == 0
    listen, http = free_port(), free_port()
    process = spawn(["ev-central", "--listen", f"127.0.0.1:{listen}", "--http",
                     f"127.0.0.1:{http}", "--db", str(db), "--admin-token", TOKEN],
                    output_dir / "central.log")
    try:
        wait_port(listen)
        wait_port(http)
        yield {"address": f"127.0.0.1:{listen}", "url": f"http://127.0.0.1:{http}",
               "secrets": secrets, "log": output_dir / "central.log"}
    finally:
        stop(process)


def online(central, cp_id: str) -> FakeMonitor:
    monitor = FakeMonitor(central["address"], cp_id)
    welcome = monitor.login(central["secrets"][cp_id])
    assert isinstance(welcome, m.Welcome) and welcome.key_id == monitor.key.key_id
    monitor.heartbeat()
    wait_for(lambda: view(central, cp_id)["state"] == "ACTIVATED", 3)
    return monitor


def view(central, cp_id: str) -> dict:
    return get_json(f"{central['url']}/api/cps/{cp_id}")


def audit(central, **query) -> list[dict]:
    status, rows, _ = call("GET", f"{central['url']}/api/audit?" + urllib.parse.urlencode(
        {"limit": 1000, **query}))
    assert status == 200
    return rows


def test_revoke_during_a_supply_then_log_in_again_bills_it_once(central):
    monitor, other = online(central, "CP1"), online(central, "CP2")
    old_key = monitor.key
    monitor.send(m.SupplyRequest(cp_id="CP1", source="card", driver_id="D1"))
    command = monitor.expect(m.Command)
    session_id = command.session_id
    started = m.SupplyStarted(cp_id="CP1", session_id=session_id, started_at=m.utc_now(),
                              price_eur_kwh="0.35", driver_id="D1")
    monitor.send(started)
    assert monitor.expect(m.RecordAck).ref == started.id
    monitor.heartbeat(state="supplying", session_id=session_id, driver_id="D1")
    wait_for(lambda: view(central, "CP1")["state"] == "SUPPLYING", 3)

    assert call("DELETE", f"{central['url']}/api/cps/CP1/key", token=None)[0] == 401
    status, revoked, _ = call("DELETE", f"{central['url']}/api/cps/CP1/key")
    assert status == 200 and revoked["stop_reasons"] == ["key revoked"]
    end = monitor.expect(m.Command, 3)  # opened with the key: sealed with it
    assert (end.action, end.session_id, end.reason) == ("end_supply", session_id, "key revoked")
    assert monitor.expect(m.KeyRevoked, 3).reason == "key revoked"
    wait_for(lambda: monitor.closed, 3)
    shown = wait_for(lambda: (v := view(central, "CP1"))["key_id"] is None and v, 3)
    assert (shown["state"], shown["stop_reasons"]) == ("STOPPED", ["key revoked"])
    assert view(central, "CP2")["state"] == "ACTIVATED"  # other CPs unaffected
    other.heartbeat()

    # a frame sealed with the revoked key, on a new link after a new login: refused
    intruder = FakeMonitor(central["address"], "CP1")
    assert isinstance(intruder.login(central["secrets"]["CP1"]), m.Welcome)
    assert intruder.key.key_id != old_key.key_id
    assert view(central, "CP1")["stop_reasons"] == []  # the login lifted 'key revoked'
    intruder.conn.codec = seal.SealingCodec(m.CONTROL_CODEC, "CP1", old_key)
    ended = m.SupplyEnded(cp_id="CP1", session_id=session_id, started_at=started.started_at,
                          ended_at=m.utc_now(), kwh="2.347", eur="0.82145",
                          price_eur_kwh="0.35", reason="key revoked", driver_id="D1")
    intruder.send(ended)
    wait_for(lambda: intruder.closed, 8)  # NAKed, retransmitted, dropped
    [mismatch, *_] = wait_for(lambda: audit(central, action="key mismatch", cp_id="CP1"), 3)
    assert mismatch["params"]["plane"] == "control" and mismatch["outcome"] == "refused"
    [session] = get_json(f"{central['url']}/api/sessions?cp_id=CP1")
    assert session["status"] != "ended"  # nothing applied
    assert view(central, "CP1")["key_problems"] >= 1

    # re-authentication: the record the CP kept is billed once, to the cent
    back = FakeMonitor(central["address"], "CP1")
    welcome = back.login(central["secrets"]["CP1"])
    assert welcome.enabled
    for _ in range(2):
        back.send(ended)
        assert back.expect(m.RecordAck, 3).session_id == session_id
    back.heartbeat()
    wait_for(lambda: view(central, "CP1")["state"] == "ACTIVATED", 3)
    [session] = get_json(f"{central['url']}/api/sessions?cp_id=CP1")
    assert (session["status"], session["kwh"], session["eur"]) == ("ended", "2.347", "0.82145")

    actions = [row["action"] for row in reversed(audit(central, cp_id="CP1"))]
    assert actions.count("key issued") == 3 and "key revoked" in actions
    assert actions.index("key revoked") < actions.index("key mismatch")
    text = central["log"].read_text() + json.dumps(audit(central))
    for key in (old_key, intruder.key, back.key):
        assert not any(secret in text for secret in in_clear(key.secret))
    for secret in central["secrets"].values():
        assert secret not in text
    for monitor in (other, back, intruder):
        monitor.close()


def test_plain_frames_after_login_are_refused(central):
    monitor = FakeMonitor(central["address"], "CP1")
    assert isinstance(monitor.login(central["secrets"]["CP1"]), m.Welcome)
    monitor.conn.codec = m.CONTROL_CODEC
    monitor.heartbeat()
    wait_for(lambda: monitor.closed, 8)
    rows = wait_for(lambda: audit(central, action="key mismatch"), 3)
    assert all("heartbeat not sealed" in row["params"]["reason"] for row in rows)
    assert rows[0]["cp_id"] == "CP1" and rows[0]["source"].startswith("127.0.0.1:")
    wait_for(lambda: view(central, "CP1")["state"] == "DISCONNECTED", 3)


def test_a_cp_deregistered_by_another_process_is_dropped_within_a_second(central, tmp_path):
    monitor, other = online(central, "CP1"), online(central, "CP2")
    db = sqlite3.connect(tmp_path / "central.db")  # what ev-registry does on DELETE
    with db:
        db.execute("DELETE FROM cps WHERE id = ?", ["CP2"])
    db.close()
    started = time.monotonic()
    wait_for(lambda: other.closed, 3)
    assert time.monotonic() - started < 1.5
    assert call("GET", f"{central['url']}/api/cps/CP2")[0] == 404
    again = FakeMonitor(central["address"], "CP2")
    refused = again.login(central["secrets"]["CP2"])
    assert isinstance(refused, m.Refused) and refused.reason == "CP CP2 is not registered"
    monitor.heartbeat()
    assert view(central, "CP1")["state"] == "ACTIVATED"  # other CPs unaffected
    monitor.close()
