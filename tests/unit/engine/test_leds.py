import pytest
from gpiozero import LED, PWMLED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.engine.leds import LedBoard, View, pattern
from protocol.states import EngineState

AVAILABLE, AUTHORIZED = EngineState.AVAILABLE, EngineState.AUTHORIZED
SUPPLYING, STOPPED, BROKEN = EngineState.SUPPLYING, EngineState.STOPPED, EngineState.BROKEN


def lit(**on):
    return {"green": "off", "amber": "off", "red": "off", "blue": "off", **on}


@pytest.mark.parametrize("view, expected", [
    (View(AVAILABLE, True, True), lit(green="on")),
    (View(AUTHORIZED, True, True), lit(green="blink")),
    (View(SUPPLYING, True, True), lit(blue="on")),
    (View(SUPPLYING, True, False), lit(blue="on")),
    (View(STOPPED, True, True), lit(amber="on")),
    (View(BROKEN, True, True), lit(red="on")),
    (View(AVAILABLE, False, True), lit(amber="blink-slow")),
    (View(AVAILABLE, True, False), lit(amber="blink-slow")),
    (View(BROKEN, False, False), lit(amber="blink-slow")),
    (View(STOPPED, True, False), lit(amber="blink-slow")),
])
def test_pattern(view, expected):
    assert pattern(view) == expected


def test_without_blue_a_supply_pulses_green():
    assert pattern(View(SUPPLYING, True, True), has_blue=False) == lit(green="pulse")


@pytest.fixture
def factory():
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.close()


def test_board_drives_gpiozero_leds(factory):
    leds = {"green": PWMLED(17, pin_factory=factory), "amber": LED(27, pin_factory=factory),
            "red": PWMLED(22, pin_factory=factory)}
    board = LedBoard(leds)
    assert not board.has_blue
    board.show(lit(green="on", red="on"))
    assert (leds["green"].value, leds["amber"].value, leds["red"].value) == (1, 0, 1)
    board.show(lit(amber="blink-slow", green="pulse"))
    assert leds["red"].value == 0
    assert leds["amber"].is_active or leds["amber"]._blink_thread is not None
    assert leds["green"]._blink_thread is not None
    board.off()
    assert all(led.value == 0 for led in leds.values())
