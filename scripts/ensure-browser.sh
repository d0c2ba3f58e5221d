#!/usr/bin/env bash
# Make sure the browser tests can run: Debian's chromium at /usr/bin/chromium.
# Idempotent; works as root without a TTY. Never downloads a browser from elsewhere
# (Playwright is launched with executable_path=/usr/bin/chromium).
set -euo pipefail
CHROMIUM="${KW_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "chromium ontbreekt en dit script draait niet als root: installeer het pakket 'chromium'." >&2
    exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation fonts-dejavu-core
if [ ! -x "$CHROMIUM" ]; then
  echo "chromium is geïnstalleerd maar niet gevonden op $CHROMIUM" >&2
  exit 1
fi
