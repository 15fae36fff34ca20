#!/usr/bin/env bash
# Make sure PostgreSQL's server programs (initdb, pg_ctl) are installed, for the tests that run every
# store-backed test on PostgreSQL too. Installs Debian's postgresql package with apt-get when they are
# missing (needs root, as in CI); does nothing when they are there. Installing Debian's package may create
# and start its own "main" cluster: the tests never use or touch it (they start a throw-away one).
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    echo "postgresql: server programs already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgresql: initdb is missing and apt-get is not available; install PostgreSQL by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "postgresql: installing needs root (or sudo); run this script as root" >&2
        exit 1
    fi
fi

echo "postgresql: server programs are missing; installing Debian's postgresql package"
echo "+ $SUDO apt-get update"
$SUDO apt-get update
echo "+ $SUDO apt-get install -y --no-install-recommends postgresql"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql
echo "postgresql: installed ($(ls -d /usr/lib/postgresql/*/bin | tail -1))"
