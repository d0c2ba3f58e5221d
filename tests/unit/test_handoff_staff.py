"""Staff accounts on SQLite and PostgreSQL: password policy, login, lockout, roles, the demo
account and its refusal in production, and the CLI commands."""

import datetime as dt
import io
import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from bot.core import db as status_db
from bot.core.clock import utcnow
from bot.handoff import cli as handoff_cli
from bot.handoff.demo import DEMO_USERNAME, DemoUserInProduction, check_production, ensure_demo_user
from bot.handoff.login_throttle import LOCKOUT, MAX_FAILED_LOGINS
from bot.handoff.models import StaffUser
from bot.handoff.staff import (
    PasswordPolicyError,
    PermissionDenied,
    StaffError,
    StaffService,
    UnknownUser,
    UserExists,
    check_password,
    default_hasher,
)
from tests.fixtures.databases import make_status_settings
from tests.fixtures.handoff import staff_member

PASSWORD = "lang genoeg wachtwoord"


class CountingHasher(PasswordHasher):
    """Argon2id with cheap parameters (fast tests) that counts verifications."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash, password):
        self.verifications += 1
        return super().verify(hash, password)


def stored_hash(url):
    engine = status_db.make_engine(url, 5.0)
    try:
        with status_db.session_scope(engine) as s:
            return s.execute(select(StaffUser.password_hash)).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def hasher():
    return CountingHasher()


@pytest.fixture
def directory(url, hasher):
    return StaffService(url, 5.0, hasher=hasher)


# --------------------------------------------------------------------------- accounts


def test_create_user_hashes_with_argon2id(directory, url):
    user = directory.create_user("  Sanne.de-Vries ", " Sanne  de Vries ", PASSWORD)
    assert (user.username, user.display_name, user.role) == ("sanne.de-vries", "Sanne de Vries", "medewerker")
    assert not user.is_demo and user.is_active and user.failed_logins == 0
    stored = stored_hash(url)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "$argon2" not in repr(user) and PASSWORD not in repr(user)
    # Production parameters: OWASP minimum for Argon2id.
    real = default_hasher()
    assert (real.time_cost, real.memory_cost, real.parallelism) == (2, 19456, 1)
    assert real.hash(PASSWORD).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_duplicate_and_invalid_accounts(directory):
    directory.create_user("sanne", "Sanne", PASSWORD)
    with pytest.raises(UserExists):
        directory.create_user("SANNE", "Sanne 2", PASSWORD)
    for bad in ("", "a", "met spatie", "x" * 51, "-begin", "<script>"):
        with pytest.raises(StaffError):
            directory.create_user(bad, "Naam", PASSWORD)
    with pytest.raises(StaffError):
        directory.create_user("piet", "   ", PASSWORD)
    with pytest.raises(StaffError):
        directory.create_user("piet", "Piet\x07", PASSWORD)
    with pytest.raises(StaffError):
        directory.create_user("piet", "Piet", PASSWORD, role="admin")
    assert [u.username for u in directory.list_users()] == ["sanne"]


@pytest.mark.parametrize("password", [None, "", "kort", "elf tekens!", " " * 20, "x" * 1025, "piet.jansen1"])
def test_password_policy(password):
    with pytest.raises(PasswordPolicyError) as info:
        check_password(password, "piet.jansen1")
    if password:
        assert password not in str(info.value)


def test_password_policy_accepts_twelve_characters():
    # Twelve characters pass (also non-ASCII ones); one fewer is refused.
    check_password("twaalf teken", "piet")  # accepted: it raises PasswordPolicyError otherwise
    check_password("ü" * 12)
    with pytest.raises(PasswordPolicyError):
        check_password("ü" * 11)


# --------------------------------------------------------------------------- login


def test_authenticate_right_and_wrong_password(directory, hasher):
    directory.create_user("sanne", "Sanne de Vries", PASSWORD)
    ok = directory.authenticate("Sanne", PASSWORD)
    assert ok and ok.reason == "ok" and ok.user.username == "sanne"
    assert ok.user.last_login_at is not None and ok.user.failed_logins == 0
    bad = directory.authenticate("sanne", PASSWORD + "x")
    assert not bad and bad.reason == "invalid" and bad.user is None
    assert directory.get_by_username("sanne").failed_logins == 1
    assert directory.authenticate("sanne", PASSWORD).ok
    assert directory.get_by_username("sanne").failed_logins == 0  # a success resets


def test_unknown_user_still_costs_one_verification(directory, hasher):
    directory.create_user("sanne", "Sanne", PASSWORD)
    for name, password in [
        ("niemand", PASSWORD),
        ("", PASSWORD),
        ("<x>", "y"),
        ("sanne", "fout wachtwoord"),
        ("sanne", None),
        ("sanne", "x" * 5000),
    ]:
        before = hasher.verifications
        result = directory.authenticate(name, password)
        assert not result and result.reason == "invalid" and result.user is None
        assert hasher.verifications == before + 1


def test_lockout_after_five_failures_and_its_end(directory, hasher):
    directory.create_user("sanne", "Sanne", PASSWORD)
    now = dt.datetime(2025, 6, 2, 10, 0)
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert directory.authenticate("sanne", "fout", now=now).reason == "invalid"
    fifth = directory.authenticate("sanne", "fout", now=now)
    assert fifth.reason == "locked" and fifth.locked_until == now + LOCKOUT
    assert dt.timedelta(minutes=15) == LOCKOUT
    # Locked: even the right password is refused, and it still costs one verification.
    before = hasher.verifications
    during = directory.authenticate("sanne", PASSWORD, now=now + dt.timedelta(minutes=14))
    assert not during and during.reason == "locked"
    assert hasher.verifications == before + 1
    # After 15 minutes the right password works again and the counters are reset.
    after = directory.authenticate("sanne", PASSWORD, now=now + LOCKOUT)
    assert after.ok
    state = directory.get_by_username("sanne")
    assert state.locked_until is None and state.failed_logins == 0
    # A new series of failures counts from zero.
    later = now + LOCKOUT + dt.timedelta(minutes=1)
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert directory.authenticate("sanne", "fout", now=later).reason == "invalid"
    assert directory.authenticate("sanne", PASSWORD, now=later).ok


def test_parallel_failures_all_count(directory):
    directory.create_user("sanne", "Sanne", PASSWORD)
    barrier = threading.Barrier(MAX_FAILED_LOGINS)
    results = []

    def attempt():
        barrier.wait()
        results.append(directory.authenticate("sanne", "fout").reason)

    threads = [threading.Thread(target=attempt) for _ in range(MAX_FAILED_LOGINS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert sorted(results) == ["invalid"] * (MAX_FAILED_LOGINS - 1) + ["locked"]
    assert directory.authenticate("sanne", PASSWORD).reason == "locked"


def test_unlock_inactive_and_password_change(directory):
    baas = directory.create_user("baas", "Bea", PASSWORD, "beheerder")
    mw = directory.create_user("sanne", "Sanne", PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        directory.authenticate("sanne", "fout")
    with pytest.raises(PermissionDenied):
        directory.unlock("sanne", by=mw)
    directory.unlock("sanne", by=baas)
    assert directory.authenticate("sanne", PASSWORD).ok
    directory.set_active("sanne", False, by=baas)
    assert directory.authenticate("sanne", PASSWORD).reason == "invalid"
    directory.set_active("sanne", True)
    before = directory.get_by_username("sanne").password_changed_at
    directory.set_password("sanne", "een nieuw wachtwoord", by=mw)  # own password
    assert directory.get_by_username("sanne").password_changed_at >= before
    assert not directory.authenticate("sanne", PASSWORD)
    assert directory.authenticate("sanne", "een nieuw wachtwoord").ok
    with pytest.raises(PermissionDenied):
        directory.set_password("baas", "overgenomen wachtwoord", by=mw)
    with pytest.raises(PasswordPolicyError):
        directory.set_password("sanne", "kort")


def test_login_rehashes_old_parameters(url):
    old = StaffService(url, 5.0, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    old.create_user("sanne", "Sanne", PASSWORD)
    new = StaffService(url, 5.0, hasher=PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1))
    assert new.authenticate("sanne", PASSWORD).ok
    assert "m=2048" in stored_hash(url)
    assert new.authenticate("sanne", PASSWORD).ok


# --------------------------------------------------------------------------- roles


def test_change_role_needs_a_beheerder(directory):
    baas = directory.create_user("baas", "Bea", PASSWORD, "beheerder")
    mw = directory.create_user("sanne", "Sanne", PASSWORD)
    with pytest.raises(PermissionDenied):
        directory.change_role("sanne", "beheerder", by=mw)
    assert directory.get_by_username("sanne").role == "medewerker"
    assert directory.change_role("sanne", "beheerder", by=baas).is_beheerder
    assert directory.change_role("sanne", "medewerker").role == "medewerker"  # CLI
    with pytest.raises(StaffError):
        directory.change_role("sanne", "koning")
    with pytest.raises(UnknownUser):
        directory.change_role("niemand", "beheerder")
    # A demoted beheerder loses the right at once.
    directory.change_role("baas", "medewerker")
    with pytest.raises(PermissionDenied):
        directory.change_role("sanne", "beheerder", by=baas)


# --------------------------------------------------------------------------- demo account


def test_demo_user_is_created_printed_and_reset(url, tmp_path, hasher):
    settings = make_status_settings(url, tmp_path)
    directory = StaffService(url, 5.0, hasher=hasher)
    out = io.StringIO()
    first = ensure_demo_user(settings, out=out, service=directory)
    assert first.created and first.username == DEMO_USERNAME and len(first.password) >= 12
    printed = out.getvalue()
    assert "ALLEEN VOOR DE DEMO" in printed and first.password in printed
    assert f"{settings.gateway_url}/helpdesk" in printed
    assert first.password not in repr(first)
    user = staff_member(directory, DEMO_USERNAME)
    assert user.is_demo and user.role == "medewerker"
    assert directory.authenticate(DEMO_USERNAME, first.password).ok
    second = ensure_demo_user(settings, out=None, service=directory)
    assert not second.created and second.password != first.password
    assert not directory.authenticate(DEMO_USERNAME, first.password)
    assert directory.authenticate(DEMO_USERNAME, second.password).ok
    assert len(directory.demo_users()) == 1
    check_production(settings, directory)  # not production: nothing to refuse


def test_demo_user_refused_in_production(url, tmp_path, hasher):
    directory = StaffService(url, 5.0, hasher=hasher)
    demo = make_status_settings(url, tmp_path)
    prod = make_status_settings(url, tmp_path, KW_ENV="production")
    with pytest.raises(DemoUserInProduction):
        ensure_demo_user(prod, out=None, service=directory)
    assert directory.demo_users() == []
    check_production(prod, directory)  # no demo account: fine
    ensure_demo_user(demo, out=None, service=directory)
    with pytest.raises(DemoUserInProduction, match="staff-remove-demo"):
        check_production(prod, directory)
    assert directory.delete_demo_users() == 1
    check_production(prod, directory)


def test_demo_name_taken_by_a_real_account(directory, url, tmp_path):
    directory.create_user(DEMO_USERNAME, "Echte Demo", PASSWORD)
    with pytest.raises(StaffError):
        ensure_demo_user(make_status_settings(url, tmp_path), out=None, service=directory)


def test_check_production_before_the_tables_exist(tmp_path):
    settings = make_status_settings(f"sqlite:///{tmp_path / 'leeg.db'}", tmp_path, KW_ENV="production")
    service = StaffService(settings.database_url, 5.0, hasher=CountingHasher())
    # No tables yet (the start-up check runs before the migrations): nothing to refuse, and the
    # check itself creates nothing.
    check_production(settings, service)  # it raises DemoUserInProduction to refuse
    with service.engine.connect() as conn:
        assert not inspect(conn).has_table(StaffUser.__tablename__)


# --------------------------------------------------------------------------- CLI


def run_cli(argv, settings):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    handoff_cli.add_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args, settings)


def test_cli_upgrade_create_role_and_remove_demo(url, tmp_path, monkeypatch, capsys):
    settings = make_status_settings(url, tmp_path)
    monkeypatch.setenv("KW_NEW_STAFF_PASSWORD", PASSWORD)
    assert run_cli(["staff-create", "Bea", "Bea Beheer", "--role", "beheerder"], settings) == 0
    out = capsys.readouterr().out
    assert "bea" in out and "beheerder" in out and PASSWORD not in out
    assert run_cli(["staff-create", "bea", "Nog een Bea"], settings) == 1
    assert "bestaat al" in capsys.readouterr().err
    monkeypatch.setenv("KW_NEW_STAFF_PASSWORD", "kort")
    assert run_cli(["staff-create", "piet", "Piet"], settings) == 1
    assert "12 tekens" in capsys.readouterr().err
    assert run_cli(["staff-role", "bea", "medewerker"], settings) == 0
    assert run_cli(["staff-role", "niemand", "medewerker"], settings) == 1
    directory = StaffService(url, 5.0)
    assert staff_member(directory, "bea").role == "medewerker"
    assert directory.authenticate("bea", PASSWORD).ok
    ensure_demo_user(settings, out=None, service=directory)
    assert run_cli(["staff-remove-demo"], settings) == 0
    assert directory.demo_users() == []
    with pytest.raises(SystemExit):
        run_cli(["staff-create", "x", "X", "--role", "admin"], settings)


def test_cli_reads_the_password_twice_without_env(url, tmp_path, monkeypatch, capsys):
    settings = make_status_settings(url, tmp_path)
    monkeypatch.delenv("KW_NEW_STAFF_PASSWORD", raising=False)
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert handoff_cli.read_password() is None  # the two differ
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run_cli(["staff-create", "sanne", "Sanne"], settings) == 0
    assert handoff_cli.read_password({"KW_NEW_STAFF_PASSWORD": "uit de omgeving!"}) == "uit de omgeving!"


def test_project_cli_registers_the_handoff_commands():
    from bot.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["staff-create", "bea", "Bea", "--role", "beheerder"])
    assert args.func is handoff_cli.cmd_staff_create and args.role == "beheerder"
    from bot.status import cli as status_cli

    # One db-upgrade for the whole app database; the old per-package command is gone.
    assert parser.parse_args(["db-upgrade"]).func is status_cli.cmd_db_upgrade
    with pytest.raises(SystemExit):
        parser.parse_args(["handoff-db-upgrade"])


def test_utcnow_is_naive_utc():
    assert utcnow().tzinfo is None


# --------------------------------------------------------------------------- lockout per address


def test_failures_from_other_addresses_never_refuse_the_right_password(directory, caplog):
    directory.create_user("sanne", "Sanne", PASSWORD)
    now = dt.datetime(2025, 6, 2, 10, 0)
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"):
        reasons = [
            directory.authenticate("sanne", "fout", client=address, now=now).reason for _ in range(MAX_FAILED_LOGINS)
        ]
        assert reasons[-1] == "locked"
        assert directory.authenticate("sanne", PASSWORD, client=address, now=now).reason == "locked"
    # 25 failures on the account: an alarm in the log, and the owner logs in from her own address.
    assert "staff_login_attack" in caplog.text
    assert directory.authenticate("sanne", PASSWORD, client="198.51.100.8", now=now).ok
    assert directory.get_by_username("sanne").locked_until is None


def test_each_further_series_from_one_address_locks_twice_as_long(directory):
    directory.create_user("sanne", "Sanne", PASSWORD)
    now = dt.datetime(2025, 6, 2, 10, 0)
    expected = [LOCKOUT, LOCKOUT * 2, LOCKOUT * 4]
    for length in expected:
        for _ in range(MAX_FAILED_LOGINS - 1):
            assert directory.authenticate("sanne", "fout", client="a", now=now).reason == "invalid"
        locked = directory.authenticate("sanne", "fout", client="a", now=now)
        assert locked.reason == "locked" and locked.locked_until == now + length
        now = locked.locked_until
    # A success from that address ends the series: the next lockout is the first one again.
    assert directory.authenticate("sanne", PASSWORD, client="a", now=now).ok
    for _ in range(MAX_FAILED_LOGINS):
        last = directory.authenticate("sanne", "fout", client="a", now=now)
    assert last.locked_until == now + LOCKOUT


def test_the_last_active_beheerder_keeps_its_role_in_the_console(directory):
    baas = directory.create_user("baas", "Bea", PASSWORD, "beheerder")
    with pytest.raises(StaffError, match="minstens één actieve beheerder"):
        directory.change_role("baas", "medewerker", by=baas)
    with pytest.raises(StaffError, match="minstens één actieve beheerder"):
        directory.set_active("baas", False, by=baas)
    assert directory.get_by_username("baas").is_beheerder and directory.get_by_username("baas").is_active
    # With a second beheerder the first may step down.
    directory.create_user("tweede", "Tom", PASSWORD, "beheerder")
    assert directory.change_role("baas", "medewerker", by=baas).role == "medewerker"
    tom = directory.get_by_username("tweede")
    with pytest.raises(StaffError):
        directory.set_active("tweede", False, by=tom)
