#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is installed at /usr/bin/chromium, which the report
# test (tests/acceptance/test_demo_report.py) drives. Installs it with apt-get when it is missing (needs
# root, as in CI); does nothing when it is already there. Prints every step it takes.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "chromium: already installed ($("$CHROMIUM" --version 2>/dev/null || echo "version unknown"))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium: $CHROMIUM is missing and apt-get is not available; install Chromium by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "chromium: installing needs root (or sudo); run this script as root" >&2
        exit 1
    fi
fi

echo "chromium: $CHROMIUM is missing; installing Debian's chromium package"
echo "+ $SUDO apt-get update"
$SUDO apt-get update
echo "+ $SUDO apt-get install -y --no-install-recommends chromium"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
echo "chromium: installed ($("$CHROMIUM" --version 2>/dev/null || echo "version unknown"))"
