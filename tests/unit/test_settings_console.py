"""The gateway's tunables that used to be constants in the code are settings now."""

import pytest

from bot.settings import SettingsError, load


def env(tmp_path, **extra):
    return {"KW_VAR_DIR": str(tmp_path), **extra}


def test_defaults_and_overrides(tmp_path):
    s = load(env(tmp_path))
    assert (s.helpdesk_login_rate_per_minute, s.helpdesk_poll_s, s.log_level) == (20, 2.0, "INFO")
    assert s.portal_jwt_public_key == "" and s.demo_portal is True
    s = load(
        env(
            tmp_path,
            KW_HELPDESK_LOGIN_RATE_PER_MINUTE="5",
            KW_HELPDESK_POLL_S="0.5",
            KW_LOG_LEVEL="warning",
            KW_DEMO_PORTAL="0",
        )
    )
    assert (s.helpdesk_login_rate_per_minute, s.helpdesk_poll_s, s.log_level, s.demo_portal) == (
        5,
        0.5,
        "WARNING",
        False,
    )


def test_bad_values_name_the_variable(tmp_path):
    with pytest.raises(SettingsError, match="KW_LOG_LEVEL"):
        load(env(tmp_path, KW_LOG_LEVEL="luid"))
    with pytest.raises(SettingsError, match="KW_HELPDESK_POLL_S"):
        load(env(tmp_path, KW_HELPDESK_POLL_S="vaak"))
