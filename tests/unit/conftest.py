"""Fixtures of the unit tests. The status-store database fixtures live in tests/status_fixtures.py."""
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.status_fixtures import *  # noqa: E402,F401,F403
