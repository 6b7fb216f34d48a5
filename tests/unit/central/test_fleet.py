"""Central's live fleet (the shell around the pure core), driven through its hooks with
a fake clock; each CP's commands go out through a real FramedPort into a list."""

from __future__ import annotations

import queue

import pytest

from cloud.central.cpstate import StopReason
from cloud.central.errors import UnknownCp
from cloud.central.fleet import Fleet
from cloud.central.framed import CommandLedger, FramedPort
from cloud.central.store import Store
from protocol import messages as m

KEYS = {"id", "location", "price_eur_kwh", "state", "driver_id", "kw", "kwh", "eur",
        "session_id", "started_at", "updated_at", "stop_reasons", "registered_at", "last_auth_at",
        "key_id", "key_issued_at", "key_problems", "key_problem"}
WALL = "2026-01-02T10:00:00.000Z"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Link(FramedPort):
    """A CP's command port on a fake link: what Central sent, in order."""

    def __init__(self, cp_id: str, fleet: Fleet) -> None:
        self.sent: list[m.Message] = []
        self.fleet = fleet
        super().__init__(cp_id, self.sent.append, CommandLedger(), lambda: WALL)

    def actions(self) -> list[str]:
        return [x.action for x in self.sent if isinstance(x, m.Command)]

    def last(self) -> m.Command:
        return [x for x in self.sent if isinstance(x, m.Command)][-1]

    def answer(self, result: m.CommandResult) -> None:
        """The CP's CommandResult, as the CP server hands it to the Fleet."""
        self.fleet.on_command_result(*self.ledger.resolve(result))


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
    return Fleet(store, clock=clock, wallclock=lambda: WALL)


def connect(fleet: Fleet, cp_id: str = "CP1", engine: str = "OK", state: str = "available"):
    link = Link(cp_id, fleet)
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


def admin_actions(store) -> list[dict]:
    """The stops and resumes in the audit trail, newest first."""
    return [e for e in store.audit_log() if e["action"] in ("stop", "resume")]


def test_stop_persists_audits_and_sends_stop_then_resume(live, store):
    link = connect(live)
    view = live.stop("CP1", actor="alice")
    assert view["state"] == "STOPPED" and store.cp("CP1")["stop_reasons"] == "admin"
    assert link.actions() == ["stop"]
    assert store.audit_log(action="stop")[0]["source"] == "alice"
    assert live.resume("CP1", actor="bob")["state"] == "ACTIVATED"
    assert link.actions() == ["stop", "resume"] and store.cp("CP1")["stop_reasons"] == ""
    with pytest.raises(KeyError):
        live.stop("CP9")
    with pytest.raises(UnknownCp, match="unknown charging point 'CP9'"):
        live.resume("CP9")


def test_stop_all_and_resume_all(live, store):
    connect(live, "CP1")
    assert [cp["state"] for cp in live.stop_all("admin")] == ["STOPPED", "DISCONNECTED"]
    assert {row["stop_reasons"] for row in store.cps()} == {"admin"}
    assert [cp["state"] for cp in live.resume_all("admin")] == ["ACTIVATED", "DISCONNECTED"]


def test_stop_all_and_resume_all_touch_only_the_cps_they_change(live, store):
    links = {"CP1": connect(live, "CP1"), "CP2": connect(live, "CP2")}
    live.stop("CP2", actor="alice")
    before = len(live.messages(500))
    subscription = live.subscribe()

    views = live.resume_all("bob")
    assert [(cp["id"], cp["state"], cp["stop_reasons"]) for cp in views] == [
        ("CP1", "ACTIVATED", []), ("CP2", "ACTIVATED", [])]
    notes = [(x["cp_id"], x["text"]) for x in live.messages(500)[before:]]
    assert notes == [("CP2", "resumed by bob")]
    assert (links["CP1"].actions(), links["CP2"].actions()) == ([], ["stop", "resume"])
    assert [(e["source"], e["action"], e["cp_id"]) for e in admin_actions(store)] == [
        ("bob", "resume", "CP2"), ("alice", "stop", "CP2")]
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
    assert "carol" not in {e["source"] for e in store.audit_log()}


