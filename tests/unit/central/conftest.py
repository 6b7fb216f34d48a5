"""Fixtures for Central's HTTP layer: ``store``, ``fleet``, ``site``, ``app``, ``client``.

The Fleet is the real one over a real temporary SQLite file.  :class:`Site` plays the
CP server's part: it calls the Fleet's ``on_*`` hooks with real protocol messages and
gives each CP a real :class:`~cloud.central.framed.FramedPort` whose link is a list, so
that tests can connect CPs, break them down, run supplies and read the commands sent.
"""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from cloud.central.app import create_app
from cloud.central.cptable import Authorization
from cloud.central.fleet import Fleet
from cloud.central.framed import CommandLedger, FramedPort
from cloud.central.store import Store
from protocol import messages as m

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CPS = [("CP1", "Calle Mayor 1, Alicante", "0.35"), ("CP2", "Campus, parking B", "0.40"),
       ("CP3", "Estación de autobuses", "0.30")]
DRIVERS = ["D7", "D8"]


class Clock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ObservedFleet(Fleet):
    """The real Fleet, counting the event streams open on it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.streams: set[int] = set()

    def subscribe(self, *args, **kwargs) -> queue.Queue:
        subscription = super().subscribe(*args, **kwargs)
        self.streams.add(id(subscription))
        return subscription

    def unsubscribe(self, subscription: queue.Queue) -> None:
        super().unsubscribe(subscription)
        self.streams.discard(id(subscription))


class Site:
    """Drives a Fleet the way Central's CP server does, one CP at a time."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.sent: dict[str, list[m.Message]] = {}
        self.ledger = CommandLedger()

    def connect(self, cp_id: str) -> None:
        port = FramedPort(cp_id, self.sent.setdefault(cp_id, []).append, self.ledger,
                          self.fleet.wallclock)
        self.fleet.on_connected(cp_id, port)
        self.heartbeat(cp_id)

    def answer(self, result: m.CommandResult) -> None:
        """The CP's CommandResult, as the CP server hands it to the Fleet."""
        self.fleet.on_command_result(*self.ledger.resolve(result))

    def heartbeat(self, cp_id: str, engine: str = "OK", state: str = "available",
                  session_id: str | None = None, driver_id: str | None = None) -> None:
        self.fleet.on_heartbeat(m.Heartbeat(cp_id=cp_id, engine=engine, state=state,
                                            session_id=session_id, driver_id=driver_id))

    def break_down(self, cp_id: str) -> None:
        self.fleet.on_engine_status(m.EngineStatus(cp_id=cp_id, engine="KO", reason="fault"))

    def disconnect(self, cp_id: str) -> None:
        self.fleet.on_disconnected(cp_id, "link lost")

    def authorize(self, cp_id: str, driver_id: str) -> str:
        outcome = self.fleet.charge(cp_id, driver_id, "driver")
        assert isinstance(outcome, Authorization), outcome
        return outcome.session_id

    def start(self, cp_id: str, driver_id: str,
              started_at: str = "2026-01-02T10:00:00.000Z") -> str:
        session_id = self.authorize(cp_id, driver_id)
        price = self.fleet.cp(cp_id)["price_eur_kwh"]
        self.fleet.on_supply_started(m.SupplyStarted(
            cp_id=cp_id, session_id=session_id, started_at=started_at, price_eur_kwh=price,
            driver_id=driver_id))
        self.heartbeat(cp_id, state="supplying", session_id=session_id, driver_id=driver_id)
        return session_id

    def end(self, cp_id: str, session_id: str, driver_id: str, kwh: str = "2.000") -> None:
        price = self.fleet.cp(cp_id)["price_eur_kwh"]
        eur = str(m.Decimal(kwh) * m.Decimal(price))
        self.fleet.on_supply_ended(m.SupplyEnded(
            cp_id=cp_id, session_id=session_id, started_at="2026-01-02T09:00:00.000Z",
            ended_at="2026-01-02T09:30:00.000Z", kwh=kwh, eur=eur, price_eur_kwh=price,
            reason="unplugged", driver_id=driver_id))
        self.heartbeat(cp_id)


def populate(db: Path, clock: Clock | None = None) -> tuple[ObservedFleet, Site, dict]:
    """Three CPs, two drivers; CP1 has two ended supplies, CP2 supplies D7, CP3 idles."""
    store = Store(str(db))
    for cp_id, location, price in CPS:
        store.add_cp(cp_id, location, price)
    for driver_id in DRIVERS:
        store.add_driver(driver_id)
    fleet = ObservedFleet(store, clock=clock or Clock())
    site = Site(fleet)
    for cp_id, _, _ in CPS:
        site.connect(cp_id)
    sessions = {"CP1/D8": site.start("CP1", "D8")}
    site.end("CP1", sessions["CP1/D8"], "D8")
    sessions["CP1/D7"] = site.start("CP1", "D7")
    site.end("CP1", sessions["CP1/D7"], "D7", kwh="1.000")
    sessions["CP2/D7"] = site.start("CP2", "D7")
    store.audit_writer.flush()  # its audit records written (and announced) by now
    return fleet, site, sessions


@pytest.fixture
def populated(tmp_path):
    fleet, site, sessions = populate(tmp_path / "central.db")
    yield fleet, site, sessions
    fleet.store.close()


@pytest.fixture
def fleet(populated) -> ObservedFleet:
    return populated[0]


@pytest.fixture
def site(populated) -> Site:
    return populated[1]


@pytest.fixture
def sessions(populated) -> dict[str, str]:
    return populated[2]


@pytest.fixture
def app(fleet, tmp_path):
    return create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "DB": fleet.store.path,
                       "SSE_KEEPALIVE": 0.2, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()
