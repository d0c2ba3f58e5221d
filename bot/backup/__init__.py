"""`python -m bot backup` / `restore`: the app database and Rasa's tracker store in one backup.

One backup is one directory (mode 0700) with a file per store (mode 0600) and ``manifest.json``:
when it was made, which stores, the app database's migration revision, and each file's size and
sha256. SQLite is copied through its online backup API (one read transaction: a consistent
snapshot while the stack keeps writing in WAL mode); PostgreSQL through ``pg_dump -Fc`` (one
snapshot too) and back through ``pg_restore``.

A restore replaces the target databases. It refuses while the stack runs against them (its
ports answer, or other sessions are connected to a PostgreSQL target), when a checksum does not
match, and when a target holds data, unless ``--force``. Afterwards it runs the migrations, so
an older backup comes up to date.

The two halves: bot/backup/sqlite.py and bot/backup/postgres.py.

The secrets file (var/secrets.json) is not in a backup: the contact details of tickets are
encrypted with KW_CONTACT_KEY, so a backup without that key cannot reveal them, and a restore
needs the key to read them. The manifest carries only a fingerprint of the key (sha256), so a
restore can warn when the key differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.backup import postgres, sqlite
from bot.backup.common import BackupError, private_dir, private_file, sha256
from bot.core.commands import add_table, refused, say
from bot.ports import holder
from bot.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
_SUFFIX = {"sqlite": ".sqlite", "postgresql": ".pgdump"}
_STORE_NAMES = {"app": "app-database", "tracker": "gesprekkenopslag (tracker store)"}


@dataclass(frozen=True)
class Store:
    name: str  # "app" or "tracker"
    url: str

    @property
    def backend(self) -> str:
        from sqlalchemy.engine import make_url

        backend = make_url(self.url).get_backend_name()
        if backend not in _SUFFIX:
            raise BackupError(
                f"De {_STORE_NAMES[self.name]} gebruikt {backend}; een backup kan alleen van SQLite of PostgreSQL."
            )
        return backend

    @property
    def label(self) -> str:
        return _STORE_NAMES[self.name]


def stores(settings: Settings) -> list[Store]:
    found = [Store("app", settings.database_url)]
    if settings.tracker_store_url != settings.database_url:  # one database holds both: once
        found.append(Store("tracker", settings.tracker_store_url))
    return found


# -- files -----------------------------------------------------------------------------------


def key_id(key: str) -> str:
    """A fingerprint of a contact key: tells keys apart, reveals nothing of the key."""
    return hashlib.sha256(b"kw-contact-key:" + key.encode("utf-8")).hexdigest()[:16]


# -- backup ----------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _new_backup_dir(parent: Path, now: dt.datetime) -> Path:
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True)
        os.chmod(parent, 0o700)
    stem = f"kw-backup-{now.strftime('%Y%m%dT%H%M%SZ')}"
    for n in range(100):
        try:
            return private_dir(parent / (stem if n == 0 else f"{stem}-{n}"))
        except FileExistsError:
            continue
    raise BackupError(f"Kan geen nieuwe backupmap maken in {parent}.")


def _revision(dump: Path | None, store: Store) -> str | None:
    """The app database's migration revision, read from the copy itself where it is a file."""
    import psycopg2

    if store.backend == "sqlite":
        if dump is None:
            return None
        conn = sqlite3.connect(f"{dump.as_uri()}?immutable=1", uri=True)
    else:
        conn = postgres.connect(store.url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT version_num FROM kw_alembic_version")
        row = cur.fetchone()
        return row[0] if row else None
    except (sqlite3.Error, psycopg2.Error):  # no version table: a database never upgraded
        return None
    finally:
        conn.close()


def backup(settings: Settings, out: Path | None = None) -> Path:
    """Make one backup under ``out`` (default var/backups); its directory."""
    now = _now()
    target = _new_backup_dir((Path(out) if out else settings.var_dir / "backups").resolve(), now)
    entries = []
    revision = None
    try:
        for store in stores(settings):
            dump = target / f"{store.name}{_SUFFIX[store.backend]}"
            if store.backend == "sqlite":
                made = sqlite.dump(store.url, dump, max(settings.db_timeout_s, 10.0))
            else:
                made = postgres.dump(store.url, dump)
            if store.name == "app":
                revision = _revision(dump if made else None, store)
            entry: dict[str, Any] = {"store": store.name, "backend": store.backend, "file": None}
            if made:
                entry.update(file=dump.name, size=dump.stat().st_size, sha256=sha256(dump))
            entries.append(entry)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "app_revision": revision,
            "shared_database": len(entries) == 1,
            "contact_key_id": key_id(settings.contact_keys[0]) if settings.contact_keys else None,
            "stores": entries,
        }
        path = private_file(target / MANIFEST)
        path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never leave half a backup that looks whole
        raise
    return target


