"""Helpdesk staff accounts: creation, login, roles.

* Passwords: at least 12 characters, hashed with Argon2id (argon2-cffi) at OWASP's parameters
  (m=19 MiB, t=2, p=1 — the same as the status store's codes), rehashed on login when the
  parameters change. Never logged, never in an exception message, never in a repr.
* Login: one Argon2 verification per attempt whatever happens (unknown user, locked, inactive),
  so timing does not reveal which accounts exist. Failures in a row from one client address
  lock the account for that address only (:class:`~bot.handoff.login_throttle.LoginThrottle`),
  so nobody can lock a colleague out from outside. The account's own counter (an atomic
  UPDATE, shared by all gateways) only raises an alarm (``staff_login_attack`` in the log)
  every ``ALERT_EVERY`` failures.
* The demo account of a demo run, and its refusal in production: :mod:`bot.handoff.demo`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import unicodedata
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core import db
from bot.core.clock import utcnow
from bot.core.logs import log_event
from bot.handoff.login_throttle import LOCKOUT, MAX_FAILED_LOGINS, LoginThrottle
from bot.handoff.login_throttle import MAX_BYTES as THROTTLE_MAX_BYTES
from bot.handoff.models import (
    DISPLAY_NAME_MAX,
    EDITOR_ROLES,
    HELPDESK_ROLES,
    ROLE_BEHEERDER,
    ROLE_MEDEWERKER,
    ROLES,
    USERNAME_MAX,
    StaffUser,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
#: Upper bound so a huge "password" cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 1024
#: Failures of one account (from any address) between two alarms in the log.
ALERT_EVERY = 20
#: Environment variable read by ``python -m bot staff-create`` for non-interactive use.
PASSWORD_ENV = "KW_NEW_STAFF_PASSWORD"


def default_hasher() -> PasswordHasher:
    """Argon2id with OWASP's recommended minimum: 19 MiB memory, 2 passes, 1 lane."""
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


OK = "ok"
INVALID = "invalid"
LOCKED = "locked"

_USERNAME_RE = re.compile(rf"^[a-z0-9][a-z0-9._-]{{1,{USERNAME_MAX - 1}}}$")


class StaffError(ValueError):
    """Invalid input for a staff account; the message is Dutch and safe to show."""


class PasswordPolicyError(StaffError):
    pass


class UserExists(StaffError):
    pass


class UnknownUser(StaffError, LookupError):
    pass


class LastBeheerder(StaffError):
    """The change would leave no active beheerder."""


class PermissionDenied(PermissionError):
    """The acting staff member may not do this (a medewerker doing a beheerder action)."""


@dataclass(frozen=True)
class StaffView:
    """A staff account as the console may see it (never the hash)."""

    id: int
    username: str
    display_name: str
    role: str
    is_demo: bool
    is_active: bool
    failed_logins: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    password_changed_at: dt.datetime
    last_login_at: dt.datetime | None
    session_version: int = 0

    @property
    def is_beheerder(self) -> bool:
        return self.role == ROLE_BEHEERDER

    @property
    def works_helpdesk(self) -> bool:
        """Queue, tickets and canned replies: medewerker and beheerder."""
        return self.role in HELPDESK_ROLES

    @property
    def reads_insights(self) -> bool:
        """The editors' page: redacteur and beheerder."""
        return self.role in EDITOR_ROLES

    @classmethod
    def from_model(cls, user: StaffUser) -> StaffView:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            is_demo=bool(user.is_demo),
            is_active=bool(user.is_active),
            failed_logins=user.failed_logins or 0,
            locked_until=user.locked_until,
            created_at=user.created_at,
            password_changed_at=user.password_changed_at,
            last_login_at=user.last_login_at,
            session_version=user.session_version or 0,
        )


@dataclass(frozen=True)
class AuthResult:
    """Outcome of a login. Show one generic message for ``invalid`` and ``locked`` alike."""

    ok: bool
    reason: str  # 'ok' | 'invalid' | 'locked'
    user: StaffView | None = None
    #: For 'locked' on a known account: until when (naive UTC).
    locked_until: dt.datetime | None = None

    def __bool__(self) -> bool:
        return self.ok


