#!/bin/sh
# Installs the Debian packages that `make demo` or `make test` needs, when they are
# missing and we are root with apt-get; otherwise says in one line exactly what to install.
#   system-deps.sh demo   Mosquitto (the demo's MQTT broker)
#   system-deps.sh test   the above, plus Chromium, openssl, and for the Pi stand-in
#                         container (tests/pi_container.py) systemd-nspawn, debootstrap, ssh
# Under CI=true a missing package is a failure, never a silent skip.
set -eu
what="${1:-test}"
sbin="${SYSTEM_DEPS_SBIN:-/usr/sbin}"  # where Debian puts daemons (tests point it elsewhere)
missing=""
[ -x "$sbin/mosquitto" ] || command -v mosquitto >/dev/null 2>&1 || missing="$missing mosquitto"
if [ "$what" = test ]; then
    command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
    command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
    command -v systemd-nspawn >/dev/null 2>&1 || missing="$missing systemd-container"
    command -v debootstrap >/dev/null 2>&1 || [ -x "$sbin/debootstrap" ] || missing="$missing debootstrap"
    command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing$missing (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    how="sudo apt-get install -y$missing"
else
    how="your package manager:$missing"
fi
if [ "${CI:-}" = true ]; then
    echo "missing packages; install them with $how" >&2
    exit 1
elif [ "$what" = demo ]; then
    echo "Mosquitto is missing: the demo falls back to amqtt, which does not keep QoS 1; install it with $how" >&2
else
    echo "missing packages (the tests that need them will be skipped); install them with $how" >&2
fi
