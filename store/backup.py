"""``branchbot backup`` / ``branchbot restore`` for the SQLite database.

Backups use SQLite's online backup API (``sqlite3.Connection.backup``) in one step: a
consistent snapshot taken under a read transaction, so the bot may keep running and
writing (WAL mode: readers do not block writers). PostgreSQL is refused with a hint:
``pg_dump`` / ``pg_restore`` do that job.

A restore never touches the database before the backup has been copied to a temporary
file and checked (an SQLite file, ``PRAGMA integrity_check`` says ok, it has
``alembic_version`` with a revision this code knows, and branchbot's tables). The
current database is first saved next to it (``NAME.before-restore-STAMP``), then its
content is replaced in one transaction with the backup API. That, not a file rename,
is the atomic step: renaming a file over a WAL-mode database would pair the new file
with the old ``-wal``/``-shm`` files, and a process still holding the old file open
would keep writing to the old copy. A database that looks in use (its ``-wal`` file
exists, or a bot instance holds an unexpired scheduler lease) is refused unless
``force``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

#: Tables every branchbot database has (from the first migration).
REQUIRED_TABLES = frozenset({"alembic_version", "persons", "branches", "processed_updates"})
PG_HINT = (
    "backup and restore handle SQLite only; for PostgreSQL use "
    "pg_dump --format=custom --file=FILE DATABASE and pg_restore --clean --dbname=DATABASE FILE"
)


class BackupError(RuntimeError):
    """Why a backup or restore was refused, in one line."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    revision: str
    size: int


@dataclass(frozen=True)
class RestoreInfo:
    database: Path
    revision: str
    saved_previous: Path | None


def sqlite_path(url: str) -> Path:
    """The file of an ``sqlite:///FILE`` URL; PostgreSQL and in-memory are refused."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(PG_HINT)
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    return Path(parsed.database)


@contextmanager
def _connect(path: Path, *, frozen: bool = False) -> Iterator[sqlite3.Connection]:
    """``frozen``: read a file nobody writes (a backup) without creating ``-wal``/``-shm``
    files next to it (a read-only WAL connection would leave them behind)."""
    name = quote(str(path))
    target = f"file:{name}?mode=ro&immutable=1" if frozen else f"file:{name}"
    with closing(sqlite3.connect(target, uri=True, timeout=30)) as conn:
        yield conn


def _temporary(near: Path, what: str) -> Path:
    return near.with_name(f".{near.name}.{what}-{uuid.uuid4().hex[:8]}.tmp")


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _copy(source: Path, target: Path, *, frozen_source: bool = False) -> None:
    """Copy a whole database with the backup API, in one step (a consistent snapshot).
    A source with a ``-wal`` file beside it is opened normally, so its log is read."""
    frozen = frozen_source and not Path(f"{source}-wal").exists()
    with _connect(source, frozen=frozen) as src, _connect(target) as dst:
        src.backup(dst)


def check_database(path: Path) -> str:
    """Check a file is a sound branchbot database; returns its Alembic revision."""
    from alembic.script import ScriptDirectory

    from store.db import alembic_config

    try:
        with _connect(path) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(
                    f"{path.name} is not a branchbot database (no {', '.join(sorted(missing))})"
                )
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path.name} is not a usable SQLite database: {exc}") from None
    if verdict is None or verdict[0] != "ok":
        raise BackupError(f"{path.name} failed the integrity check: {verdict and verdict[0]}")
    if row is None:
        raise BackupError(f"{path.name} has no schema revision")
    revision = str(row[0])
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except Exception:
        known = None
    if known is None:
        raise BackupError(
            f"{path.name} is at schema revision {revision}, which this version of branchbot "
            "does not know (made by a newer version?)"
        )
    return revision


def in_use(path: Path, now: datetime | None = None) -> str | None:
    """Why the database looks in use by a running bot, or None."""
    wal = Path(f"{path}-wal")
    if wal.exists():
        return f"{wal.name} exists (a bot is running on it, or was not stopped cleanly)"
    now = now or datetime.now(UTC)
    try:
        with _connect(path, frozen=True) as conn:  # -wal is absent: all is in the file
            row = conn.execute(
                "SELECT holder, expires_at FROM leases WHERE name = 'scheduler'"
            ).fetchone()
    except sqlite3.DatabaseError:
        return None
    if row is not None and row[1]:
        expires = datetime.fromisoformat(str(row[1])).replace(tzinfo=UTC)
        if expires > now:
            return f"bot instance {row[0]} holds the scheduler lease until {expires:%H:%M:%S} UTC"
    return None


def backup(url: str, target: Path, *, force: bool = False) -> BackupInfo:
    """Write a consistent copy of the database to ``target`` (also while the bot runs)."""
    source = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another name or pass --force")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file cannot be the database itself")
    tmp = _temporary(target, "backup")
    try:
        _copy(source, tmp)
        with _connect(tmp) as conn:  # a backup is one self-contained file
            conn.execute("PRAGMA journal_mode=DELETE")
        revision = check_database(tmp)
        os.replace(tmp, target)
    finally:
        _remove(tmp)
    return BackupInfo(target, revision, target.stat().st_size)


def restore(url: str, source: Path, *, force: bool = False) -> RestoreInfo:
    """Replace the database's content with the backup ``source`` (checked first)."""
    target = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"there is no backup file at {source}")
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError("the backup file is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(target, "restore")
    try:
        try:
            _copy(source, tmp, frozen_source=True)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source.name} is not a usable SQLite database: {exc}") from None
        revision = check_database(tmp)
        if not target.exists():
            os.replace(tmp, target)
            return RestoreInfo(target, revision, None)
        reason = None if force else in_use(target)
        if reason is not None:
            raise BackupError(
                f"the database looks in use: {reason}. Stop the bot first (or pass --force)"
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        saved = target.with_name(f"{target.name}.before-restore-{stamp}")
        try:
            _copy(target, saved)
        except sqlite3.DatabaseError as exc:
            _remove(saved)
            raise BackupError(f"could not save the current database first: {exc}") from None
        _copy(tmp, target)  # one transaction: readers see the old or the new database
    finally:
        _remove(tmp)
    return RestoreInfo(target, revision, saved)
