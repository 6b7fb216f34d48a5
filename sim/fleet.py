"""What a simulated site looks like: CPs in cities with prices, and their ports."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CITIES = [
    ("MAD", "Madrid", "0.35"),
    ("LIS", "Lisbon", "0.29"),
    ("PAR", "Paris", "0.42"),
    ("BER", "Berlin", "0.39"),
    ("ROM", "Rome", "0.33"),
    ("AMS", "Amsterdam", "0.45"),
    ("VIE", "Vienna", "0.37"),
    ("PRG", "Prague", "0.27"),
    ("DUB", "Dublin", "0.41"),
    ("OSL", "Oslo", "0.31"),
]


@dataclass(frozen=True)
class SimulatedCP:
    cp_id: str
    location: str
    price: Decimal
    engine_port: int
    panel_port: int


def plan(count: int, ports) -> list[SimulatedCP]:
    """``count`` CPs spread over the cities; ``ports`` yields free port numbers."""
    cps = []
    for n in range(count):
        code, city, price = CITIES[n % len(CITIES)]
        cp_id = f"{code}-{n // len(CITIES) + 1:02d}"
        cps.append(SimulatedCP(cp_id, city, Decimal(price), next(ports), next(ports)))
    return cps


def driver_files(folder, drivers: list[str], requests: int, cps: list[SimulatedCP],
                 rng, first: SimulatedCP | None = None) -> dict[str, object]:
    """One requests file per driver: ``requests`` CP ids a line, drawn from ``cps``
    (``first``, when given, is every file's first line)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for driver_id in drivers:
        lines = [rng.choice(cps).cp_id for _ in range(requests)]
        if first is not None:
            lines[0] = first.cp_id
        path = folder / f"{driver_id}.txt"
        path.write_text("# one CP id a line: the driver asks for a supply at each in turn\n"
                        + "\n".join(lines) + "\n")
        files[driver_id] = path
    return files
