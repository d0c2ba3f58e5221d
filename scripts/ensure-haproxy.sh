#!/usr/bin/env bash
# The cluster (`make run-cluster`) and its fault tests put HAProxy from Debian's packages in
# front of the gateways, Rasa replicas and action servers. Idempotent; works as root without a
# TTY, or with passwordless sudo.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "haproxy ontbreekt en dit script draait niet als root: installeer het pakket 'haproxy'." >&2
    exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
# The package's service must not start on port 80 of its own accord: the cluster starts its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /tmp/kw-policy-rc.d && chmod +x /tmp/kw-policy-rc.d
  $SUDO cp /tmp/kw-policy-rc.d /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends haproxy
test -x /usr/sbin/haproxy || { echo "haproxy is geïnstalleerd maar niet gevonden" >&2; exit 1; }
