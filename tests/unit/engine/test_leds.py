import pytest
from gpiozero import LED, PWMLED, Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.engine.leds import LedBoard, View, pattern


def lit(**on):
    return {"green": "off", "amber": "off", "red": "off", "blue": "off", **on}


@pytest.mark.parametrize("view, expected", [
    (View("available", True, True), lit(green="on")),
    (View("authorized", True, True), lit(green="blink")),
    (View("supplying", True, True), lit(blue="on")),
    (View("supplying", True, False), lit(blue="on")),
    (View("stopped", True, True), lit(amber="on")),
    (View("broken", True, True), lit(red="on")),
    (View("available", False, True), lit(amber="blink-slow")),
    (View("available", True, False), lit(amber="blink-slow")),
    (View("broken", False, False), lit(amber="blink-slow")),
    (View("stopped", True, False), lit(amber="blink-slow")),
])
def test_pattern(view, expected):
    assert pattern(view) == expected


def test_without_blue_a_supply_pulses_green():
    assert pattern(View("supplying", True, True), has_blue=False) == lit(green="pulse")


@pytest.fixture
def factory():
    saved = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.close()
    Device.pin_factory = saved


def test_board_drives_gpiozero_leds(factory):
    leds = {"green": PWMLED(17), "amber": LED(27), "red": PWMLED(22)}
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
