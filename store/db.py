"""The database handle: engine, sessions and migrations (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import await_, in_greenlet

from store.sqlite_inline import (
    InlineConnection,
    WriteGate,
    gate_for,
    inline_creator,
    sqlite_path,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Seconds a transaction waits for SQLite's write lock (in-process gate and busy_timeout).
SQLITE_LOCK_TIMEOUT = 30.0


def async_url(url: str) -> str:
    """Turn ``sqlite:///x`` / ``postgresql://…`` into their asyncio driver URLs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return cfg


class UnitOfWorkSession(Session):
    """The sessions of ``Database``. SQLAlchemy's identity map holds objects weakly: an
    object a function loaded and let go is gone, and the next ``session.get`` of the
    same row is a second statement (the viewer's branch, a dialog read then written, a
    catalogue item checked then shown). A session opened with ``keep_loaded=True`` — one
    update's unit of work, short-lived — holds every object it loads until it closes,
    so within the update each row is read once."""


def _keep_loaded(session: Session, instance: object) -> None:
    kept = session.info.get("keep_loaded")
    if kept is not None:
        kept.append(instance)


event.listen(UnitOfWorkSession, "loaded_as_persistent", _keep_loaded)
event.listen(UnitOfWorkSession, "pending_to_persistent", _keep_loaded)


class Database:
    """Owns the engine; hands out sessions. One per process, created by the app root."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        self.gate: WriteGate | None = None
        if self.dialect == "sqlite":
            # Statements run in the loop's thread (see store/sqlite_inline.py); this
            # process's transactions take turns at the gate, other processes wait in
            # SQLite (busy_timeout).
            path = sqlite_path(make_url(url).database)
            kwargs["async_creator"] = inline_creator(path, SQLITE_LOCK_TIMEOUT)
            self.gate = gate_for(path, SQLITE_LOCK_TIMEOUT)
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        event.listen(self.engine.sync_engine, "before_cursor_execute", _no_nul, retval=True)
        if self.gate is not None:
            sync_engine = self.engine.sync_engine
            event.listen(sync_engine, "connect", _sqlite_pragmas)
            event.listen(sync_engine, "begin", partial(_sqlite_begin_immediate, self.gate))
            for name in ("commit", "rollback"):
                event.listen(sync_engine, name, partial(_end_of_transaction, self.gate))
            for name in ("reset", "checkin", "invalidate", "close"):
                event.listen(sync_engine.pool, name, partial(_connection_gone, self.gate))
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=UnitOfWorkSession
        )

    @asynccontextmanager
    async def session(self, *, keep_loaded: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose transaction the caller commits; rolled back on error.
        ``keep_loaded``: hold what it loads until it closes (``UnitOfWorkSession``), for
        a short unit of work such as one update."""
        async with self.sessionmaker() as session:
            if keep_loaded:
                session.info["keep_loaded"] = []
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    async def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to ``revision``."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_run_alembic, "upgrade", revision)

    async def downgrade(self, revision: str) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_run_alembic, "downgrade", revision)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _run_alembic(connection: Connection, action: str, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(cfg, revision)
    else:
        command.downgrade(cfg, revision)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_nul(v) for v in value)
    return value


def _no_nul(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,
) -> tuple[str, Any]:
    """PostgreSQL's text cannot hold NUL (asyncpg refuses the whole statement), and no
    user text means anything by it: every bound string loses its NULs, on both databases,
    so a file name or a text with one is stored (without it) instead of failing the update."""
    return statement, _without_nul(parameters)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(gate: WriteGate, conn: Connection) -> None:
    """Take SQLite's write lock when a transaction starts. A deferred transaction that
    reads and then writes while another connection writes fails at once with "database
    is locked" (SQLite cannot upgrade it without risking a deadlock); an immediate one
    waits for the lock (busy_timeout) instead. Periodic tasks and updates then simply
    take turns. A connection in AUTOCOMMIT mode (e.g. for ``PRAGMA wal_checkpoint``)
    starts no transaction."""
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    holder = conn.connection.dbapi_connection
    if in_greenlet():  # always, under the asyncio engine
        await_(gate.acquire(holder))
    try:
        inline = getattr(holder, "_connection", None)
        if isinstance(inline, InlineConnection):
            inline.begin_immediate()  # no statement round through SQLAlchemy
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        gate.release(holder)
        raise


def _end_of_transaction(gate: WriteGate, conn: Connection) -> None:
    try:
        holder = conn.connection.dbapi_connection
    except Exception:  # the connection is already gone: _connection_gone releases
        return
    gate.release(holder)


def _connection_gone(gate: WriteGate, dbapi_connection: Any, *_args: Any) -> None:
    """A connection returned, reset or dropped without a COMMIT/ROLLBACK event (a
    cancelled task, an invalidated connection) gives the gate back too."""
    gate.release(dbapi_connection)


def run_upgrade_blocking(url: str, revision: str = "head") -> None:
    """For the CLI: migrate from synchronous code."""

    async def _go() -> None:
        db = Database(url)
        try:
            await db.upgrade(revision)
        finally:
            await db.dispose()

    asyncio.run(_go())
