"""The weather half of the fleet's core: alerts -> the ``weather`` stop reason, a supply
under way finishes first, and the independence of the weather and an admin stop."""

from __future__ import annotations

from cloud.central import effects as fx
from cloud.central.alerts import Alert, Reading
from cloud.central.core import Core
from cloud.central.cpstate import StopReason
from cloud.central.cptable import Moment
from cloud.central.events import CpStopped, WeatherAlertCleared, WeatherAlertRaised
from protocol import messages as m

WALL = "2026-01-02T10:00:00.000Z"
COLD = Reading("-3.2", "0", "2026-01-02T09:59:58Z")
WEATHER = StopReason.WEATHER


def at(mono: float) -> Moment:
    return Moment(mono, lambda: WALL)


def of(effects, kind) -> list:
    return [effect for effect in effects if isinstance(effect, kind)]


def events(effects) -> list:
    return [effect.event for effect in of(effects, fx.Announce)]


def site() -> Core:
    """MAD-01 and MAD-02 in Madrid, SEV-01 in Seville; all connected and available."""
    core = Core(new_id=iter(f"S{n}" for n in range(1, 99)).__next__)
    for cp_id, location in (("MAD-01", "Madrid"), ("MAD-02", "madrid "), ("SEV-01", "Sevilla")):
        core.register(cp_id, location, "0.35", frozenset(), at(0))
        core.connected(cp_id, None, "0.35", at(0))
        core.heartbeat(m.Heartbeat(cp_id=cp_id, engine="OK", state="available"), at(0))
    return core


def supplying(core: Core, cp_id: str) -> str:
    authorization, _ = core.charge(cp_id, "D1", True, "driver", at(1))
    core.supply_started(m.SupplyStarted(cp_id=cp_id, session_id=authorization.session_id,
                                        started_at=WALL, price_eur_kwh="0.35",
                                        driver_id="D1"), True, at(2))
    core.heartbeat(m.Heartbeat(cp_id=cp_id, engine="OK", state="supplying",
                               session_id=authorization.session_id, driver_id="D1"), at(2))
    return authorization.session_id


def ended(core: Core, cp_id: str, session_id: str, now: float = 5):
    return core.supply_ended(m.SupplyEnded(
        cp_id=cp_id, session_id=session_id, started_at=WALL, ended_at=WALL, kwh="1.000",
        eur="0.35", price_eur_kwh="0.35", reason="unplugged", driver_id="D1"), True, at(now))


def test_an_alert_stops_every_cp_at_its_location_and_no_other():
    core = site()
    alert, new, effects = core.raise_alert("Madrid,ES", COLD, "service@10.0.0.8", at(3))
    assert new and alert == Alert("Madrid,ES", "-3.2", "0", COLD.observed_at, WALL,
                                  "service@10.0.0.8")
    assert of(effects, fx.SaveAlert) == [fx.SaveAlert(alert)]
    assert of(effects, fx.Stop) == [fx.Stop("MAD-01", "out of order: weather alert"),
                                    fx.Stop("MAD-02", "out of order: weather alert")]
    raised = [e for e in events(effects) if isinstance(e, WeatherAlertRaised)]
    assert raised == [WeatherAlertRaised("Madrid,ES", "-3.2", "0", "service@10.0.0.8",
                                         ("MAD-01", "MAD-02"))]
    assert [(e.cp_id, e.reason) for e in events(effects) if isinstance(e, CpStopped)] == [
        ("MAD-01", WEATHER), ("MAD-02", WEATHER)]
    assert core.view("MAD-01")["state"] == "STOPPED"
    assert core.view("MAD-01")["stop_reasons"] == ["weather"]
    assert core.view("SEV-01")["state"] == "ACTIVATED"
    assert core.alert_views() == [alert.as_json()]


def test_raising_again_updates_the_reading_and_stops_nothing_more():
    core = site()
    first, _, _ = core.raise_alert("Madrid", COLD, "service", at(3))
    again, new, effects = core.raise_alert("MADRID", Reading("-5", "0", WALL), "service", at(9))
    assert not new and of(effects, fx.Stop) == [] and events(effects) == []
    assert (again.location, again.temperature_c, again.raised_at) == ("Madrid", "-5",
                                                                       first.raised_at)