# -- restore ---------------------------------------------------------------------------------


def read_manifest(path: Path) -> tuple[Path, dict]:
    """The backup directory and its manifest, with every file's size and checksum verified."""
    path = Path(path)
    directory = path.parent if path.name == MANIFEST else path
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{directory} is geen backup: {MANIFEST} ontbreekt.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = list(manifest["stores"])
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{manifest_path} is beschadigd of geen manifest van een backup.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"Deze backup heeft formaat {manifest.get('format')!r}; deze versie leest alleen formaat {FORMAT}."
        )
    for entry in entries:
        name = entry.get("file")
        if name is None:
            continue
        if not re.fullmatch(r"[a-z]+\.(sqlite|pgdump)", str(name)):
            raise BackupError(f"Het manifest noemt een onverwacht bestand: {name!r}.")
        file = directory / name
        if not file.is_file():
            raise BackupError(f"Het bestand {name} van de backup ontbreekt.")
        if file.stat().st_size != entry.get("size") or sha256(file) != entry.get("sha256"):
            raise BackupError(
                f"De controlesom van {name} klopt niet: het bestand is veranderd of beschadigd. Er is niets teruggezet."
            )
    return directory, manifest


def _listening(settings: Settings) -> list[int]:
    ports = [(settings.host, int(u.rsplit(":", 1)[1])) for u in settings.rasa_urls]
    ports += [(settings.host, settings.actions_port), (settings.gateway_host, settings.gateway_port)]
    busy = []
    for host, port in ports:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                busy.append(port)
        except OSError:
            continue
    return busy


def check_stopped(settings: Settings, targets: list[Store]) -> None:
    busy = _listening(settings)
    if busy:
        who = holder(busy[0])
        raise BackupError(
            f"De assistent lijkt nog te draaien: poort {', '.join(map(str, busy))} "
            f"is in gebruik{f' (door {who})' if who else ''}. Stop eerst alle "
            "processen (Ctrl-C bij make run) en probeer het dan opnieuw."
        )
    for store in targets:
        if store.backend == "postgresql":
            sessions = postgres.other_sessions(store.url)
            if sessions:
                raise BackupError(
                    f"De {store.label} ({postgres.db_name(store.url)}) heeft nog {sessions} "
                    "andere verbinding(en): draait de assistent nog ergens? Stop "
                    "alle processen en probeer het dan opnieuw."
                )


def _has_data(store: Store) -> bool:
    return sqlite.has_data(store.url) if store.backend == "sqlite" else postgres.has_data(store.url)


@dataclass(frozen=True)
class RestoreReport:
    directory: Path
    created_at: str
    stores: list[str]
    revision: str | None
    #: False when the backup's contact key is not among KW_CONTACT_KEY's keys.
    contact_key_known: bool


