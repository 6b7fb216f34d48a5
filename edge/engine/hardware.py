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
PREFERRED = FACTORIES[1:]  # gpiozero's own order when none is named


class NoGpio(Exception):
    """No pin factory could drive the pins: one line that says what to do."""


def factory_name(name: str | None = None) -> str | None:
    """``--pin-factory``, else ``GPIOZERO_PIN_FACTORY`` (a Pi's systemd unit sets it)."""
    return (name or os.environ.get("GPIOZERO_PIN_FACTORY") or "").lower() or None


def pin_factory(name: str | None = None):
    """A new gpiozero pin factory: the one called ``name`` (see :func:`factory_name`), or
    the first of :data:`PREFERRED` that loads.  ``mock`` gets PWM-capable mock pins."""
    from importlib.metadata import entry_points

    from gpiozero import BadPinFactory

    name = factory_name(name)
    if name == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin)
    known = {point.name: point for point in entry_points(group="gpiozero_pin_factories")}
    if name is not None:
        if name not in known:
            raise BadPinFactory(f"Unable to find pin factory {name!r}")
        return known[name].load()()
    for candidate in PREFERRED:
        try:
            return known[candidate].load()()
        except Exception:  # noqa: BLE001 - as gpiozero does: try the next one
            continue
    raise BadPinFactory("Unable to load any default pin factory!")


@dataclass
class Devices:
    leds: dict[str, object]
    relay: object
    buttons: dict[str, object]
    factory: object  # the gpiozero pin factory every device was built on
    owns_factory: bool = True  # closed with the devices (False: the caller's own)

    @property
    def mock(self) -> bool:
        """Mock pins: nothing presses the buttons but the virtual panel."""
        from gpiozero.pins.mock import MockFactory

        return isinstance(self.factory, MockFactory)

    def close(self) -> None:
        for device in [*self.leds.values(), self.relay, *self.buttons.values()]:
            try:
                device.close()
            except Exception:  # noqa: BLE001 - closing is best effort at exit
                pass
        if self.owns_factory:
            try:
                self.factory.close()
            except Exception:  # noqa: BLE001 - closing is best effort at exit
                pass


def build(pins: dict[str, int | None], name: str | None = None, *, factory=None) -> Devices:
    """Build LEDs (PWMLED), the relay (OutputDevice) and buttons (pull-up, debounced) on
    ``factory``, or on a new :func:`pin_factory` called ``name``; every device is given
    its factory (gpiozero's global ``Device.pin_factory`` is never set).  :class:`NoGpio`
    when this machine has no pins gpiozero can drive."""
    from gpiozero import GPIOZeroError, PinFactoryFallback

    owned = factory is None
    try:
        with warnings.catch_warnings():  # one warning per factory tried: the error says it
            warnings.simplefilter("ignore", PinFactoryFallback)
            if owned:
                factory = pin_factory(name)
            return _build(pins, factory, owned)
    except (GPIOZeroError, ImportError) as error:
        chosen = factory_name(name)
        why = f"pin factory {chosen!r}: {error}" if chosen else str(error).rstrip("!.")
        if owned and factory is not None:
            factory.close()
        raise NoGpio(f"cannot drive the GPIO pins ({why}); on a machine without GPIO "
                     "start it with --pin-factory mock and press its buttons with "
                     "ev-cp-e panel or its keys") from None


def _build(pins: dict[str, int | None], factory, owned: bool) -> Devices:
    from gpiozero import PWMLED, Button, OutputDevice
    from gpiozero.pins.mock import MockFactory

    on = {"pin_factory": factory}
    leds = {name: PWMLED(pins[name], **on) for name in LED_NAMES if pins.get(name) is not None}
    relay = OutputDevice(pins["relay"], initial_value=False, **on)
    bounce = None if isinstance(factory, MockFactory) else 0.05
    buttons = {
        name: Button(pins[name], pull_up=True, bounce_time=bounce, **on) for name in BUTTON_NAMES
    }
    return Devices(leds=leds, relay=relay, buttons=buttons, factory=factory, owns_factory=owned)
