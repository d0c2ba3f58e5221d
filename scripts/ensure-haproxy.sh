#!/usr/bin/env bash
# The cluster (`make run-cluster`) and its fault tests put HAProxy from Debian's packages in
# front of the gateways, Rasa replicas and action servers. Idempotent.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
"$(dirname "$0")/apt-install.sh" haproxy
test -x /usr/sbin/haproxy || { echo "haproxy is geïnstalleerd maar niet gevonden" >&2; exit 1; }
