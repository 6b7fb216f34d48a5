"""gpiozero devices built from a pin map; the mock pin factory on a laptop.

The engine never builds devices itself: :func:`build` makes them here and the service
receives them, so the same code drives a Pi and ``GPIOZERO_PIN_FACTORY=mock``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

DEFAULT_PINS = {
    "green": 17, "amber": 27, "red": 22, "blue": 23, "relay": 24,
    "fault": 5, "plug": 6, "request": 13,
}
LED_NAMES = ("green", "amber", "red", "blue")
BUTTON_NAMES = ("fault", "plug", "request")
OPTIONAL = ("blue",)


def parse_pins(text: str | None) -> dict[str, int | None]:
    """``"green=17,blue=none,..."`` over the defaults; ValueError with a readable message."""
    pins: dict[str, int | None] = dict(DEFAULT_PINS)
    for part in filter(None, (text or "").replace(" ", "").split(",")):
        name, sep, value = part.partition("=")
        if not sep or name not in DEFAULT_PINS:
            raise ValueError(f"bad pin setting {part!r} (names: {', '.join(DEFAULT_PINS)})")
        if value.lower() == "none" and name in OPTIONAL:
            pins[name] = None
        elif value.isdigit() and 0 <= int(value) <= 27:
            pins[name] = int(value)
        else:
            raise ValueError(f"bad BCM pin {value!r} for {name}")
    used = [pin for pin in pins.values() if pin is not None]
    if len(used) != len(set(used)):
        raise ValueError("two devices on the same pin")
    return pins


FACTORIES = ("mock", "lgpio", "rpigpio", "pigpio", "native")


class NoGpio(Exception):
    """No pin factory could drive the pins: one line that says what to do."""


def use_factory(name: str | None) -> None:
    """``--pin-factory``: gpiozero reads ``GPIOZERO_PIN_FACTORY`` at the first device."""
    if name:
        os.environ["GPIOZERO_PIN_FACTORY"] = name


def is_mock() -> bool:
    return os.environ.get("GPIOZERO_PIN_FACTORY", "").lower() == "mock"


@dataclass
class Devices:
    leds: dict[str, object]
    relay: object
    buttons: dict[str, object]
    mock: bool

    def close(self) -> None:
        for device in [*self.leds.values(), self.relay, *self.buttons.values()]:
            try:
                device.close()
            except Exception:  # noqa: BLE001 - closing is best effort at exit
                pass


def build(pins: dict[str, int | None]) -> Devices:
    """Build LEDs (PWMLED), the relay (OutputDevice) and buttons (pull-up, debounced);
    :class:`NoGpio` when this machine has no pins gpiozero can drive."""
    from gpiozero import GPIOZeroError, PinFactoryFallback

    try:
        with warnings.catch_warnings():  # one warning per factory tried: the error says it
            warnings.simplefilter("ignore", PinFactoryFallback)
            return _build(pins)
    except (GPIOZeroError, ImportError) as error:
        factory = os.environ.get("GPIOZERO_PIN_FACTORY")
        why = f"pin factory {factory!r}: {error}" if factory else str(error).rstrip("!.")
        raise NoGpio(f"cannot drive the GPIO pins ({why}); on a machine without GPIO "
                     "start it with --pin-factory mock and press its buttons with "
                     "ev-cp-e panel or its keys") from None


def _build(pins: dict[str, int | None]) -> Devices:
    from gpiozero import PWMLED, Button, Device, OutputDevice

    mock = is_mock()
    if mock and not _has_mock_factory(Device):
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    leds = {name: PWMLED(pins[name]) for name in LED_NAMES if pins.get(name) is not None}
    relay = OutputDevice(pins["relay"], initial_value=False)
    bounce = None if mock else 0.05
    buttons = {
        name: Button(pins[name], pull_up=True, bounce_time=bounce) for name in BUTTON_NAMES
    }
    return Devices(leds=leds, relay=relay, buttons=buttons, mock=mock)


def _has_mock_factory(device_class) -> bool:
    from gpiozero.pins.mock import MockFactory

    return isinstance(device_class.pin_factory, MockFactory)
