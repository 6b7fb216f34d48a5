"""Central's live view and operations, driven through its hooks with a fake clock."""

from __future__ import annotations

import queue

import pytest

from cloud.central.fleet import Fleet
from cloud.central.store import Store
from protocol import messages as m

KEYS = {"id", "location", "price_eur_kwh", "state", "driver_id", "kw", "kwh", "eur",
        "session_id", "started_at", "updated_at", "enabled"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Link:
    """A fake CP link: what Central sent, in order."""

    def __init__(self) -> None:
        self.sent: list[m.Message] = []

    def __call__(self, message: m.Message) -> None:
        self.sent.append(message)

    def actions(self) -> list[str]:
        return [x.action for x in self.sent if isinstance(x, m.Command)]


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    store.add_cp("CP1", "Calle Mayor 1", "0.35")
    store.add_cp("CP2", "Campus", "0.40")
    store.add_driver("D1")
    yield store
    store.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def live(store, clock):
    return Fleet(store, clock=clock, wallclock=lambda: "2026-01-02T10:00:00.000Z")


def connect(fleet: Fleet, cp_id: str = "CP1", engine: str = "OK", state: str = "available"):
    link = Link()
    fleet.on_connected(cp_id, link)
    fleet.on_heartbeat(m.Heartbeat(cp_id=cp_id, engine=engine, state=state))
    return link


def drain(subscription: queue.Queue) -> list[dict]:
    events = []
    while not subscription.empty():
        events.append(subscription.get_nowait())
    return events


def test_every_known_cp_starts_disconnected(live):
    cps = live.cps()
    assert [(cp["id"], cp["state"]) for cp in cps] == [("CP1", "DISCONNECTED"),
                                                       ("CP2", "DISCONNECTED")]
    assert all(set(cp) == KEYS for cp in cps)
    assert live.cp("CP1")["price_eur_kwh"] == "0.35"
    assert live.cp("nope") is None


def test_heartbeats_engine_status_and_disconnection(live):
    connect(live)
    assert live.cp("CP1")["state"] == "ACTIVATED"
    live.on_engine_status(m.EngineStatus(cp_id="CP1", engine="KO", reason="fault"))
    assert live.cp("CP1")["state"] == "BROKEN"
    live.on_engine_status(m.EngineStatus(cp_id="CP1", engine="OK"))
    assert live.cp("CP1")["state"] == "ACTIVATED"
    live.on_disconnected("CP1", "connection lost")
    assert live.cp("CP1")["state"] == "DISCONNECTED"
    levels = [(x["level"], x["text"]) for x in live.messages()]
    assert ("error", "engine KO: fault") in levels
    assert ("warning", "disconnected: connection lost") in levels


def test_sweep_disconnects_after_three_silent_seconds(live, clock):
    connect(live)
    clock.now += 2.9
    live.sweep(clock.now)
    assert live.cp("CP1")["state"] == "ACTIVATED"
    clock.now += 0.2
    live.sweep(clock.now)
    assert live.cp("CP1")["state"] == "DISCONNECTED"
    live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="available"))
    assert live.cp("CP1")["state"] == "ACTIVATED"
    assert "no heartbeat for 3 s" in [x["text"] for x in live.messages()]


def test_stop_persists_audits_and_sends_stop_then_resume(live, store):
    link = connect(live)
    view = live.stop("CP1", actor="alice")
    assert view["state"] == "STOPPED" and store.cp("CP1")["enabled"] == 0
    assert link.actions() == ["stop"]
    assert store.audit_log()[0]["actor"] == "alice"
    assert live.resume("CP1", actor="bob")["state"] == "ACTIVATED"
    assert link.actions() == ["stop", "resume"] and store.cp("CP1")["enabled"] == 1
    with pytest.raises(KeyError):
        live.stop("CP9")


def test_stop_all_and_resume_all(live, store):
    connect(live, "CP1")
    assert [cp["state"] for cp in live.stop_all("admin")] == ["STOPPED", "DISCONNECTED"]
    assert {row["enabled"] for row in store.cps()} == {0}
    assert [cp["state"] for cp in live.resume_all("admin")] == ["ACTIVATED", "DISCONNECTED"]


