"""Devices built on a pin factory handed to each of them; gpiozero's global stays unset."""

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.engine import hardware


def test_every_device_is_built_on_the_factory_it_is_given():
    saved = Device.pin_factory
    factory = MockFactory(pin_class=MockPWMPin)
    devices = hardware.build(hardware.DEFAULT_PINS, factory=factory)
    try:
        built = [*devices.leds.values(), devices.relay, *devices.buttons.values()]
        assert len(built) == 8 and all(device.pin_factory is factory for device in built)
        assert Device.pin_factory is saved  # the global is never set
        assert devices.mock
        factory.pin(hardware.DEFAULT_PINS["plug"]).drive_low()
        assert devices.buttons["plug"].is_pressed
    finally:
        devices.close()
    assert not devices.owns_factory  # the caller's factory: the caller closes it
    factory.close()


def test_a_named_factory_is_made_for_the_devices_and_closed_with_them(monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    first = hardware.build(hardware.DEFAULT_PINS, "mock")
    second = hardware.build(hardware.DEFAULT_PINS, "mock")  # the same pins, its own factory
    try:
        assert first.factory is not second.factory
        assert isinstance(first.factory, MockFactory) and first.mock
    finally:
        first.close()
        second.close()
    assert first.factory.pins == {} and second.factory.pins == {}


def test_the_environment_names_the_factory_when_no_flag_does(monkeypatch):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "MOCK")
    assert hardware.factory_name() == "mock"
    assert hardware.factory_name("lgpio") == "lgpio"
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")
    with pytest.raises(hardware.NoGpio, match=r"pin factory 'no-such-factory'.*--pin-factory mock"):
        hardware.build(hardware.DEFAULT_PINS)
