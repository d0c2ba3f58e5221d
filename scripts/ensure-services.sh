#!/usr/bin/env bash
# The production-path tests need PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379). On this
# kind of machine both run before a session starts; when one is down (a fresh container, a
# developer laptop), start the Debian service the same way the machine does. Idempotent.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL draait niet: starten…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  fi
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Redis draait niet: starten…"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  fi
fi
for i in $(seq 1 50); do
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && exit 0
  sleep 0.2  # readiness poll of a service being started
done
echo "PostgreSQL of Redis is niet bereikbaar op 127.0.0.1; de productietests hebben beide nodig." >&2
exit 1