def test_stop_all_and_resume_all_touch_only_the_cps_they_change(live, store):
    links = {"CP1": connect(live, "CP1"), "CP2": connect(live, "CP2")}
    live.stop("CP2", actor="alice")
    before = len(live.messages(500))
    subscription = live.subscribe()

    views = live.resume_all("bob")
    assert [(cp["id"], cp["state"], cp["enabled"]) for cp in views] == [
        ("CP1", "ACTIVATED", True), ("CP2", "ACTIVATED", True)]
    notes = [(x["cp_id"], x["text"]) for x in live.messages(500)[before:]]
    assert notes == [("CP2", "resumed by bob")]
    assert (links["CP1"].actions(), links["CP2"].actions()) == ([], ["stop", "resume"])
    assert [(e["actor"], e["action"], e["cp_id"]) for e in store.audit_log()][0] == (
        "bob", "resume", "CP2")
    assert len(store.audit_log()) == 2
    assert [e["data"]["id"] for e in drain(subscription) if e["event"] == "cp"] == ["CP2"]

    live.stop("CP1", actor="alice")
    before = len(live.messages(500))
    views = live.stop_all("bob")
    assert {cp["state"] for cp in views} == {"STOPPED"}
    assert [(x["cp_id"], x["text"]) for x in live.messages(500)[before:]] == [
        ("CP2", "stopped by bob")]
    assert links["CP1"].actions() == ["stop"]

    live.stop_all("carol")
    assert [x["text"] for x in live.messages(500)[before:]] == ["stopped by bob"]
    assert "carol" not in {e["actor"] for e in store.audit_log()}


def test_the_view_tells_a_stopped_cp_even_when_disconnected(live):
    assert live.cp("CP1")["enabled"] is True
    subscription = live.subscribe()
    view = live.stop("CP1")  # not connected: the stop waits for its monitor
    assert (view["state"], view["enabled"]) == ("DISCONNECTED", False)
    assert [e["data"]["enabled"] for e in drain(subscription) if e["event"] == "cp"] == [False]
    link = connect(live)
    assert link.actions() == ["stop"]
    assert (live.cp("CP1")["state"], live.cp("CP1")["enabled"]) == ("STOPPED", False)


def test_a_stopped_cp_stays_stopped_after_a_restart(store, clock):
    Fleet(store, clock=clock).stop("CP1")
    restarted = Fleet(store, clock=clock)
    link = connect(restarted, state="available")
    assert link.actions() == ["stop"]
    assert restarted.cp("CP1")["state"] == "STOPPED"


def test_an_enabled_cp_that_reports_stopped_is_resumed_once(live):
    link = connect(live, state="stopped")
    live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="stopped"))
    assert link.actions() == ["resume"]


def test_state_returns_from_heartbeats_after_a_restart(live):
    connect(live, state="supplying")
    live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="supplying",
                                  session_id="s1", driver_id="D1"))
    view = live.cp("CP1")
    assert (view["state"], view["session_id"], view["driver_id"]) == ("SUPPLYING", "s1", "D1")


def request(cp_id="CP1", driver_id="D1"):
    return m.SupplyRequest(cp_id=cp_id, source="card", driver_id=driver_id)


@pytest.mark.parametrize(("setup", "driver_id", "reason"), [
    ("none", "D9", "unknown driver"),
    ("none", "D1", "disconnected"),
    ("broken", "D1", "broken"),
    ("stopped", "D1", "stopped"),
    ("supplying", "D1", "CP busy"),
    ("authorized", "D1", "CP busy"),
])
def test_supply_requests_are_denied_with_a_reason(live, setup, driver_id, reason):
    if setup == "broken":
        connect(live, engine="KO")
    elif setup == "stopped":
        connect(live)
        live.stop("CP1")
    elif setup in ("supplying", "authorized"):
        connect(live, state=setup)
    denied = live.on_supply_request(request(driver_id=driver_id))
    assert isinstance(denied, m.SupplyDenied) and denied.reason == reason
    assert live.sessions(cp_id="CP1")[0]["status"] == "denied"


