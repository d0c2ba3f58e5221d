#!/usr/bin/env bash
# The alert rules in deploy/prometheus/ are checked and unit-tested with promtool, and one
# integration test runs a real Prometheus against a gateway; both come with Debian's
# `prometheus` package. Its own service is not started (apt-install.sh). Idempotent.
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/bin/$1" ]; }
if ! have promtool || ! have prometheus; then
  "$(dirname "$0")/apt-install.sh" prometheus
fi
have promtool || { echo "promtool is geïnstalleerd maar niet gevonden" >&2; exit 1; }
have prometheus || { echo "prometheus is geïnstalleerd maar niet gevonden" >&2; exit 1; }
