#!/usr/bin/env bash
# The cluster (`make run-cluster`) and its fault tests put HAProxy from Debian's packages in
# front of the gateways, Rasa replicas and action servers; it terminates TLS there, so it must
# be built with OpenSSL (Debian's is). Idempotent.
set -euo pipefail
haproxy_bin() { command -v haproxy 2>/dev/null || { [ -x /usr/sbin/haproxy ] && echo /usr/sbin/haproxy; } || true; }
if [ -z "$(haproxy_bin)" ]; then
  "$(dirname "$0")/apt-install.sh" haproxy
fi
HAPROXY="$(haproxy_bin)"
test -n "$HAPROXY" || { echo "haproxy is geïnstalleerd maar niet gevonden" >&2; exit 1; }
"$HAPROXY" -vv 2>/dev/null | grep "Built with OpenSSL" >/dev/null \
  || { echo "$HAPROXY is niet gebouwd met OpenSSL: het cluster kan geen TLS afhandelen" >&2; exit 1; }