# ------------------------------------------------------------------------------ validation


def normalize_username(username: str | None) -> str:
    value = unicodedata.normalize("NFKC", username or "").strip().lower()
    if not _USERNAME_RE.match(value):
        raise StaffError(
            "Een gebruikersnaam heeft 2 tot 50 tekens: kleine letters, cijfers, punt, "
            "streepje of liggend streepje, en begint met een letter of cijfer."
        )
    return value


def clean_display_name(name: str | None) -> str:
    value = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if not value or len(value) > DISPLAY_NAME_MAX:
        raise StaffError(f"Een weergavenaam heeft 1 tot {DISPLAY_NAME_MAX} tekens.")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise StaffError("Een weergavenaam mag geen stuurtekens bevatten.")
    return value


def check_role(role: str) -> str:
    if role not in ROLES:
        raise StaffError(f"Onbekende rol; kies uit: {', '.join(ROLES)}.")
    return role


def check_password(password: str | None, username: str | None = None) -> None:
    """Raise :class:`PasswordPolicyError` unless the password meets the policy."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"Het wachtwoord mag hoogstens {MAX_PASSWORD_LENGTH} tekens lang zijn.")
    if not password.strip():
        raise PasswordPolicyError("Het wachtwoord mag niet alleen uit spaties bestaan.")
    if username and password.strip().lower() == username.strip().lower():
        raise PasswordPolicyError("Het wachtwoord mag niet gelijk zijn aan de gebruikersnaam.")


# ------------------------------------------------------------------------------ service


def _find_user(session: Session, name: str) -> StaffUser | None:
    return session.execute(select(StaffUser).where(StaffUser.username == name)).scalars().first()


def _user(session: Session, name: str) -> StaffUser:
    user = _find_user(session, name)
    if user is None:
        raise UnknownUser(f"Geen medewerker met gebruikersnaam {name}.")
    return user


class StaffService:
    """Staff accounts in the app database (tables made by :func:`bot.migrations.upgrade`)."""

    def __init__(
        self,
        database: str | Engine,
        timeout_s: float = 1.5,
        *,
        hasher: PasswordHasher | None = None,
        max_failed_logins: int = MAX_FAILED_LOGINS,
        lockout: dt.timedelta = LOCKOUT,
        throttle_max_bytes: int = THROTTLE_MAX_BYTES,
    ) -> None:
        self.engine = db.get_engine(database, timeout_s) if isinstance(database, str) else database
        self.hasher = hasher or default_hasher()
        self.max_failed_logins = max(1, int(max_failed_logins))
        self.lockout = lockout
        self.throttle = LoginThrottle(self.max_failed_logins, lockout, throttle_max_bytes)
        self._dummy_hash = self.hasher.hash(secrets.token_hex(16))

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffService:
        return cls(settings.database_url, settings.db_timeout_s, throttle_max_bytes=settings.limiter_max_bytes)

    def _session(self) -> AbstractContextManager[Session]:
        return db.session_scope(self.engine)

    # ------------------------------------------------------------------ accounts

    def create_user(
        self, username: str, display_name: str, password: str, role: str = ROLE_MEDEWERKER, *, is_demo: bool = False
    ) -> StaffView:
        name = normalize_username(username)
        display = clean_display_name(display_name)
        check_role(role)
        check_password(password, name)
        password_hash = self.hasher.hash(password)
        now = utcnow()
        try:
            with self._session() as session:
                if session.execute(select(StaffUser.id).where(StaffUser.username == name)).first():
                    raise UserExists(f"De gebruikersnaam {name} bestaat al.")
                user = StaffUser(
                    username=name,
                    display_name=display,
                    password_hash=password_hash,
                    role=role,
                    failed_logins=0,
                    is_demo=is_demo,
                    is_active=True,
                    created_at=now,
                    password_changed_at=now,
                )
                session.add(user)
                session.flush()
                view = StaffView.from_model(user)
        except IntegrityError:
            raise UserExists(f"De gebruikersnaam {name} bestaat al.") from None
        log.info("staff account %s created (role %s%s)", view.id, role, ", demo" if is_demo else "")
        return view

    def get(self, user_id: int) -> StaffView | None:
        with self._session() as session:
            user = session.get(StaffUser, user_id)
            return StaffView.from_model(user) if user else None

    def get_by_username(self, username: str) -> StaffView | None:
        try:
            name = normalize_username(username)
        except StaffError:
            return None
        with self._session() as session:
            user = _find_user(session, name)
            return StaffView.from_model(user) if user else None

    def list_users(self) -> list[StaffView]:
        with self._session() as session:
            users = session.execute(select(StaffUser).order_by(StaffUser.username)).scalars()
            return [StaffView.from_model(u) for u in users]

    def _require_beheerder(self, by: StaffView | None) -> None:
        if by is None:
            return  # CLI / system
        current = self.get(by.id)
        if current is None or not current.is_active or current.role != ROLE_BEHEERDER:
            raise PermissionDenied("Alleen een beheerder mag dit doen.")

    def _update(self, username: str, **values: Any) -> StaffView:
        name = normalize_username(username)
        with self._session() as session:
            user = _user(session, name)
            for key, value in values.items():
                setattr(user, key, value)
            session.flush()
            return StaffView.from_model(user)

    def _update_keeping_a_beheerder(self, username: str, by: StaffView | None, **values: Any) -> StaffView:
        """``_update`` that, for a change made in the console (``by``), refuses to leave no
        active beheerder: the console could then no longer manage accounts, and only the CLI on
        the server (which may, as the way back) would recover it. The count and
        the change are one transaction; on PostgreSQL the beheerders' rows are locked, so two
        beheerders demoting each other at once cannot both succeed."""
        name = normalize_username(username)
        with self._session() as session:
            user = _user(session, name)
            stays = values.get("role", user.role) == ROLE_BEHEERDER and values.get("is_active", user.is_active)
            if by is not None and user.role == ROLE_BEHEERDER and user.is_active and not stays:
                others = (
                    session.execute(
                        select(StaffUser.id)
                        .where(StaffUser.role == ROLE_BEHEERDER, StaffUser.is_active.is_(True), StaffUser.id != user.id)
                        .with_for_update()
                    )
                    .scalars()
                    .all()
                )
                if not others:
                    raise LastBeheerder(
                        "Er moet minstens één actieve beheerder blijven. Maak eerst iemand anders beheerder."
                    )
            for key, value in values.items():
                setattr(user, key, value)
            session.flush()
            return StaffView.from_model(user)

    def change_role(self, username: str, role: str, *, by: StaffView | None = None) -> StaffView:
        """Give ``username`` the role ``role``; ``by`` (when given) must be a beheerder. The last
        active beheerder keeps its role in the console."""
        check_role(role)
        self._require_beheerder(by)
        view = self._update_keeping_a_beheerder(username, by, role=role)
        log.info("staff account %s: role set to %s", view.id, role)
        return view

    def set_password(self, username: str, password: str, *, by: StaffView | None = None) -> StaffView:
        """New password (and unlock); ``by`` must be the user or a beheerder when given."""
        name = normalize_username(username)
        if by is not None and by.username != name:
            self._require_beheerder(by)
        check_password(password, name)
        view = self._update(
            name,
            password_hash=self.hasher.hash(password),
            password_changed_at=utcnow(),
            failed_logins=0,
            locked_until=None,
        )
        self.throttle.clear(view.id)
        return view

    def set_active(self, username: str, active: bool, *, by: StaffView | None = None) -> StaffView:
        self._require_beheerder(by)
        if active:
            return self._update(username, is_active=True)
        return self._update_keeping_a_beheerder(
            username, by, is_active=False, session_version=StaffUser.session_version + 1
        )

    def end_sessions(self, user_id: int) -> None:
        """Log out everywhere: cookies carrying the old session version stop working."""
        with self._session() as session:
            session.execute(
                update(StaffUser).where(StaffUser.id == user_id).values(session_version=StaffUser.session_version + 1)
            )

    def unlock(self, username: str, *, by: StaffView | None = None) -> StaffView:
        self._require_beheerder(by)
        view = self._update(username, failed_logins=0, locked_until=None)
        self.throttle.clear(view.id)
        return view

    def demo_users(self) -> list[StaffView]:
        with self._session() as session:
            users = session.execute(select(StaffUser).where(StaffUser.is_demo.is_(True))).scalars()
            return [StaffView.from_model(u) for u in users]

    def delete_demo_users(self) -> int:
        with self._session() as session:
            return db.affected_rows(
                session.execute(
                    delete(StaffUser).where(StaffUser.is_demo.is_(True)).execution_options(synchronize_session=False)
                )
            )

    # ------------------------------------------------------------------ login

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        except Exception:  # a broken hash must not become an error path
            return False

    def authenticate(
        self, username: str, password: str, *, client: str = "", now: dt.datetime | None = None
    ) -> AuthResult:
        """Check a login from ``client`` (the gateway's rate-limit key of the address; empty
        for the CLI). Exactly one Argon2 verification, whatever the outcome."""
        now = now or utcnow()
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            password = ""
        try:
            name = normalize_username(username)
        except StaffError:
            name = None
        user: StaffView | None = None
        stored_hash = ""
        if name is not None:
            with self._session() as session:
                row = _find_user(session, name)
                if row is not None:
                    user = StaffView.from_model(row)
                    stored_hash = row.password_hash
        if user is None:
            self._verify(self._dummy_hash, password)
            return AuthResult(False, INVALID)
        matches = self._verify(stored_hash, password)  # also when locked or inactive
        locked = self.throttle.locked_until(user.id, client, now)
        if locked is not None:
            return AuthResult(False, LOCKED, locked_until=locked)
        if not user.is_active:
            return AuthResult(False, INVALID)
        if not matches:
            return self._record_failure(user, client, now)
        result = self._record_success(user, password, stored_hash, now, client)
        if result.ok:
            self.throttle.succeeded(user.id, client)
        return result

    def _record_failure(self, user: StaffView, client: str, now: dt.datetime) -> AuthResult:
        with self._session() as session:
            # Atomic increment: parallel wrong attempts all count.
            session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id)
                .values(failed_logins=StaffUser.failed_logins + 1)
                .execution_options(synchronize_session=False)
            )
            failed = session.execute(select(StaffUser.failed_logins).where(StaffUser.id == user.id)).scalar() or 0
        if failed and failed % ALERT_EVERY == 0:
            # Many failures over all addresses: someone may be guessing. An alarm, never a lock
            # (that would let anyone lock a colleague out).
            log_event(log, "staff_login_attack", level=logging.WARNING, staff=user.id, failures=failed)
        until = self.throttle.failed(user.id, client, now)
        if until is not None:
            log.warning(
                "staff account %s locked for one address after %d failed logins", user.id, self.max_failed_logins
            )
            # Shown to beheerders (who can lift it); logins do not read it: the lock is the
            # address's (LoginThrottle), not the account's.
            with self._session() as session:
                session.execute(
                    update(StaffUser)
                    .where(
                        StaffUser.id == user.id, (StaffUser.locked_until.is_(None)) | (StaffUser.locked_until < until)
                    )
                    .values(locked_until=until)
                    .execution_options(synchronize_session=False)
                )
            return AuthResult(False, LOCKED, locked_until=until)
        return AuthResult(False, INVALID)

    def _record_success(
        self, user: StaffView, password: str, stored_hash: str, now: dt.datetime, client: str = ""
    ) -> AuthResult:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        try:
            if self.hasher.check_needs_rehash(stored_hash):
                values["password_hash"] = self.hasher.hash(password)
        except InvalidHashError:  # pragma: no cover - verify() succeeded, so it is valid
            pass
        if self.throttle.locked_until(user.id, client, now) is not None:
            return AuthResult(False, LOCKED)  # a parallel failed attempt locked it meanwhile
        with self._session() as session:
            result = session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if db.affected_rows(result) != 1:
                return AuthResult(False, INVALID)
            row = session.get(StaffUser, user.id, populate_existing=True)
            assert row is not None  # the UPDATE above matched it, in this transaction
            return AuthResult(True, OK, user=StaffView.from_model(row))
