#!/usr/bin/env bash
# Make sure the browser tests can run: Debian's chromium at /usr/bin/chromium.
# Idempotent; works as root without a TTY. Never downloads a browser from elsewhere
# (Playwright is launched with executable_path=/usr/bin/chromium).
set -euo pipefail
CHROMIUM="${KW_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
"$(dirname "$0")/apt-install.sh" chromium fonts-liberation fonts-dejavu-core
if [ ! -x "$CHROMIUM" ]; then
  echo "chromium is geïnstalleerd maar niet gevonden op $CHROMIUM" >&2
  exit 1
fi