@pytest.mark.parametrize("driver_id", ["D1", None])
def test_supply_request_on_an_activated_cp_is_authorized(live, driver_id):
    connect(live)
    command = live.on_supply_request(request(driver_id=driver_id))
    assert isinstance(command, m.Command) and command.action == "authorize"
    assert (command.driver_id, command.price_eur_kwh) == (driver_id, "0.35")
    assert command.expires_at == "2026-01-02T10:00:10.000Z"
    view = live.cp("CP1")
    assert (view["state"], view["session_id"]) == ("AUTHORIZED", command.session_id)
    [pending] = live.requests()
    assert (pending["session_id"], pending["source"]) == (command.session_id, "card")
    assert live.metrics()["commands_sent_total"] == 1


def test_an_unused_authorization_expires_after_60_seconds(live, clock, store):
    connect(live)
    command = live.on_supply_request(request())
    for _ in range(61):
        clock.now += 1
        live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="available"))
        live.sweep(clock.now)
    assert live.requests() == [] and live.cp("CP1")["state"] == "ACTIVATED"
    assert store.session(command.session_id)["status"] == "expired"


def test_a_refused_authorize_command_drops_the_request(live):
    connect(live)
    command = live.on_supply_request(request())
    live.on_command_result(m.CommandResult(cp_id="CP1", ref=command.id, ok=False, reason="busy"))
    assert live.requests() == [] and live.cp("CP1")["state"] == "ACTIVATED"


def test_supply_records_are_acked_and_counted_once(live, store):
    connect(live)
    command = live.on_supply_request(request())
    started = m.SupplyStarted(cp_id="CP1", session_id=command.session_id, driver_id="D1",
                              started_at="2026-01-02T10:00:05.000Z", price_eur_kwh="0.35")
    for _ in range(2):
        ack = live.on_supply_started(started)
        assert (ack.ref, ack.session_id) == (started.id, command.session_id)
    view = live.cp("CP1")
    assert (view["state"], view["driver_id"], view["started_at"]) == (
        "SUPPLYING", "D1", "2026-01-02T10:00:05.000Z")
    assert live.requests() == []
    ended = m.SupplyEnded(cp_id="CP1", session_id=command.session_id, driver_id="D1",
                          started_at=started.started_at, ended_at="2026-01-02T10:20:00.000Z",
                          kwh="3.2", eur="1.12", price_eur_kwh="0.35", reason="unplugged")
    for _ in range(2):
        assert live.on_supply_ended(ended).ref == ended.id
    live.on_supply_started(started)  # late duplicate
    live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="supplying",
                                  session_id=command.session_id, driver_id="D1"))  # stale
    assert live.cp("CP1")["state"] == "ACTIVATED"
    assert store.session(command.session_id)["status"] == "ended"
    metrics = live.metrics()
    assert (metrics["supplies_started_total"], metrics["supplies_ended_total"]) == (1, 1)


def test_subscribers_get_cp_message_and_requests_events(live):
    subscription = live.subscribe()
    connect(live)
    live.on_supply_request(request())
    events = drain(subscription)
    kinds = {e["event"] for e in events}
    assert kinds == {"cp", "message", "requests"}
    cp_states = [e["data"]["state"] for e in events if e["event"] == "cp"]
    assert cp_states == ["ACTIVATED", "AUTHORIZED"]
    live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="authorized"))
    assert drain(subscription) == []  # nothing changed, nothing published
    live.unsubscribe(subscription)
    live.stop("CP1")
    assert drain(subscription) == []


def test_a_slow_subscriber_loses_its_oldest_events_and_never_blocks(live):
    subscription = live.subscribe(maxsize=3)
    for _ in range(10):
        connect(live)
        live.on_disconnected("CP1", "gone")
    events = drain(subscription)
    assert len(events) == 3
    assert events[-1]["data"]["state"] == "DISCONNECTED"


