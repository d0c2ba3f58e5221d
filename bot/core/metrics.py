"""Process-wide metrics of the parts every process shares: the bounded database runner
(bot/core/runner.py), status lookups (bot/status/service.py) and actions (bot/action_server.py).

The objects live in a private ``CollectorRegistry`` (``REGISTRY``), not prometheus-client's
global one: the action server serves this registry on its ``/metrics`` (actions/metrics.py), the
gateway appends it to its own (bot/web/metrics.py). Every process of ours is a single process
(no forked workers of our code), so no multiprocess mode is needed. Labels are small fixed sets;
nothing personal ever becomes a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

#: Seconds; database calls are short, a timeout is ``KW_DB_TIMEOUT_S`` (a few seconds).
DB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Seconds; an action may wait on the database and a throttle's delay.
ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

DB_CALL_DURATION = Histogram(
    "kw_db_call_duration_seconds",
    "Database calls through the bounded runner, until their result (or their timeout).",
    registry=REGISTRY,
    buckets=DB_BUCKETS,
)
DB_TIMEOUTS = Counter("kw_db_timeouts", "Database calls that took longer than their bound.", registry=REGISTRY)

ACTION_DURATION = Histogram(
    "kw_action_duration_seconds",
    "Custom actions run by the action server, by action name.",
    ["action"],
    registry=REGISTRY,
    buckets=ACTION_BUCKETS,
)
ACTION_ERRORS = Counter(
    "kw_action_errors",
    "Custom actions that failed (an exception; Rasa drops their events).",
    ["action"],
    registry=REGISTRY,
)

#: found: number and code (or portal scope) matched; not_found: no such application (or not
#: the portal's gemeente); bad_code: the number exists but the code did not match (the user
#: hears "not found" for both); locked: the asker is locked out; throttled: a number or the
#: global throttle slowed the lookup (whatever its result); error: the database failed.
LOOKUP_OUTCOMES = ("found", "not_found", "bad_code", "locked", "throttled", "error")
STATUS_LOOKUPS = Counter("kw_status_lookups", "Status lookups by outcome.", ["outcome"], registry=REGISTRY)
for _outcome in LOOKUP_OUTCOMES:
    STATUS_LOOKUPS.labels(outcome=_outcome)

#: The name used for an action the server does not know (keeps the label set fixed).
UNKNOWN_ACTION = "unknown"


def count_lookup(outcome: str) -> None:
    STATUS_LOOKUPS.labels(outcome=outcome if outcome in LOOKUP_OUTCOMES else "error").inc()
