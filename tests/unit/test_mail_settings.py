"""KW_SMTP_* and the helpdesk's mail settings (bot/settings.py): safe defaults, checked values,
and production refuses a mail feature without TLS."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load
from tests.fixtures.production import production_env


def test_mail_is_off_by_default_and_ports_follow_the_security(tmp_path):
    base = {"KW_VAR_DIR": str(tmp_path)}
    assert not load(base).mail.enabled
    assert load({**base, "KW_SMTP_HOST": "smtp.example.nl"}).mail.port == 587
    assert load({**base, "KW_SMTP_HOST": "smtp.example.nl", "KW_SMTP_SECURITY": "tls"}).mail.port == 465
    mail = load({**base, "KW_SMTP_HOST": "127.0.0.1", "KW_SMTP_SECURITY": "none", "KW_SMTP_PORT": "2525"}).mail
    assert (mail.enabled, mail.port, mail.security) == (True, 2525, "none")
    assert "geheim" not in repr(load({**base, "KW_SMTP_PASSWORD": "geheim-wachtwoord"}).mail)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"KW_SMTP_SECURITY": "ssl3"}, "KW_SMTP_SECURITY"),
        ({"KW_SMTP_FROM": "geen adres"}, "KW_SMTP_FROM"),
        ({"KW_HELPDESK_MAILBOX": "team@example.nl", "KW_SMTP_HOST": ""}, "KW_HELPDESK_MAILBOX"),
        ({"KW_SMTP_TIMEOUT_S": "0"}, "KW_SMTP_TIMEOUT_S"),
        ({"KW_SMTP_PORT": "poort"}, "KW_SMTP_PORT"),
        ({"KW_HELPDESK_NOTIFY_NEW": "misschien"}, "KW_HELPDESK_NOTIFY_NEW"),
    ],
)
def test_bad_mail_settings_name_the_variable(tmp_path, extra, named):
    env = {"KW_VAR_DIR": str(tmp_path), "KW_SMTP_HOST": "smtp.example.nl", **extra}
    with pytest.raises(SettingsError, match=named):
        load(env)


def test_production_refuses_mail_without_tls_and_without_a_sender(tmp_path):
    env = production_env(KW_VAR_DIR=str(tmp_path), KW_SMTP_HOST="smtp.example.nl", KW_SMTP_FROM="helpdesk@example.nl")
    assert load(env).mail.security == "starttls"
    with pytest.raises(SettingsError, match="TLS"):
        load({**env, "KW_SMTP_SECURITY": "none"})
    with pytest.raises(SettingsError, match="KW_SMTP_FROM"):
        load({k: v for k, v in env.items() if k != "KW_SMTP_FROM"})
    with pytest.raises(SettingsError, match="KW_PUBLIC_URL"):
        load({**env, "KW_HELPDESK_MAILBOX": "team@example.nl"})
    ok = load({**env, "KW_HELPDESK_MAILBOX": "team@example.nl", "KW_PUBLIC_URL": "https://kw.example.nl/"})
    assert ok.mail.public_url == "https://kw.example.nl" and ok.mail.team_mailbox == "team@example.nl"
