"""LED patterns: a pure function of the engine's facts, and a thin applier onto gpiozero."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from protocol.states import EngineState

log = logging.getLogger(__name__)

COLOURS = ("green", "amber", "red", "blue")
PATTERNS = ("on", "off", "blink", "blink-slow", "pulse")
Pattern = dict[str, str]


@dataclass(frozen=True)
class View:
    """The facts the LEDs depend on."""

    state: EngineState
    monitor: bool
    central: bool


def pattern(view: View, has_blue: bool = True) -> Pattern:
    """DISCONNECTED > BROKEN > STOPPED > SUPPLYING > AUTHORIZED > AVAILABLE.

    A supply under way keeps its colour while Central is down (it runs to its end).
    """
    lit = dict.fromkeys(COLOURS, "off")
    if view.state == EngineState.SUPPLYING:
        if has_blue:
            lit["blue"] = "on"
        else:
            lit["green"] = "pulse"
    elif not (view.monitor and view.central):
        lit["amber"] = "blink-slow"
    elif view.state == EngineState.BROKEN:
        lit["red"] = "on"
    elif view.state == EngineState.STOPPED:
        lit["amber"] = "on"
    elif view.state == EngineState.AUTHORIZED:
        lit["green"] = "blink"
    else:
        lit["green"] = "on"
    return lit


class LedBoard:
    """Applies patterns to gpiozero LEDs (``LED`` or ``PWMLED``), only on change."""

    def __init__(self, leds: Mapping[str, object]) -> None:
        self._leds = {colour: led for colour, led in leds.items() if led is not None}
        self._shown: Pattern = {}

    @property
    def has_blue(self) -> bool:
        return "blue" in self._leds

    def show(self, wanted: Pattern) -> None:
        for colour, led in self._leds.items():
            mode = wanted.get(colour, "off")
            if self._shown.get(colour) != mode:
                _apply(led, mode)
        self._shown = dict(wanted)

    def off(self) -> None:
        self.show(dict.fromkeys(COLOURS, "off"))


def _apply(led, mode: str) -> None:
    if mode == "on":
        led.on()
    elif mode == "blink":
        led.blink(on_time=0.5, off_time=0.5)
    elif mode == "blink-slow":
        led.blink(on_time=0.3, off_time=1.7)
    elif mode == "pulse":
        if hasattr(led, "pulse"):
            led.pulse(fade_in_time=1, fade_out_time=1)
        else:
            led.blink(on_time=1, off_time=1)
    else:
        led.off()
