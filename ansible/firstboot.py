"""Per-CP cloud-init seeds from the Ansible inventory, for a blank Raspberry Pi SD card.

    python ansible/firstboot.py -i ansible/inventory.yml --ssh-key ~/.ssh/id_ed25519.pub \\
        --wifi-ssid SiteNet --wifi-password-file wifi.txt --out seeds/

writes ``seeds/<host>/user-data``, ``network-config`` and ``meta-data`` for every host of
the ``edge`` group: the hostname, the Ansible user with the SSH key (no password login,
passwordless sudo), SSH switched on (Raspberry Pi OS ships it off), the UART for the card
reader (no login console on it) and the Wi-Fi (Ethernet with DHCP always works). Copy a
host's three files to the boot partition of its card, replacing any of the same name:
Raspberry Pi OS Trixie (November 2025) and later read them with cloud-init's NoCloud
source, as they read what Raspberry Pi Imager writes. Boot the Pi, then run the playbook.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import yaml


def edge_hosts(inventory: dict) -> dict[str, dict]:
    """host -> its variables (group vars of ``all`` and ``edge`` below its own)."""
    root = inventory.get("all", inventory) or {}
    groups = root.get("children", {}) or {}
    edge = groups.get("edge", {}) or {}
    shared = {**(root.get("vars") or {}), **(edge.get("vars") or {})}
    return {host: {**shared, **(values or {})}
            for host, values in (edge.get("hosts") or {}).items()}


def user_data(host: str, variables: dict, ssh_key: str) -> str:
    user = variables.get("ansible_user", "pi")
    config = {
        "hostname": host.split(".")[0],
        "fqdn": host if "." in host else None,
        "manage_etc_hosts": True,
        "ssh_pwauth": False,
        "users": [{
            "name": user,
            "groups": "sudo, gpio, dialout",
            "shell": "/bin/bash",
            "sudo": "ALL=(ALL) NOPASSWD:ALL",
            "lock_passwd": True,
            "ssh_authorized_keys": [ssh_key.strip()],
        }],
        "timezone": variables.get("firstboot_timezone", "UTC"),
        "package_update": False,
        # Raspberry Pi OS's cloud-init module: the UART on GPIO 14/15 for the RDM6300
        # card reader (/dev/serial0), without a login console on it
        "rpi": {"interfaces": {"serial": {"console": False, "hardware": True}}},
        # cloud-init installs the key but Raspberry Pi OS keeps sshd disabled
        "runcmd": [["systemctl", "enable", "--now", "ssh"]],
    }
    config = {key: value for key, value in config.items() if value is not None}
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False)


def wpa_psk(ssid: str, passphrase: str) -> str:
    """The WPA2 pre-shared key (PBKDF2-HMAC-SHA1, 4096 rounds), as wpa_passphrase and
    Raspberry Pi Imager compute it: the passphrase itself never lands on the card."""
    return hashlib.pbkdf2_hmac("sha1", passphrase.encode(), ssid.encode(), 4096, 32).hex()


def network_config(ssid: str | None, password: str | None, country: str) -> str:
    network: dict = {"version": 2, "ethernets": {"eth0": {"dhcp4": True, "optional": True}}}
    if ssid:
        access = {"password": wpa_psk(ssid, password)} if password else {}
        network["wifis"] = {"wlan0": {"dhcp4": True, "optional": True,
                                      "regulatory-domain": country,
                                      "access-points": {ssid: access}}}
    return yaml.safe_dump({"network": network}, sort_keys=False)


def meta_data(host: str, variables: dict) -> str:
    return yaml.safe_dump({"instance-id": f"evcharging-{variables.get('cp_id', host)}",
                           "local-hostname": host.split(".")[0]}, sort_keys=False)


def write_seeds(inventory: dict, out: Path, ssh_key: str, ssid: str | None = None,
                password: str | None = None, country: str = "ES") -> list[Path]:
    written = []
    for host, variables in edge_hosts(inventory).items():
        folder = out / host
        folder.mkdir(parents=True, exist_ok=True)
        files = {"user-data": user_data(host, variables, ssh_key),
                 "network-config": network_config(ssid, password, country),
                 "meta-data": meta_data(host, variables)}
        for name, text in files.items():
            path = folder / name
            path.write_text(text)
            path.chmod(0o600)  # the Wi-Fi key
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="firstboot", description=__doc__.split("\n")[0])
    parser.add_argument("-i", "--inventory", required=True, help="the Ansible inventory (YAML)")
    parser.add_argument("--ssh-key", required=True, help="public key file for the Ansible user")
    parser.add_argument("--wifi-ssid", help="Wi-Fi network (Ethernet only when absent)")
    parser.add_argument("--wifi-password-file", help="file holding the Wi-Fi password")
    parser.add_argument("--wifi-country", default="ES", help="regulatory domain (default ES)")
    parser.add_argument("--out", default="seeds", help="output folder (default seeds)")
    args = parser.parse_args(argv)
    try:
        inventory = yaml.safe_load(Path(args.inventory).read_text()) or {}
        key = Path(args.ssh_key).expanduser().read_text()
        password = (Path(args.wifi_password_file).read_text().strip()
                    if args.wifi_password_file else None)
    except (OSError, yaml.YAMLError) as error:
        parser.exit(2, f"firstboot: error: {error}\n")
    written = write_seeds(inventory, Path(args.out), key, args.wifi_ssid, password,
                          args.wifi_country)
    if not written:
        parser.exit(2, "firstboot: error: no hosts in the edge group\n")
    print(f"wrote {len(written) // 3} seeds under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
