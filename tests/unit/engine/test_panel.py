"""The virtual panel presses the engine's buttons: on mock pins through the pin itself."""

from types import SimpleNamespace

import pytest

from edge.engine import hardware
from edge.engine.journal import Journal
from edge.engine.meter import Meter
from edge.engine.panel import VirtualPanel
from edge.engine.service import Engine
from protocol import messages as m
from tests.unit.engine.test_service_uplink import Clock, FakeUplink


@pytest.fixture
def engine(tmp_path):
    devices = hardware.build(hardware.DEFAULT_PINS, "mock")
    journal = Journal(tmp_path / "journal.db")
    engine = Engine("CP1", journal, devices, Meter(), Clock(), uplink=FakeUplink())
    engine.start()
    yield engine
    journal.close()
    devices.close()


def presses(engine) -> list[str]:
    return [b.button for b in engine.data_plane.uplink.sent if b.TYPE == "button_pressed"]


def test_on_mock_pins_a_press_drives_the_pin_and_gpiozero_calls_the_engine(engine):
    panel = VirtualPanel(engine)
    plug = engine.devices.buttons["plug"]
    status = panel.act(m.PanelAction(cp_id="", action="press", button="plug"))
    assert plug.is_pressed and status["plugged"] is True
    status = panel.act(m.PanelAction(cp_id="", action="press", button="plug"))  # held: again
    assert plug.is_pressed and status["plugged"] is False
    panel.act(m.PanelAction(cp_id="", action="release", button="plug"))
    assert not plug.is_pressed
    panel.click("fault")
    assert not engine.devices.buttons["fault"].is_pressed
    assert engine.snapshot()["state"] == "broken"
    assert presses(engine) == ["plug", "plug", "fault"]
    assert panel.act(m.PanelAction(cp_id="", action="status"))["health"] == "KO"


def test_a_request_from_the_panel_is_for_its_driver(engine):
    engine.feed(engine.machine.monitor_heard)
    engine.feed(engine.machine.central_status, True)
    VirtualPanel(engine).act(
        m.PanelAction(cp_id="", action="press", button="request", driver_id="D9"))
    assert engine.machine.requests and list(engine.machine.requests.values()) == ["D9"]


def test_on_real_gpio_the_panel_calls_the_engines_handler():
    pressed: list[str] = []
    engine = SimpleNamespace(devices=SimpleNamespace(buttons={}, mock=False),
                             press=pressed.append, snapshot=dict)
    panel = VirtualPanel(engine)
    panel.click("plug")
    panel.release("plug")
    panel.press("fault")
    assert pressed == ["plug", "fault"]