def test_the_view_tells_a_stopped_cp_even_when_disconnected(live):
    assert live.cp("CP1")["stop_reasons"] == []
    subscription = live.subscribe()
    view = live.stop("CP1")  # not connected: the stop waits for its monitor
    assert (view["state"], view["stop_reasons"]) == ("DISCONNECTED", ["admin"])
    assert [e["data"]["stop_reasons"] for e in drain(subscription) if e["event"] == "cp"] == [
        ["admin"]]
    link = connect(live)
    assert link.actions() == ["stop"]
    assert (live.cp("CP1")["state"], live.cp("CP1")["stop_reasons"]) == ("STOPPED", ["admin"])


def test_lifting_one_stop_reason_never_lifts_another(live, store, clock):
    link = connect(live)
    live.stop("CP1", actor="weather office", reason=StopReason.WEATHER)
    live.stop("CP1", actor="alice")
    assert live.cp("CP1")["stop_reasons"] == ["admin", "weather"]
    view = live.resume("CP1", actor="bob")  # the admin's stop only
    assert (view["state"], view["stop_reasons"]) == ("STOPPED", ["weather"])
    assert link.actions() == ["stop", "stop"]  # no resume while the weather holds
    assert live.messages()[-1]["text"] == (
        "admin stop lifted by bob; still out of order: weather alert")
    restarted = Fleet(store, clock=clock, wallclock=lambda: WALL)
    assert restarted.cp("CP1")["stop_reasons"] == ["weather"]
    live.resume("CP1", actor="weather office", reason=StopReason.WEATHER)
    assert live.cp("CP1")["state"] == "ACTIVATED" and link.actions()[-1] == "resume"
    assert [(e["source"], e["action"], e["params"]["reason"])
            for e in reversed(admin_actions(store))] == [
        ("weather office", "stop", "weather"), ("alice", "stop", "admin"),
        ("bob", "resume", "admin"), ("weather office", "resume", "weather")]


def test_a_stopped_cp_stays_stopped_after_a_restart(store, clock):
    Fleet(store, clock=clock).stop("CP1")
    restarted = Fleet(store, clock=clock)
    assert restarted.cp("CP1")["stop_reasons"] == ["admin"]
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
    assert live.on_supply_request(request(driver_id=driver_id)) == reason
    assert live.sessions(cp_id="CP1")[0]["status"] == "denied"


@pytest.mark.parametrize("driver_id", ["D1", None])
def test_supply_request_on_an_activated_cp_is_authorized(live, driver_id):
    link = connect(live)
    assert live.on_supply_request(request(driver_id=driver_id)) is None
    command = link.last()
    assert isinstance(command, m.Command) and command.action == "authorize"
    assert (command.driver_id, command.price_eur_kwh) == (driver_id, "0.35")
    assert command.expires_at == "2026-01-02T10:00:10.000Z"
    view = live.cp("CP1")
    assert (view["state"], view["session_id"]) == ("AUTHORIZED", command.session_id)
    [pending] = live.requests()
    assert (pending["session_id"], pending["source"]) == (command.session_id, "card")
    assert live.metrics()["commands_sent_total"] == 1


def test_an_unused_authorization_expires_after_60_seconds(live, clock, store):
    link = connect(live)
    live.on_supply_request(request())
    command = link.last()
    for _ in range(61):
        clock.now += 1
        live.on_heartbeat(m.Heartbeat(cp_id="CP1", engine="OK", state="available"))
        live.sweep(clock.now)
    assert live.requests() == [] and live.cp("CP1")["state"] == "ACTIVATED"
    assert store.session(command.session_id)["status"] == "expired"


