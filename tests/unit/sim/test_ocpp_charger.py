"""The demo's OCPP charger: its URL, and the printout's lines for it and for a real one."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from sim.ocpp_charger import OCPP_CP_ID, REAL_CHARGER, DemoOcppCharger, ocpp_url

FLAGS = ["--registry", "https://127.0.0.1:8443", "--ca", "ca.crt",
         "--enroll-token-file", "enroll.token"]


@pytest.mark.parametrize(("endpoint", "url"), [
    (("127.0.0.1", 9000), "ws://127.0.0.1:9000/ocpp/OCPP-01"),
    (("0.0.0.0", 9100), "ws://127.0.0.1:9100/ocpp/OCPP-01"),  # a wildcard: via loopback
    (("::", 9100), "ws://127.0.0.1:9100/ocpp/OCPP-01"),
    (("192.0.2.7", 9000), "ws://192.0.2.7:9000/ocpp/OCPP-01"),
])
def test_the_url_is_the_endpoint_and_the_identity(endpoint, url):
    assert ocpp_url(endpoint, "OCPP-01") == url


def charger(tmp_path: Path, endpoint=("127.0.0.1", 9000)) -> DemoOcppCharger:
    return DemoOcppCharger(tmp_path, endpoint, itertools.count(20000))


def test_its_ports_come_from_the_free_ones_and_its_password_is_its_registry_secret(tmp_path):
    ocpp = charger(tmp_path)
    assert (ocpp.cp.cp_id, ocpp.cp.engine_port, ocpp.cp.panel_port) == (OCPP_CP_ID, 20000, 20001)
    assert ocpp.password_file(tmp_path / "secrets") == tmp_path / "secrets" / "OCPP-01.secret"


def test_the_printout_names_the_charger_its_url_identity_and_password_file(tmp_path):
    text = "\n".join(charger(tmp_path).guide("ev-cp-m", FLAGS, tmp_path / "secrets"))
    assert "ws://127.0.0.1:9000/ocpp/<id>" in text
    assert (f"URL ws://127.0.0.1:9000/ocpp/OCPP-01, identity OCPP-01, password file "
            f"{tmp_path}/secrets/OCPP-01.secret") in text
    assert "ev-sim --ocpp 0.0.0.0:9000 lets in chargers on your network" in text


def test_the_printout_says_how_a_real_charger_connects(tmp_path):
    lines = charger(tmp_path, ("0.0.0.0", 9001)).guide("ev-cp-m", FLAGS, tmp_path)
    register = next(line.strip() for line in lines if "ev-cp-m register " in line)
    assert register == (f"ev-cp-m register {' '.join(FLAGS)} --cp-id {REAL_CHARGER} "
                        f"--location Madrid --price 0.35 --secret-file {REAL_CHARGER}.secret")
    text = "\n".join(lines)
    assert f"ws://THIS-HOST:9001/ocpp/{REAL_CHARGER}, identity {REAL_CHARGER}" in text
    assert "lets in chargers on your network" not in text  # it listens on every address


def test_an_ipv6_endpoint_is_printed_in_brackets(tmp_path):
    lines = charger(tmp_path, ("::", 9000)).guide("ev-cp-m", FLAGS, tmp_path)
    assert lines[0] == "OCPP 1.6J: Central's OCPP endpoint is ws://[::]:9000/ocpp/<id>"
