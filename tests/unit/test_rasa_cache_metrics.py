"""Rasa's tracker cache on the gateway's /metrics: read from the header on Rasa's answers."""

import pytest
from prometheus_client import generate_latest

from bot.web.metrics import GatewayMetrics, parse_cache_header


def test_the_header_gives_entries_and_bytes():
    assert parse_cache_header("12 3456789") == (12, 3456789)


@pytest.mark.parametrize("header", [None, "", "12", "12 -3", "a b", "1 2 3", "1 2\n", "9" * 16 + " 1", "<b>1</b> 2"])
def test_a_missing_or_malformed_header_is_no_figure(header):
    assert parse_cache_header(header) is None


def test_each_worker_shows_its_latest_figures():
    metrics = GatewayMetrics()
    metrics.rasa_tracker_cache(0, "3 3000")
    metrics.rasa_tracker_cache(1, "5 9000")
    metrics.rasa_tracker_cache(0, "4 4100")
    metrics.rasa_tracker_cache(1, "garbage")
    text = generate_latest(metrics.registry).decode()
    assert 'kw_rasa_tracker_cache_entries{worker="0"} 4.0' in text
    assert 'kw_rasa_tracker_cache_bytes{worker="0"} 4100.0' in text
    assert 'kw_rasa_tracker_cache_bytes{worker="1"} 9000.0' in text
