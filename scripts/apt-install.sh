#!/usr/bin/env bash
# Install Debian packages with apt-get, as root or through sudo, printing every step:
#   bash scripts/apt-install.sh WHAT PACKAGE...
# WHAT names what is being installed in the messages. Exits non-zero, saying why, when apt-get is not
# available or neither root nor sudo is.
set -euo pipefail

WHAT="$1"
shift

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$WHAT: apt-get is not available; install $* by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "$WHAT: installing needs root (or sudo); run this as root" >&2
        exit 1
    fi
fi

echo "$WHAT: installing Debian's $*"
echo "+ $SUDO apt-get update"
$SUDO apt-get update
echo "+ $SUDO apt-get install -y --no-install-recommends $*"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"
