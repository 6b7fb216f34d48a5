"""``ev-cp-e selftest``: a bench test of the wiring, without Central or a monitor.

It lights every LED on its own, then blinks them all, clicks the relay on and off, and
then for ``--seconds`` reports each button press and card read as it happens, one line
each, and ends with a summary (exit 0). The hardware is passed in (:func:`run`), so the
test drives it with gpiozero's mock pins (``GPIOZERO_PIN_FACTORY=mock``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.engine import hardware
from edge.engine.cardreader import BadFrame, CardReader, driver_for

DEFAULT_SECONDS = 20.0


@dataclass
class Summary:
    presses: Counter = field(default_factory=Counter)
    cards: list[str] = field(default_factory=list)
    bad_frames: int = 0

    def line(self) -> str:
        buttons = ", ".join(f"{name}={count}" for name, count in sorted(self.presses.items()))
        return (f"selftest done: {sum(self.presses.values())} button press(es)"
                f"{f' ({buttons})' if buttons else ''}, {len(self.cards)} card read(s)"
                f"{f' ({len(set(self.cards))} distinct)' if self.cards else ''}, "
                f"{self.bad_frames} bad frame(s)")


def run(
    devices: hardware.Devices, seconds: float = DEFAULT_SECONDS, *,
    card_reader: str | None = None, out: Callable[[str], None] = print,
    step_s: float = 0.5, stop: threading.Event | None = None,
) -> Summary:
    """Cycle the LEDs, toggle the relay, then listen for ``seconds``; the summary."""
    stop = stop or threading.Event()
    summary = Summary()
    lock = threading.Lock()
    started = time.monotonic()

    def say(text: str) -> None:
        with lock:
            out(f"[{time.monotonic() - started:5.1f}s] {text}")

    for name, led in devices.leds.items():
        say(f"LED {name} on")
        led.on()
        stop.wait(step_s)
        led.off()
    say(f"LEDs {', '.join(devices.leds)} blinking")
    for led in devices.leds.values():
        led.blink(on_time=step_s / 2, off_time=step_s / 2, background=True)
    stop.wait(step_s * 3)
    for led in devices.leds.values():
        led.off()
    say("relay on")
    devices.relay.on()
    stop.wait(step_s)
    devices.relay.off()
    say("relay off")

    def pressed(name: str) -> None:
        with lock:
            summary.presses[name] += 1
        say(f"button {name} pressed")

    def card(card_id: str) -> None:
        with lock:
            summary.cards.append(card_id)
        say(f"card {card_id} read (driver {driver_for(card_id)})")

    def bad(frame: BadFrame) -> None:
        with lock:
            summary.bad_frames += 1
        say(f"bad card frame {frame.raw}: {frame.reason}")

    reader = None
    if card_reader:
        reader = CardReader(card_reader, card, bad).start()
    for name, button in devices.buttons.items():
        button.when_pressed = lambda n=name: pressed(n)
    try:
        say(f"listening {seconds:g} s for buttons ({', '.join(devices.buttons)})"
            f"{f' and cards on {card_reader}' if card_reader else ''}")
        stop.wait(seconds)
    finally:
        for button in devices.buttons.values():
            button.when_pressed = None
        if reader is not None:
            reader.close()
    out(summary.line())
    return summary


def main(argv: list[str]) -> int:
    from runtime import config

    parser = config.Parser(prog="ev-cp-e selftest", description="Bench-test LEDs, relay, "
                           "buttons and the card reader")
    parser.add_argument("--pins", metavar="MAP", default="", help='e.g. "green=17,relay=24"')
    parser.add_argument("--pin-factory", choices=hardware.FACTORIES,
                        help="gpiozero pin factory; mock on a machine without GPIO")
    parser.add_argument("--card-reader", metavar="URL", help="RDM6300 reader, e.g. /dev/serial0")
    parser.add_argument("--seconds", metavar="N", type=float, default=DEFAULT_SECONDS,
                        help="seconds to listen for buttons and cards (default 20)")
    args = parser.parse_args(argv)
    if not 0 <= args.seconds <= 3600:
        parser.error("--seconds must be between 0 and 3600")
    try:
        pins = hardware.parse_pins(args.pins)
    except ValueError as error:
        parser.error(f"--pins: {error}")
    try:
        devices = hardware.build(pins, args.pin_factory)
    except hardware.NoGpio as error:
        config.fail(str(error), parser.prog)
    try:
        print(f"pins (BCM): {', '.join(f'{k}={v}' for k, v in pins.items())}"
              f"{' [mock pins]' if devices.mock else ''}", flush=True)
        run(devices, args.seconds, card_reader=args.card_reader,
            out=lambda line: print(line, flush=True))
    except OSError as error:
        sys.stderr.write(f"ev-cp-e selftest: error: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        devices.close()
    return 0
