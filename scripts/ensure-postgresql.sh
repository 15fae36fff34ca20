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

echo "postgresql: server programs are missing"
bash "$(dirname "$0")/apt-install.sh" postgresql postgresql
echo "postgresql: installed ($(ls -d /usr/lib/postgresql/*/bin | tail -1))"
