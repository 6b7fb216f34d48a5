"""The demo's weather office: ``ev-weather --provider sim`` watching every demo city,
with a service token made here and given to Central (``--weather-token-file``), and the
lines of the printout that say how to freeze and thaw a city.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sim.fleet import SimulatedCP
from sim.network import Network

EVERY_S = 4.0  # the office's round, as on a real site


class DemoWeather:
    def __init__(self, folder: Path, cps: list[SimulatedCP]) -> None:
        self.folder = folder
        self.token_file = folder / "weather-token"
        self.locations = folder / "locations"
        self.sim_file = folder / "weather-sim.json"
        self.cities = list(dict.fromkeys(cp.location for cp in cps))
        self.cps = cps

    def create(self) -> DemoWeather:
        """The service token (0600, kept when the folder has one) and the locations."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.token_file.exists():
            self.token_file.touch(mode=0o600)
            self.token_file.write_text(secrets.token_urlsafe(24) + "\n")
        self.locations.write_text("# the demo's cities (ev-weather's menu edits this file)\n"
                                  + "".join(f"{city}\n" for city in self.cities))
        return self

    def central_flags(self) -> list[str]:
        return ["--weather-token-file", str(self.token_file)]

    def start(self, network: Network, central_url: str) -> None:
        network.start("weather", [
            "ev-weather", "--central", central_url.rstrip("/"), "--token-file",
            str(self.token_file), "--locations", str(self.locations), "--provider", "sim",
            "--sim-file", str(self.sim_file), "--every", f"{EVERY_S:g}"])

    def guide(self, ev_weather: str) -> list[str]:
        """The printout's lines: how to freeze and thaw the first city."""
        city = self.cities[0]
        there = ", ".join(cp.cp_id for cp in self.cps if cp.location == city)
        command = f"{ev_weather} set {city} {{}} --sim-file {self.sim_file}"
        return [
            f"Weather: ev-weather (simulated provider) watches {', '.join(self.cities)} "
            f"every {EVERY_S:g} s; a city below 0 C is under a weather alert",
            f"  weather sim file {self.sim_file}",
            f"  {command.format(-3)}   # freeze {city}: {there} out of order "
            "(a supply under way ends first)",
            f"  {command.format(8)}    # thaw it: back in service",
        ]
