"""`make run`'s mail catcher (bot/mail/catcher.py): a demo without KW_SMTP_HOST gets a local
SMTP server that writes the demo's mails to var/mail/, and the gateway is pointed at it. The
launcher starts it like its other children (readiness: its port listens, held by the process it
started), and a real mail sent with the gateway's settings arrives there, parseable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import mailbox
import time
from pathlib import Path

import pytest

from bot import launcher
from bot.mail import smtp
from bot.mail.compose import Mail, compose, new_message_id
from bot.settings import load
from tests.fixtures.gateway import free_port


def demo_settings(var: Path, **extra: str):
    return load({"KW_VAR_DIR": str(var), "KW_SMTP_CATCHER_PORT": str(free_port()), **extra})


@pytest.mark.asyncio
async def test_the_demo_stack_starts_a_catcher_that_keeps_the_mails_in_var(tmp_path):
    settings = demo_settings(tmp_path / "var")
    stack = launcher.Stack(settings, Path("unused"), gateway=True)
    stack.build()
    names = [s.name for s in stack.services]
    assert "mailcatcher" in names and names.index("mailcatcher") < names.index("gateway")
    gateway = next(s for s in stack.services if s.name == "gateway")
    assert gateway.env == {
        "KW_SMTP_HOST": settings.host,
        "KW_SMTP_PORT": str(settings.mail.catcher_port),
        "KW_SMTP_SECURITY": "none",
    }
    assert any(p.setting == "KW_SMTP_CATCHER_PORT" for p in launcher.stack_ports(settings))
    catcher = next(s for s in stack.services if s.name == "mailcatcher")
    stack.services = [catcher]
    stack._spawn(catcher)
    try:
        stack.wait_ready(catcher, time.monotonic() + 30)
        # What the gateway would send, with the settings the launcher gives it.
        mail_settings = load({"KW_VAR_DIR": str(tmp_path / "var"), **gateway.env}).mail
        mail = Mail(
            sender=mail_settings.sender,
            sender_name=mail_settings.helpdesk_name,
            recipient="aanvrager@voorbeeld.nl",
            subject="Antwoord op je vraag (KW-00000000)",
            text="Hallo,\n\nJe vraag over ‘groen’.\n",
            html="<p>Hallo,</p>",
            message_id=new_message_id(mail_settings.sender),
            date=dt.datetime(2026, 12, 7, 9, 30),
        )
        await smtp.send(mail_settings, compose(mail), mail.recipient)
    finally:
        stack.stop()
    box = mailbox.Maildir(str(settings.var_dir / "mail"), create=False)
    [key] = box.keys()
    got = email.message_from_bytes(box.get_file(key).read(), policy=email.policy.default)
    assert got["Message-ID"] == mail.message_id and got["Delivered-To"] == "aanvrager@voorbeeld.nl"
    body = got.get_body(("plain",))
    assert body is not None and "‘groen’" in body.get_content()


def test_no_catcher_with_a_mail_server_or_in_production(tmp_path):
    with_server = demo_settings(tmp_path / "a", KW_SMTP_HOST="smtp.example.nl")
    stack = launcher.Stack(with_server, Path("unused"), gateway=True)
    stack.build()
    assert "mailcatcher" not in [s.name for s in stack.services]
    assert not launcher.catcher_wanted(dataclasses.replace(with_server, env="production"))