def test_metrics(live):
    connect(live)
    live.on_frame_rejected("CP1", "bad LRC")
    live.on_auth_refused(None, "127.0.0.1:5000", "unknown CP")
    metrics = live.metrics()
    assert metrics["cps_connected"] == 1 and metrics["heartbeats_total"] == 1
    assert metrics['cps_by_state{state="ACTIVATED"}'] == 1
    assert metrics['cps_by_state{state="DISCONNECTED"}'] == 1
    assert (metrics["frames_rejected_total"], metrics["auth_refusals_total"]) == (1, 1)


def test_a_cp_registered_by_another_process_appears(live, store, clock):
    store.add_cp("CP3", "Later", "0.5")
    assert live.cp("CP3")["state"] == "DISCONNECTED"
    store.add_cp("CP5", "Later", "0.5")
    clock.now += 1
    assert [cp["id"] for cp in live.cps()] == ["CP1", "CP2", "CP3", "CP5"]
    secret = live.add_cp("CP4", "Via API", "0.45")
    assert secret and live.cp("CP4")["state"] == "DISCONNECTED"


def test_messages_limit_and_order(live):
    for _ in range(3):
        connect(live)
        live.on_disconnected("CP1", "gone")
    texts = [x["text"] for x in live.messages(limit=2)]
    assert texts == ["connected", "disconnected: gone"]


def test_telemetry_counts_only_for_the_supply_under_way(live):
    from protocol.data import Telemetry

    connect(live)
    command = live.on_supply_request(request())

    def telemetry(session_id: str, kwh: str) -> bool:
        return live.on_telemetry(Telemetry(cp_id="CP1", session_id=session_id, kw="7",
                                           kwh=kwh, eur="0.1", price_eur_kwh="0.35"))

    assert not telemetry("another-session", "9")
    assert not live.on_telemetry(Telemetry(cp_id="CP7", session_id="x", kw="7", kwh="1",
                                           eur="0.1", price_eur_kwh="0.35"))
    assert telemetry(command.session_id, "0.1")  # before the start record: kept
    assert live.cp("CP1")["kwh"] is None  # but shown only while supplying
    live.on_supply_started(m.SupplyStarted(cp_id="CP1", session_id=command.session_id,
                                           started_at="2026-01-02T10:00:05.000Z",
                                           price_eur_kwh="0.35", driver_id="D1"))
    assert live.cp("CP1")["kwh"] == "0.1"
    assert telemetry(command.session_id, "0.2") and live.cp("CP1")["kwh"] == "0.2"


def test_power_is_sampled_every_few_seconds_and_published(live):
    from protocol.data import Telemetry

    t0 = 1_767_348_000.0
    subscription = live.subscribe()
    live.sample_power(t0)
    connect(live, "CP1")
    connect(live, "CP2")
    for cp_id, kw in (("CP1", "7.4"), ("CP2", "11.05")):
        command = live.on_supply_request(request(cp_id))
        live.on_supply_started(m.SupplyStarted(cp_id=cp_id, session_id=command.session_id,
                                               started_at="2026-01-02T10:00:05.000Z",
                                               price_eur_kwh="0.35", driver_id=None))
        live.on_telemetry(Telemetry(cp_id=cp_id, session_id=command.session_id, kw=kw,
                                    kwh="0.1", eur="0.03", price_eur_kwh="0.35"))
    live.sample_power(t0 + 2)  # within the step: not kept
    live.sample_power(t0 + 5)
    power = [e["data"] for e in drain(subscription) if e["event"] == "power"]
    assert power == [{"t": "2026-01-02T10:00:00.000Z", "kw": "0"},
                     {"t": "2026-01-02T10:00:05.000Z", "kw": "18.45"}]
    history = live.power(now=t0 + 6)
    assert (history["span"], history["step"], history["points"]) == (3600.0, 5.0, power)
    assert live.power(now=t0 + 3604)["points"] == power[1:]  # an hour after the first
