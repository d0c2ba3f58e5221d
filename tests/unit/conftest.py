"""Unit tests never touch the developer's var/: actions made without settings (rasa-sdk's way,
e.g. ActionAnswerFaq()) read the process's settings, and the FAQ actions record a question event
(bot/insights) in the app database those settings name. Here that is a file per test."""

from __future__ import annotations

import pytest

from bot import settings as settings_mod


@pytest.fixture(autouse=True)
def _own_var_dir(tmp_path, monkeypatch):
    var = tmp_path / "kw-var"
    monkeypatch.setenv("KW_VAR_DIR", str(var))
    monkeypatch.setenv("KW_DATABASE_URL", f"sqlite:///{var / 'app.db'}")
    settings_mod.get_settings.cache_clear()
    yield
    settings_mod.get_settings.cache_clear()