def test_a_supply_under_way_finishes_first_then_the_cp_is_stopped():
    core = site()
    session_id = supplying(core, "MAD-01")
    _, _, effects = core.raise_alert("Madrid", COLD, "service", at(3))
    assert [s.cp_id for s in of(effects, fx.Stop)] == ["MAD-02"]  # MAD-01 is supplying
    assert of(effects, fx.EndSupply) == []
    view = core.view("MAD-01")
    assert (view["state"], view["stop_reasons"], view["session_id"]) == (
        "SUPPLYING", ["weather"], session_id)
    # no new supply meanwhile: a heartbeat while supplying changes nothing
    assert of(core.heartbeat(m.Heartbeat(cp_id="MAD-01", engine="OK", state="supplying",
                                         session_id=session_id), at(4)), fx.Stop) == []
    effects = ended(core, "MAD-01", session_id)
    assert of(effects, fx.Stop) == [fx.Stop("MAD-01", "out of order: weather alert")]
    assert core.view("MAD-01")["state"] == "STOPPED"
    denial, _ = core.charge("MAD-01", "D1", True, "driver", at(5.5))
    assert denial.reason == "stopped"
    # the engine's heartbeat after the end does not send the stop twice
    assert of(core.heartbeat(m.Heartbeat(cp_id="MAD-01", engine="OK", state="available"),
                             at(6)), fx.Stop) == []


def test_a_heartbeat_after_the_supply_stops_the_cp_when_the_end_record_is_late():
    core = site()
    supplying(core, "MAD-01")
    core.raise_alert("Madrid", COLD, "service", at(3))
    effects = core.heartbeat(m.Heartbeat(cp_id="MAD-01", engine="OK", state="available"),
                             at(5))
    assert of(effects, fx.Stop) == [fx.Stop("MAD-01", "out of order: weather alert")]


def test_an_alert_cleared_during_the_supply_leaves_it_alone():
    core = site()
    session_id = supplying(core, "MAD-01")
    core.raise_alert("Madrid", COLD, "service", at(3))
    _, effects = core.clear_alert("Madrid", "service", at(4))
    assert of(effects, fx.Resume) == [fx.Resume("MAD-02", "resumed by service")]
    assert core.view("MAD-01")["stop_reasons"] == []
    assert of(ended(core, "MAD-01", session_id), fx.Stop) == []
    assert core.view("MAD-01")["state"] == "ACTIVATED"


def test_an_admin_stop_during_a_supply_still_ends_it_at_once():
    core = site()
    supplying(core, "MAD-01")
    core.raise_alert("Madrid", COLD, "service", at(3))
    effects = core.stop("MAD-01", StopReason.ADMIN, "alice", at(4))
    assert of(effects, fx.Stop) == [fx.Stop("MAD-01", "stopped by alice")]
    assert core.view("MAD-01")["state"] == "STOPPED"


def test_clearing_lifts_the_weather_only_and_an_admin_stop_stays():
    core = site()
    core.stop("MAD-01", StopReason.ADMIN, "alice", at(1))
    core.raise_alert("Madrid", COLD, "service", at(2))
    assert core.view("MAD-01")["stop_reasons"] == ["admin", "weather"]
    alert, effects = core.clear_alert("madrid", "service", at(3))
    assert alert.location == "Madrid" and of(effects, fx.DropAlert) == [fx.DropAlert("Madrid")]
    assert [e for e in events(effects) if isinstance(e, WeatherAlertCleared)] == [
        WeatherAlertCleared("Madrid", "service", ("MAD-01", "MAD-02"))]
    assert of(effects, fx.Resume) == [fx.Resume("MAD-02", "resumed by service")]
    assert (core.view("MAD-01")["state"], core.view("MAD-01")["stop_reasons"]) == (
        "STOPPED", ["admin"])
    assert core.alert_views() == []


def test_an_admin_resume_leaves_the_weather_stop():
    core = site()
    core.raise_alert("Madrid", COLD, "service", at(2))
    core.stop("MAD-01", StopReason.ADMIN, "alice", at(3))
    effects = core.lift("MAD-01", StopReason.ADMIN, "bob", at(4))
    assert of(effects, fx.Resume) == []
    assert core.view("MAD-01")["stop_reasons"] == ["weather"]


def test_clearing_what_is_not_raised_is_nothing():
    assert site().clear_alert("Madrid", "service", at(1)) == (None, [])


