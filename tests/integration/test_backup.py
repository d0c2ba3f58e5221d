"""`python -m bot backup` / `restore` (bot/backup.py) with real parts.

The real stack (Rasa and the action server) holds a conversation, a ticket with an encrypted
contact and messages, and a staff account; a backup is made while the stack runs and while
another conversation keeps writing; it is restored into a fresh var dir (SQLite, then a fresh
Rasa stack reads it) or fresh PostgreSQL databases, and everything is there with the same
content. The refusals (stack running, checksum, data without --force) leave the target as it was.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot import backup, migrations
from bot.core import db
from bot.handoff.models import ROLE_BEHEERDER
from bot.handoff.service import HandoffService
from bot.handoff.staff import StaffService
from bot.settings import Settings, load
from tests.conftest import RasaStack, stack_env, start_stack
from tests.fixtures.databases import TEST_CONTACT_KEY, create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
HEAD = "0006_outbox"
CONTACT = "piet.jansen@example.nl"
PASSWORD = "Herstel-wachtwoord-2026!"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, text=True, capture_output=True, timeout=300
    )


def kw_env(settings_env: dict[str, str]) -> dict[str, str]:
    """This process's environment with exactly the given KW_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KW_")}
    env.update({k: v for k, v in settings_env.items() if k.startswith("KW_")})
    return env