def test_a_refused_authorize_command_drops_the_request(live):
    link = connect(live)
    live.on_supply_request(request())
    link.answer(m.CommandResult(cp_id="CP1", ref=link.last().id, ok=False, reason="busy"))
    assert live.requests() == [] and live.cp("CP1")["state"] == "ACTIVATED"


def test_supply_records_are_stored_and_counted_once(live, store):
    link = connect(live)
    live.on_supply_request(request())
    command = link.last()
    started = m.SupplyStarted(cp_id="CP1", session_id=command.session_id, driver_id="D1",
                              started_at="2026-01-02T10:00:05.000Z", price_eur_kwh="0.35")
    assert [live.on_supply_started(started) for _ in range(2)] == [True, False]
    view = live.cp("CP1")
    assert (view["state"], view["driver_id"], view["started_at"]) == (
        "SUPPLYING", "D1", "2026-01-02T10:00:05.000Z")
    assert live.requests() == []
    ended = m.SupplyEnded(cp_id="CP1", session_id=command.session_id, driver_id="D1",
                          started_at=started.started_at, ended_at="2026-01-02T10:20:00.000Z",
                          kwh="3.2", eur="1.12", price_eur_kwh="0.35", reason="unplugged")
    assert [live.on_supply_ended(ended) for _ in range(2)] == [True, False]
    assert not live.on_supply_started(started)  # late duplicate
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
    live.store.audit_writer.flush()  # the audit writer's nudge comes once it wrote the row
    events = drain(subscription)
    kinds = {e["event"] for e in events}
    assert kinds == {"cp", "message", "requests", "audit"}  # audit: a state change
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
        live.store.audit_writer.flush()  # each audit nudge once its row is written
        live.on_disconnected("CP1", "gone")
        live.store.audit_writer.flush()
    events = drain(subscription)
    assert len(events) == 3
    assert [e["event"] for e in events] == ["message", "cp", "audit"]
    assert events[1]["data"]["state"] == "DISCONNECTED"


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
    other = Store(store.path)  # ev-central cp add, in another process
    subscription = live.subscribe()
    other.add_cp("CP3", "Later", "0.5")
    other.add_cp("CP5", "Plaza Mayor", "0.55")
    assert live.cp("CP3") is None and drain(subscription) == []  # reads never load
    clock.now += 0.2
    live.sweep(clock.now)  # the CP server's sweep notices them
    cp5 = live.cp("CP5")
    assert (cp5["state"], cp5["location"], cp5["price_eur_kwh"]) == (
        "DISCONNECTED", "Plaza Mayor", "0.55")
    assert [cp["id"] for cp in live.cps()] == ["CP1", "CP2", "CP3", "CP5"]
    assert [e["data"]["id"] for e in drain(subscription) if e["event"] == "cp"] == ["CP3", "CP5"]
    other.add_cp("CP6", "Late", "0.6")
    login = live.login("CP6", "10.0.0.9:51000")  # noticed at its login too
    assert (login.in_service, login.price_eur_kwh) == (True, "0.6")
    assert live.cp("CP6")["location"] == "Late"
    secret = live.add_cp("CP4", "Via API", "0.45")
    assert secret and live.cp("CP4")["state"] == "DISCONNECTED"
    assert (live.cp("CP4")["location"], live.cp("CP4")["price_eur_kwh"]) == ("Via API", "0.45")
    other.close()


def test_messages_limit_and_order(live):
    for _ in range(3):
        connect(live)
        live.on_disconnected("CP1", "gone")
    texts = [x["text"] for x in live.messages(limit=2)]
    assert texts == ["connected", "disconnected: gone"]


def test_telemetry_counts_only_for_the_supply_under_way(live):
    from protocol.data import Telemetry

    link = connect(live)
    live.on_supply_request(request())
    command = link.last()

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
    links = {"CP1": connect(live, "CP1"), "CP2": connect(live, "CP2")}
    for cp_id, kw in (("CP1", "7.4"), ("CP2", "11.05")):
        live.on_supply_request(request(cp_id))
        command = links[cp_id].last()
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