def restore(settings: Settings, backup_path: Path, force: bool = False) -> RestoreReport:
    from bot import migrations
    from bot.core import db

    directory, manifest = read_manifest(backup_path)
    targets = {s.name: s for s in stores(settings)}
    by_name = {e.get("store"): e for e in manifest["stores"]}
    if set(by_name) != set(targets):
        raise BackupError(
            "Deze backup past niet bij de instellingen: hij bevat "
            f"{', '.join(sorted(map(str, by_name)))}, hier zijn het "
            f"{', '.join(sorted(targets))} (zijn app-database en gesprekkenopslag "
            "hier wel of niet dezelfde database?)."
        )
    for name, store in targets.items():
        if by_name[name].get("backend") != store.backend:
            raise BackupError(
                f"De {store.label} in de backup is {by_name[name].get('backend')}, "
                f"hier is het {store.backend}. Terugzetten kan alleen naar "
                "hetzelfde soort database."
            )
    check_stopped(settings, list(targets.values()))
    if not force:
        full = [s.label for s in targets.values() if _has_data(s)]
        if full:
            raise BackupError(
                f"De {' en de '.join(full)} {'bevat' if len(full) == 1 else 'bevatten'} "
                "al gegevens. Terugzetten vervangt die; gebruik --force als dat de "
                "bedoeling is."
            )
    for name, store in targets.items():
        entry = by_name[name]
        dump = directory / entry["file"] if entry.get("file") else None
        # No file: the store did not exist yet when the backup was made; nor does it after.
        if store.backend == "sqlite":
            sqlite.restore(store.url, dump)
        else:
            postgres.restore(store.url, dump)
    db.dispose_engines(settings.database_url)  # pooled connections to the replaced database
    migrations.upgrade(settings.database_url)
    known = manifest.get("contact_key_id") in {key_id(k) for k in settings.contact_keys}
    return RestoreReport(
        directory,
        str(manifest.get("created_at")),
        sorted(targets),
        migrations.current_revision(settings.database_url),
        known,
    )


# -- commands --------------------------------------------------------------------------------

#: What a database or the disk can throw at a backup or restore: a Dutch line, not a traceback.
_FAILURES: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, ImportError)
try:
    import psycopg2
    from sqlalchemy.exc import SQLAlchemyError

    _FAILURES = (*_FAILURES, psycopg2.Error, SQLAlchemyError)
except ImportError:  # pragma: no cover - both are in the app's lock
    pass


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        target = backup(settings, Path(args.out) if args.out else None)
    except BackupError as exc:
        return refused(exc)
    except _FAILURES as exc:
        return refused(f"De backup is mislukt ({type(exc).__name__}: {exc}); er is geen backup gemaakt.")
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    say(f"Backup gemaakt: {target}")
    for entry in manifest["stores"]:
        what = _STORE_NAMES[entry["store"]]
        say(
            f"  {what}: {entry['file']} ({entry['size']} bytes)"
            if entry["file"]
            else f"  {what}: nog niet aangemaakt, niets te bewaren"
        )
    say("Let op: var/secrets.json (met KW_CONTACT_KEY) zit er niet in; bewaar dat apart.")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = restore(settings, Path(args.backup), force=args.force)
    except BackupError as exc:
        return refused(exc)
    except _FAILURES as exc:
        return refused(
            f"Terugzetten is mislukt ({type(exc).__name__}: {exc}). Controleer de "
            "databases en zet de backup opnieuw terug met --force."
        )
    say(
        f"Backup van {report.created_at} teruggezet ({', '.join(_STORE_NAMES[s] for s in report.stores)}); "
        f"app-database bijgewerkt tot versie {report.revision}."
    )
    if not report.contact_key_known:
        say(
            "Let op: deze backup is gemaakt met een andere KW_CONTACT_KEY dan die nu is ingesteld. "
            "Zet de sleutel van toen terug (var/secrets.json of KW_CONTACT_KEY), anders zijn de "
            "contactgegevens van de tickets niet te lezen.",
            error=True,
        )
    return 0


COMMANDS = (
    (
        "backup",
        "backup van de app-database en de gesprekkenopslag (kan terwijl alles draait)",
        cmd_backup,
        ((("--out",), {"metavar": "DIR", "help": "map waarin de backup komt (standaard var/backups)"}),),
    ),
    (
        "restore",
        "een backup terugzetten (alleen als de assistent gestopt is)",
        cmd_restore,
        (
            (("backup",), {"metavar": "BACKUP", "help": "de backupmap (of het manifest.json erin)"}),
            (
                ("--force",),
                {
                    "action": "store_true",
                    "help": "ook terugzetten als de databases al gegevens bevatten (die gaan verloren)",
                },
            ),
        ),
    ),
)


def add_commands(subparsers) -> None:
    add_table(subparsers, COMMANDS)
