#!/usr/bin/env bash
# Install Debian packages for the tests and the cluster: as root without a TTY, or with
# passwordless sudo. A package's own service is not started (policy-rc.d): the project starts
# what it needs itself, on its own ports. Usage: scripts/apt-install.sh PACKAGE…
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "$* ontbreekt en dit script draait niet als root: installeer de pakketten '$*'." >&2
    exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /tmp/kw-policy-rc.d && chmod +x /tmp/kw-policy-rc.d
  $SUDO cp /tmp/kw-policy-rc.d /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "$@"
