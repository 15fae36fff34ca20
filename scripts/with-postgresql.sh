#!/usr/bin/env bash
# Run a command (the test suite) with a PostgreSQL server for the store-backed tests' PostgreSQL runs.
#
# $BROKER_INTEGRATION_TEST_PG_URL set: that server is used as it is. Otherwise Debian's PostgreSQL is
# installed if missing (scripts/ensure-postgresql.sh, needs root) and a throw-away cluster is started on
# loopback (initdb as the postgres user into a temporary folder, a free port, fsync off), named to the
# command by $BROKER_INTEGRATION_TEST_PG_URL and removed when it ends. A cluster the machine already has is
# left alone. When PostgreSQL cannot be had, the command runs without it (those runs are skipped, saying
# so), unless REQUIRE_POSTGRESQL=1 (CI), which makes that an error.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${BROKER_INTEGRATION_TEST_PG_URL:-}" ]; then
    exec "$@"
fi

if ! bash scripts/ensure-postgresql.sh; then
    if [ "${REQUIRE_POSTGRESQL:-0}" = "1" ]; then
        echo "postgresql: required (REQUIRE_POSTGRESQL=1) but not available" >&2
        exit 1
    fi
    echo "postgresql: not available; the store tests run on SQLite only" >&2
    exec "$@"
fi

PG_TMP="$(mktemp -d /tmp/broker-integration-pg.XXXXXX)"
cleanup() {
    python3 src/broker_integration/testing/postgres.py stop "$PG_TMP/cluster" || true
    rm -rf "$PG_TMP"
}
trap cleanup EXIT
chmod 755 "$PG_TMP"
eval "$(python3 src/broker_integration/testing/postgres.py start "$PG_TMP/cluster")"
export BROKER_INTEGRATION_TEST_PG_URL
"$@"
