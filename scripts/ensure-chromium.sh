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

echo "chromium: $CHROMIUM is missing"
bash "$(dirname "$0")/apt-install.sh" chromium chromium
echo "chromium: installed ($("$CHROMIUM" --version 2>/dev/null || echo "version unknown"))"
