#!/bin/sh
# Installs the Debian packages the tests need when they are missing and we are root:
# Chromium, Mosquitto, openssl, and for the Pi stand-in container (tests/pi_container.py)
# systemd-nspawn, debootstrap and the SSH client.
# Under CI=true a missing package is a failure, never a silent skip.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || missing="$missing mosquitto"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v systemd-nspawn >/dev/null 2>&1 || missing="$missing systemd-container"
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing="$missing debootstrap"
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing$missing (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
elif [ "${CI:-}" = true ]; then
    echo "missing Debian packages:$missing (run as root or install them)" >&2
    exit 1
else
    echo "warning: missing$missing; the tests that need them will be skipped" >&2
fi