def tracker_rows(url: str, sender: str) -> list[tuple[str, str]]:
    """A conversation's events in the tracker store, in the order Rasa wrote them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                (r[0], r[1])
                for r in conn.execute(
                    text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
                )
            ]
    finally:
        engine.dispose()


def api_events(settings: Settings, url: str, sender: str) -> list:
    with urllib.request.urlopen(
        f"{url}/conversations/{sender}/tracker?token={settings.rasa_token}", timeout=30
    ) as resp:
        return json.loads(resp.read())["events"]


def fill(stack: RasaStack) -> dict:
    """A conversation through the real Rasa, its ticket (encrypted contact, transcript and a
    message) and a beheerder, as the bot and the console make them."""
    sender = f"backup-{uuid.uuid4().hex}"
    replies = stack.say("Welke gebieden doen mee?", sender) + stack.say("Wat is de Kansrijke Wijk?", sender)
    assert any(r.get("text") for r in replies)
    settings = stack.settings
    staff = StaffService.from_settings(settings).create_user(
        f"beheer-{uuid.uuid4().hex[:8]}", "Bea Backup", PASSWORD, ROLE_BEHEERDER
    )
    handoff = HandoffService.from_settings(settings)
    ticket = handoff.create_ticket(
        sender,
        "Krijgt onze buurt ook geld voor groen?",
        contact=CONTACT,
        gemeente="Tilburg",
        transcript=[("gebruiker", "Welke gebieden doen mee?", None), ("assistent", replies[0].get("text") or "", None)],
    )
    handoff.claim(ticket, staff)
    handoff.add_message(ticket, "gebruiker", None, "Ik wacht wel even.")
    assert handoff.contact_for(ticket, staff) == CONTACT
    assert len(tracker_rows(settings.tracker_store_url, sender)) > 4
    return {
        "sender": sender,
        "staff": staff,
        "ticket": ticket.public_id,
        "detail": handoff.ticket_detail(ticket.public_id),
        "users": StaffService.from_settings(settings).list_users(),
        "rows": tracker_rows(settings.tracker_store_url, sender),
    }


def backup_while_busy(stack: RasaStack, out: Path) -> tuple[Path, str]:
    """`python -m bot backup` while another conversation keeps Rasa writing."""
    busy = f"busy-{uuid.uuid4().hex}"
    stop = threading.Event()

    def chat() -> None:
        while not stop.is_set():
            stack.say("Welke thema's zijn er?", busy)

    stack.say("Hallo", busy)
    writer = threading.Thread(target=chat, daemon=True)
    writer.start()
    try:
        done = cli(kw_env(stack.env), "backup", "--out", str(out))
    finally:
        stop.set()
        writer.join(timeout=120)
    assert done.returncode == 0, done.stderr
    assert "var/secrets.json" in done.stdout  # the reminder to keep the secrets apart
    (made,) = [p for p in out.iterdir() if p.name.startswith("kw-backup-")]
    assert str(made) in done.stdout
    return made, busy


def check_backup_files(made: Path, backend: str) -> dict:
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["app_revision"] == HEAD
    assert [(e["store"], e["backend"]) for e in manifest["stores"]] == [("app", backend), ("tracker", backend)]
    for entry in manifest["stores"]:
        file = made / entry["file"]
        assert entry["size"] == file.stat().st_size and entry["sha256"] == backup.sha256(file)
    for file in made.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert {f.name for f in made.iterdir()} == {"manifest.json"} | {e["file"] for e in manifest["stores"]}
    return manifest


def assert_restored(source: dict, settings: Settings, busy: str, busy_final: list[tuple[str, str]]) -> None:
    """The restored databases hold what the source held, with the same content."""
    assert migrations.current_revision(settings.database_url) == HEAD
    assert tracker_rows(settings.tracker_store_url, source["sender"]) == source["rows"]
    restored_busy = tracker_rows(settings.tracker_store_url, busy)
    # One snapshot: whole turns of the conversation that kept writing, a prefix of what it wrote.
    assert restored_busy and restored_busy == busy_final[: len(restored_busy)]
    staff = StaffService.from_settings(settings)
    assert staff.list_users() == source["users"]
    handoff = HandoffService.from_settings(settings)
    detail = handoff.ticket_detail(source["ticket"])
    assert detail == source["detail"]
    assert detail.ticket.question == "Krijgt onze buurt ook geld voor groen?"
    assert [m.text for m in detail.messages][-1] == "Ik wacht wel even."
    assert handoff.contact_for(source["ticket"], source["staff"].id) == CONTACT  # decrypted
    assert staff.authenticate(source["staff"].username, PASSWORD).ok  # the same password hash


def test_sqlite_backup_while_running_restores_into_a_fresh_stack(rasa_stack, tmp_path):
    source = fill(rasa_stack)
    made, busy = backup_while_busy(rasa_stack, tmp_path / "backups")
    check_backup_files(made, "sqlite")
    busy_final = tracker_rows(rasa_stack.settings.tracker_store_url, busy)

    # A fresh machine: an empty var dir, the contact key kept apart from the backup.
    var = tmp_path / "fresh-var"
    extra = {"KW_CONTACT_KEY": rasa_stack.settings.contact_keys[0]}
    target_env = stack_env(var, extra)
    done = cli(kw_env(target_env), "restore", str(made))
    assert done.returncode == 0, done.stderr
    assert "teruggezet" in done.stdout and "andere KW_CONTACT_KEY" not in done.stderr
    assert stat.S_IMODE((var / "app.db").stat().st_mode) == 0o600
    assert_restored(source, load(target_env), busy, busy_final)

    # A fresh stack on the restored var dir: Rasa serves the conversation as it was.
    restored = start_stack(var, extra)
    try:
        sender = source["sender"]
        before = api_events(rasa_stack.settings, rasa_stack.url_for(sender), sender)
        after = api_events(restored.settings, restored.url_for(sender), sender)
        assert [e for e in after if e["event"] == "user"] and after == before
        # ... and a restore refuses while that stack runs, naming a port it holds.
        refused = cli(kw_env(restored.env), "restore", "--force", str(made))
        assert refused.returncode != 0
        assert "draaien" in refused.stderr and str(restored.settings.rasa_port) in refused.stderr
    finally:
        restored.stack.stop()
        db.dispose_engines()


@pytest.mark.postgres
def test_postgres_backup_while_running_restores_into_fresh_databases(tmp_path):
    urls = {name: create_pg_database() for name in ("app", "tracker", "app2", "tracker2")}
    try:
        stack = start_stack(tmp_path / "var", {"KW_DATABASE_URL": urls["app"], "KW_TRACKER_STORE_URL": urls["tracker"]})
        try:
            source = fill(stack)
            made, busy = backup_while_busy(stack, tmp_path / "backups")
            busy_final = tracker_rows(urls["tracker"], busy)
        finally:
            stack.stack.stop()
        manifest = check_backup_files(made, "postgresql")
        assert manifest["contact_key_id"] == backup.key_id(stack.settings.contact_keys[0])

        target_env = stack_env(
            tmp_path / "fresh-var",
            {
                "KW_DATABASE_URL": urls["app2"],
                "KW_TRACKER_STORE_URL": urls["tracker2"],
                "KW_CONTACT_KEY": stack.settings.contact_keys[0],
            },
        )
        done = cli(kw_env(target_env), "restore", str(made))
        assert done.returncode == 0, done.stderr
        assert_restored(source, load(target_env), busy, busy_final)

        # Another session on a target database: the stack may run elsewhere; refused.
        other = create_engine(urls["tracker2"]).connect()
        try:
            refused = cli(kw_env(target_env), "restore", "--force", str(made))
        finally:
            other.close()
        assert refused.returncode != 0 and "verbinding" in refused.stderr
    finally:
        db.dispose_engines()
        for url in urls.values():
            drop_pg_database(url)


# -- refusals (no Rasa needed) ---------------------------------------------------------------


def small_settings(var: Path, **env: str) -> tuple[Settings, dict[str, str]]:
    full = stack_env(var, {"KW_CONTACT_KEY": TEST_CONTACT_KEY, **env})
    return load(full), full


def seeded(var: Path, revision: str = "head") -> tuple[Settings, dict[str, str], str]:
    settings, env = small_settings(var)
    migrations.upgrade(settings.database_url, revision)
    name = f"staf-{uuid.uuid4().hex[:6]}"
    if revision == "head":
        StaffService.from_settings(settings).create_user(name, "Sam Staf", PASSWORD)
    return settings, env, name


def staff_names(url: str) -> list[str]:
    conn = sqlite3.connect(make_path(url))
    try:
        return [r[0] for r in conn.execute("SELECT username FROM handoff_staff_users ORDER BY id")]
    finally:
        conn.close()


def make_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def test_a_corrupted_backup_is_refused_and_nothing_changes(tmp_path):
    settings, _env, _name = seeded(tmp_path / "var")
    made = backup.backup(settings, tmp_path / "backups")
    dump = made / "app.sqlite"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    target, target_env = small_settings(tmp_path / "fresh")
    done = cli(kw_env(target_env), "restore", "--force", str(made))
    assert done.returncode == 1
    assert "controlesom van app.sqlite klopt niet" in done.stderr and "Traceback" not in done.stderr
    assert not Path(make_path(target.database_url)).exists()  # nothing restored, nothing made


def test_a_target_with_data_needs_force(tmp_path):
    settings, env, name = seeded(tmp_path / "var")
    made = backup.backup(settings, tmp_path / "backups")
    StaffService.from_settings(settings).create_user("na-de-backup", "Na Backup", PASSWORD)
    db.dispose_engines(settings.database_url)

    done = cli(kw_env(env), "restore", str(made))
    assert done.returncode == 1 and "--force" in done.stderr and "bevat al gegevens" in done.stderr
    assert staff_names(settings.database_url) == [name, "na-de-backup"]  # untouched

    done = cli(kw_env(env), "restore", "--force", str(made))
    assert done.returncode == 0, done.stderr
    assert staff_names(settings.database_url) == [name]  # the state of the backup


def test_an_older_backup_is_migrated_after_the_restore(tmp_path):
    settings, _env, _name = seeded(tmp_path / "var", "0004_insights_and_redacteur")
    made = backup.backup(settings, tmp_path / "backups")
    assert json.loads((made / "manifest.json").read_text())["app_revision"] == "0004_insights_and_redacteur"
    target, _ = small_settings(tmp_path / "fresh")
    report = backup.restore(target, made)
    assert report.revision == HEAD == migrations.current_revision(target.database_url)
    db.dispose_engines()


def test_a_listening_port_of_the_target_stack_is_refused(tmp_path):
    settings, _env, name = seeded(tmp_path / "var")
    made = backup.backup(settings, tmp_path / "backups")
    StaffService.from_settings(settings).create_user("na-de-backup", "Na Backup", PASSWORD)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", settings.actions_port))
        listener.listen()
        with pytest.raises(backup.BackupError) as refusal:
            backup.restore(settings, made, force=True)
    message = str(refusal.value)
    assert f"poort {settings.actions_port} is in gebruik (door proces {os.getpid()}" in message
    assert staff_names(settings.database_url) == [name, "na-de-backup"]  # untouched
    db.dispose_engines()


def test_a_different_contact_key_is_reported(tmp_path):
    settings, _env, _name = seeded(tmp_path / "var")
    made = backup.backup(settings, tmp_path / "backups")
    other_key = "b3RoZXItY29udGFjdC1rZXktMDEyMzQ1Njc4OWFiY2Q="
    _target, target_env = small_settings(tmp_path / "fresh", KW_CONTACT_KEY=other_key)
    done = cli(kw_env(target_env), "restore", str(made))
    assert done.returncode == 0, done.stderr
    assert "andere KW_CONTACT_KEY" in done.stderr
