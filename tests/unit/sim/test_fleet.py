"""The demo's CPs and the drivers' requests files."""

from __future__ import annotations

import itertools
import random

from sim.fleet import driver_files, plan


def cp_ids(path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def test_plan_spreads_cps_over_the_cities_with_free_ports():
    cps = plan(12, itertools.count(20000))
    assert [cp.cp_id for cp in cps[:2]] == ["MAD-01", "LIS-01"]
    assert [cp.cp_id for cp in cps[10:]] == ["MAD-02", "LIS-02"]
    assert len({port for cp in cps for port in (cp.engine_port, cp.panel_port)}) == 24


def test_a_requests_file_draws_its_cps_from_those_given(tmp_path):
    cps = plan(3, itertools.count(20000))[1:]
    files = driver_files(tmp_path, ["DRV-01", "DRV-02"], 20, cps, random.Random(1))
    for path in files.values():
        lines = cp_ids(path)
        assert len(lines) == 20 and set(lines) <= {"LIS-01", "PAR-01"}


def test_first_is_every_files_first_request(tmp_path):
    cps = plan(4, itertools.count(20000))
    files = driver_files(tmp_path, ["DRV-01"], 5, cps[:3], random.Random(1), first=cps[3])
    lines = cp_ids(files["DRV-01"])
    assert lines[0] == "BER-01" and len(lines) == 5 and set(lines[1:]) <= {"MAD-01", "LIS-01",
                                                                            "PAR-01"}
