"""docs/wiring.md runs: its pin table is the engine's default pin map."""

from __future__ import annotations

import re

from edge.engine import hardware
from tests.support import ROOT

DOC = ROOT / "docs" / "wiring.md"
SVG = ROOT / "docs" / "wiring.svg"
# BCM GPIO -> physical pin on the 40-pin header (all Pi models with that header)
HEADER = {2: 3, 3: 5, 4: 7, 5: 29, 6: 31, 7: 26, 8: 24, 9: 21, 10: 19, 11: 23, 12: 32,
          13: 33, 14: 8, 15: 10, 16: 36, 17: 11, 18: 12, 19: 35, 20: 38, 21: 40, 22: 15,
          23: 16, 24: 18, 25: 22, 26: 37, 27: 13}
GROUND = {6, 9, 14, 20, 25, 30, 34, 39}


def pin_rows() -> dict[str, tuple[int, int]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\|[^|]+\| `(\w+)` \| (\d+) \| (\d+) \|", line)
        if match:
            rows[match[1]] = (int(match[2]), int(match[3]))
    return rows


def test_the_pin_table_is_the_default_pin_map():
    rows = pin_rows()
    assert {name: bcm for name, (bcm, _) in rows.items()} == hardware.DEFAULT_PINS


def test_header_pins_match_the_bcm_numbers():
    for name, (bcm, header) in pin_rows().items():
        assert HEADER[bcm] == header, name


def test_the_reader_is_on_uart_rx_and_grounds_are_grounds():
    text = DOC.read_text()
    assert f"GPIO 15 (UART RXD) | {HEADER[15]} |" in text
    grounds = re.search(r"\| GND \| ([\d, ]+) \|", text)
    assert grounds and {int(p) for p in grounds[1].split(",")} <= GROUND


def test_the_diagram_labels_every_default_pin():
    svg = SVG.read_text()
    for name, bcm in hardware.DEFAULT_PINS.items():
        assert f"GPIO{bcm} " in svg and f"pin {HEADER[bcm]}" in svg, name
    assert "GPIO15 " in svg and "pin 10" in svg