def test_a_cp_registered_or_moved_to_a_location_under_alert_gets_it():
    core = site()
    core.raise_alert("Madrid", COLD, "service", at(1))
    core.register("MAD-03", "Madrid", "0.35", frozenset(), at(2))
    assert core.view("MAD-03")["stop_reasons"] == ["weather"]
    effects = core.connected("SEV-01", "Madrid", "0.35", at(3))  # moved
    assert core.view("SEV-01")["stop_reasons"] == ["weather"]
    assert fx.SaveLocation("SEV-01", "Madrid") in effects
    assert of(effects, fx.Stop) == []  # its first heartbeat says whether it is supplying
    effects = core.heartbeat(m.Heartbeat(cp_id="SEV-01", engine="OK", state="available"),
                             at(3.5))
    assert of(effects, fx.Stop) == [fx.Stop("SEV-01", "out of order: weather alert")]
    core.connected("SEV-01", "Sevilla", "0.35", at(4))  # and back
    assert core.view("SEV-01")["stop_reasons"] == []


def test_alerts_loaded_from_the_store_apply_to_cps_registered_after():
    core = Core()
    core.load_alerts([Alert("Madrid", "-1", "0", WALL, WALL, "service")])
    core.register("MAD-01", "Madrid", "0.35", frozenset(), at(0))
    assert core.view("MAD-01")["stop_reasons"] == ["weather"]
    assert core.alert_at("madrid").temperature_c == "-1"


def test_a_cp_reconnecting_mid_supply_under_an_alert_finishes_it_first():
    """Central restarted (or the link was replaced) while the CP supplies: the weather's
    stop waits for the end of the supply, an admin stop does not."""
    core = site()
    core.raise_alert("Madrid", COLD, "service", at(1))
    core.connected("MAD-01", None, "0.35", at(2))
    beat = m.Heartbeat(cp_id="MAD-01", engine="OK", state="supplying", session_id="S-OLD",
                       driver_id="D1")
    assert of(core.heartbeat(beat, at(2.5)), fx.Stop) == []
    assert core.view("MAD-01")["state"] == "SUPPLYING"
    effects = core.heartbeat(m.Heartbeat(cp_id="MAD-01", engine="OK", state="available"),
                             at(3))
    assert of(effects, fx.Stop) == [fx.Stop("MAD-01", "out of order: weather alert")]
    core.stop("MAD-02", StopReason.ADMIN, "alice", at(3))
    assert of(core.connected("MAD-02", None, "0.35", at(4)), fx.Stop) == [
        fx.Stop("MAD-02", "stopped by Central")]


def paris() -> Core:
    """PAR-FR at "Paris,FR", PAR-US at "Paris, us", PAR at "Paris" (no country)."""
    core = Core(new_id=iter(f"S{n}" for n in range(1, 99)).__next__)
    for cp_id, location in (("PAR-FR", "Paris,FR"), ("PAR-US", "Paris, us"), ("PAR", "Paris")):
        core.register(cp_id, location, "0.35", frozenset(), at(0))
        core.connected(cp_id, None, "0.35", at(0))
        core.heartbeat(m.Heartbeat(cp_id=cp_id, engine="OK", state="available"), at(0))
    return core


def test_an_alert_with_a_country_code_stops_no_cp_of_another_country():
    core = paris()
    _, _, effects = core.raise_alert("Paris,FR", COLD, "service", at(3))
    assert events(effects)[0].cp_ids == ("PAR", "PAR-FR")
    assert core.view("PAR-FR")["stop_reasons"] == ["weather"]
    assert core.view("PAR-US")["stop_reasons"] == []
    _, new, _ = core.raise_alert("Paris,US", COLD, "service", at(4))
    assert new and [a["location"] for a in core.alert_views()] == ["Paris,FR", "Paris,US"]
    assert core.view("PAR-US")["stop_reasons"] == ["weather"]


def test_a_cp_under_two_alerts_is_back_when_both_are_cleared():
    core = paris()
    core.raise_alert("Paris,FR", COLD, "service", at(3))
    core.raise_alert("Paris,US", COLD, "service", at(3))
    core.clear_alert("paris, fr", "service", at(4))
    assert core.view("PAR-FR")["stop_reasons"] == []
    assert core.view("PAR")["stop_reasons"] == ["weather"]  # Paris,US still applies
    assert core.view("PAR-US")["stop_reasons"] == ["weather"]
    core.clear_alert("Paris,US", "service", at(5))
    assert [core.view(x)["stop_reasons"] for x in ("PAR", "PAR-US")] == [[], []]
