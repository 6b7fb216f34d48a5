"""``ev-cp-e selftest`` against gpiozero mock pins: LEDs and relay observed on the pins,
button presses injected on the pins while it runs in a thread."""

from __future__ import annotations

import os
import threading
import tty

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.engine import hardware, selftest
from edge.engine.cardreader import encode
from tests.support import wait_for


@pytest.fixture
def devices():
    factory = MockFactory(pin_class=MockPWMPin)
    built = hardware.build(hardware.DEFAULT_PINS, factory=factory)
    yield built
    built.close()
    factory.close()


def levels(pin) -> list[float]:
    """The pin's distinct successive levels (repeats folded)."""
    seen: list[float] = []
    for state in pin.states:
        value = float(state.state)
        if not seen or seen[-1] != value:
            seen.append(value)
    return seen


def first_on(pin) -> tuple[float, float]:
    """When the pin first went high, and when it went low after that."""
    states = list(pin.states)
    start = next(i for i, state in enumerate(states) if float(state.state) > 0)
    end = next(state.timestamp for state in states[start:] if float(state.state) == 0)
    return states[start].timestamp, end


def test_leds_one_by_one_then_blink_relay_toggles_and_presses_are_reported(devices):
    lines: list[str] = []
    done: dict = {}
    factory = devices.factory
    pins = hardware.DEFAULT_PINS
    stop = threading.Event()  # set once every press is reported: no window to miss

    def out(line: str) -> None:
        lines.append(line)

    thread = threading.Thread(target=lambda: done.setdefault(
        "summary", selftest.run(devices, 60, out=out, step_s=0.1, stop=stop)))
    thread.start()
    wait_for(lambda: any("listening" in line for line in lines), timeout=10)
    for count, name in enumerate(("fault", "plug", "plug", "request"), start=1):
        pin = factory.pin(pins[name])
        pin.drive_low()
        wait_for(lambda n=count: sum(" pressed" in line for line in lines) == n)
        pin.drive_high()
    stop.set()
    thread.join(10)
    summary = done["summary"]
    assert dict(summary.presses) == {"fault": 1, "plug": 2, "request": 1}
    assert summary.cards == [] and summary.bad_frames == 0
    assert sum("button plug pressed" in line for line in lines) == 2
    assert lines[-1] == ("selftest done: 4 button press(es) (fault=1, plug=2, request=1), "
                         "0 card read(s), 0 bad frame(s)")
    windows = [first_on(factory.pin(pins[name])) for name in hardware.LED_NAMES]
    for (_, off), (on, _) in zip(windows, windows[1:], strict=False):
        assert off <= on  # one by one: each is off again before the next lights
    for name in hardware.LED_NAMES:
        seen = levels(factory.pin(pins[name]))
        assert seen.count(1.0) >= 2, (name, seen)  # on alone, then blinking
        assert seen[-1] == 0.0
    assert levels(factory.pin(pins["relay"]))[-2:] == [1.0, 0.0]
    assert not devices.relay.value
    assert all(button.when_pressed is None for button in devices.buttons.values())


def test_card_reads_are_reported(devices):
    lines: list[str] = []
    done: dict = {}
    stop = threading.Event()  # set once the reads are reported: no window to miss
    main_fd, sub_fd = os.openpty()  # the main side plays the RDM6300
    tty.setraw(sub_fd)
    try:
        thread = threading.Thread(target=lambda: done.setdefault("summary", selftest.run(
            devices, 60, card_reader=os.ttyname(sub_fd), out=lines.append, step_s=0.02,
            stop=stop)))
        thread.start()
        wait_for(lambda: any("listening" in line for line in lines), timeout=10)
        os.write(main_fd, encode("0A1B2C3D4E") * 3 + encode("0A1B2C3D4E", check=0))
        wait_for(lambda: any("bad card frame" in line for line in lines))  # read after the rest
        stop.set()
        thread.join(10)
    finally:
        os.close(main_fd)
        os.close(sub_fd)
    summary = done["summary"]
    assert summary.cards == ["0A1B2C3D4E"] and summary.bad_frames == 1
    assert any("card 0A1B2C3D4E read (driver CARD-0A1B2C3D4E)" in line for line in lines)
    assert lines[-1].endswith("1 card read(s) (1 distinct), 1 bad frame(s)")


def test_the_subcommand_runs_on_mock_pins(capsys, monkeypatch):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    from edge.engine import cli

    saved = Device.pin_factory
    assert cli.main(["selftest", "--seconds", "0", "--pins", "blue=none"]) == 0
    assert Device.pin_factory is saved  # each device was given its factory: none is global
    out = capsys.readouterr().out
    assert "[mock pins]" in out and "blue=None" in out
    assert "LED blue" not in out and "relay off" in out
    assert out.splitlines()[-1].startswith("selftest done: 0 button press(es)")


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        selftest.main(["--seconds", "-1"])
    assert exit_.value.code == 2
