#!/bin/sh
# Installs the interoperability tests' Node.js packages (tests/interop: ocpp-rpc, an OCPP
# 1.6J implementation nobody here wrote) exactly as the committed lockfile says (npm ci).
# Without Node.js the interop tests are skipped with one line; under CI=true that is a
# failure, never a silent skip.
set -eu
dir="$(dirname "$0")/../tests/interop"
if ! command -v npm >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
        echo "Node.js (npm) is missing: the OCPP interop tests need it; install it with sudo apt-get install -y nodejs npm" >&2
        exit 1
    fi
    echo "Node.js (npm) is missing: the OCPP interop tests will be skipped; install it with sudo apt-get install -y nodejs npm" >&2
    exit 0
fi
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
touch node_modules/.installed
