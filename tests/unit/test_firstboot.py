"""ansible/firstboot.py: cloud-init seeds for each CP of the inventory."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]


def _firstboot():
    spec = importlib.util.spec_from_file_location("firstboot", ROOT / "ansible" / "firstboot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeds_for_every_cp_of_the_example_inventory(tmp_path):
    firstboot = _firstboot()
    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAATEST operator@laptop\n")
    wifi = tmp_path / "wifi.txt"
    wifi.write_text("s3cret wifi\n")
    out = tmp_path / "seeds"
    assert firstboot.main(["-i", str(ROOT / "ansible" / "inventory.example.yml"),
                           "--ssh-key", str(key), "--wifi-ssid", "SiteNet",
                           "--wifi-password-file", str(wifi), "--out", str(out)]) == 0
    hosts = sorted(p.name for p in out.iterdir())
    assert hosts == ["cp-001.local", "cp-002.local", "cp-003.local"]
    text = (out / "cp-002.local" / "user-data").read_text()
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["hostname"] == "cp-002" and data["ssh_pwauth"] is False
    user = data["users"][0]
    assert user["name"] == "pi" and user["lock_passwd"] is True
    assert user["ssh_authorized_keys"] == ["ssh-ed25519 AAAATEST operator@laptop"]
    assert ["systemctl", "enable", "--now", "ssh"] in data["runcmd"]  # off on Pi OS
    assert data["rpi"]["interfaces"]["serial"] == {"console": False, "hardware": True}
    network = yaml.safe_load((out / "cp-002.local" / "network-config").read_text())["network"]
    psk = firstboot.wpa_psk("SiteNet", "s3cret wifi")
    assert network["wifis"]["wlan0"]["access-points"] == {"SiteNet": {"password": psk}}
    assert "s3cret" not in (out / "cp-002.local" / "network-config").read_text()
    meta = yaml.safe_load((out / "cp-002.local" / "meta-data").read_text())
    assert meta == {"instance-id": "evcharging-CP002", "local-hostname": "cp-002"}
    assert (out / "cp-001.local" / "network-config").stat().st_mode & 0o777 == 0o600


def test_ethernet_only_without_wifi_and_error_without_edge_hosts(tmp_path):
    firstboot = _firstboot()
    network = yaml.safe_load(firstboot.network_config(None, None, "ES"))["network"]
    assert "wifis" not in network and network["ethernets"]["eth0"]["dhcp4"] is True
    assert firstboot.write_seeds({"all": {"children": {"central": {}}}}, tmp_path, "k") == []


def test_wifi_key_is_the_wpa2_psk():
    """IEEE 802.11i-2004 annex H.4 test vector (what wpa_passphrase prints)."""
    assert _firstboot().wpa_psk("IEEE", "password") == (
        "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e")
