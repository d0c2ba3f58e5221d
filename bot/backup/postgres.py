"""The PostgreSQL half of a backup: ``pg_dump -Fc`` (one snapshot) and back through
``pg_restore``, with the tools of the server's major version; the password travels in the
environment, never on a command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot.backup.common import BOOKKEEPING_TABLES, BackupError, private_file


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying the password: a command
    line shows in `ps` to every local user."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def connect(url: str):
    import psycopg2

    uri, env = _libpq(url)
    try:
        return psycopg2.connect(uri, password=env.get("PGPASSWORD"), connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise BackupError(
            f"PostgreSQL-database {db_name(url)} is niet bereikbaar: {str(exc).strip().splitlines()[0]}"
        ) from None


def db_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return str(make_url(url).database)


def _tool(name: str, url: str) -> str:
    """``pg_dump``/``pg_restore`` of the server's major version when installed (Debian keeps
    each version under /usr/lib/postgresql/N/bin): an older pg_dump refuses a newer server."""
    conn = connect(url)
    try:
        major = conn.server_version // 10000
    finally:
        conn.close()
    own = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if own.exists():
        return str(own)
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} ontbreekt. Installeer de PostgreSQL-clientprogramma's "
            f"(Debian: apt-get install postgresql-client-{major})."
        )
    return found


def _run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, umask=0o077, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} mislukte: {detail[0] if detail else f'code {done.returncode}'}")


def dump(url: str, target: Path) -> bool:
    uri, env = _libpq(url)
    private_file(target)
    _run_tool(
        [
            _tool("pg_dump", url),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={target}",
            f"--dbname={uri}",
        ],
        env,
        f"pg_dump van {db_name(url)}",
    )
    os.chmod(target, 0o600)
    return True


def _tables(conn) -> list[tuple[str, str]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        return [(row[0], row[1]) for row in cur.fetchall()]


def has_data(url: str) -> bool:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            for schema, table in _tables(conn):
                if table in BOOKKEEPING_TABLES:
                    continue
                cur.execute(f'SELECT 1 FROM "{schema}"."{table}" LIMIT 1')
                if cur.fetchone():
                    return True
        return False
    finally:
        conn.close()


def other_sessions(url: str) -> int:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def restore(url: str, dump: Path | None) -> None:
    conn = connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            # pg_restore only creates: what is there (an empty schema made by a start, or the
            # data --force replaces) goes first.
            cur.execute("DROP SCHEMA IF EXISTS public CASCADE")
            cur.execute("CREATE SCHEMA public")
    finally:
        conn.close()
    if dump is None:
        return
    uri, env = _libpq(url)
    _run_tool(
        [
            _tool("pg_restore", url),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={uri}",
            str(dump),
        ],
        env,
        f"pg_restore naar {db_name(url)}",
    )
