"""SQLite for the asyncio engine without a worker thread per connection.

SQLAlchemy's ``sqlite+aiosqlite`` driver sends every call (execute, fetch, commit) to a
thread that owns the connection and waits for the answer: two cross-thread wake-ups and
a GIL hand-over per call, ~0.3–0.8 ms on a busy two-core machine, against ~0.01 ms for
the statement itself on a local file. A bot update runs 6–14 statements, so the hops
were most of its database time.

Here the same driver adapter gets a connection object with aiosqlite's interface whose
coroutines run the ``sqlite3`` call at once, in the event loop's thread, through
``create_async_engine(async_creator=…)``, SQLAlchemy's documented hook for bringing
one's own asyncio connection. The price: a statement blocks the loop while it runs.
Statements on a local file take microseconds (the 10,000-member ranking, the longest,
about a second); waiting for SQLite's write lock must not block it, so
:class:`WriteGate` makes this process's transactions queue for the lock with ``await``
first, and only another process (a CLI command beside the running bot) can make SQLite
itself wait (``busy_timeout``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    """aiosqlite's cursor interface over a ``sqlite3.Cursor``, without the thread."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunAtOnce:
    """Stands in for aiosqlite's request queue (``Connection._tx``), which SQLAlchemy's
    adapter uses to set ``isolation_level``: the call runs at once."""

    __slots__ = ()

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting adapter, as aiosqlite does
            future.set_exception(exc)


class InlineConnection:
    """aiosqlite's connection interface over a ``sqlite3.Connection``, without the
    thread: what ``SQLiteDialect_aiosqlite``'s adapter calls, and nothing else."""

    __slots__ = ("_conn", "_tx")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._tx = _RunAtOnce()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        assert self._conn is not None
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        if self._conn is None:
            raise ValueError("Connection closed")
        return InlineCursor(self._conn.cursor())

    def begin_immediate(self) -> None:
        """``BEGIN IMMEDIATE`` on the connection itself: transaction control, like the
        ``BEGIN`` asyncpg sends for PostgreSQL, without SQLAlchemy's statement machinery
        (a compiled-statement context, cursor events) that a statement needs."""
        if self._conn is None:
            raise ValueError("Connection closed")
        self._conn.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        if self._conn is not None:
            self._conn.commit()

    async def rollback(self) -> None:
        if self._conn is not None:
            self._conn.rollback()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Terminate (SQLAlchemy's ``has_terminate``): close without waiting."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], *, deterministic: bool = False
    ) -> None:
        assert self._conn is not None
        self._conn.create_function(name, num_params, func, deterministic=deterministic)


def inline_creator(path: str, timeout: float) -> Callable[[], Any]:
    """The ``async_creator`` for ``create_async_engine``: a new connection to ``path``.

    ``check_same_thread=False`` only because SQLAlchemy may close a connection from a
    garbage-collection callback; statements themselves all run in the loop's thread."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False, uri=True)
        return InlineConnection(conn)

    return connect


class WriteGate:
    """One SQLite transaction at a time per database file in this process, waited for
    with ``await``.

    Every transaction starts with ``BEGIN IMMEDIATE`` (SQLite's write lock). With the
    thread-free driver, a second transaction in the same process would make SQLite wait
    for the lock *inside* the event loop, so the first could never finish. The gate is
    taken before ``BEGIN`` and given back when the transaction ends. Engines on the same
    file (two bot instances in one test process) share one gate: see :func:`gate_for`."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._holder: object | None = None

    def _current_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests run one per test)
            self._loop, self._lock, self._holder = loop, asyncio.Lock(), None
        return self._lock

    async def acquire(self, holder: object) -> None:
        lock = self._current_lock()
        try:
            await asyncio.wait_for(lock.acquire(), self.timeout)
        except TimeoutError:
            raise sqlite3.OperationalError(
                f"database is locked (no transaction slot within {self.timeout:g} s)"
            ) from None
        self._holder = holder

    def release(self, holder: object) -> None:
        if self._holder is holder and self._lock.locked():
            self._holder = None
            self._lock.release()

    @property
    def holder(self) -> object | None:
        return self._holder


_GATES: dict[str, WriteGate] = {}


def gate_for(path: str, timeout: float) -> WriteGate:
    """The process's gate for the database file at ``path``."""
    key = path if path == ":memory:" else os.path.realpath(path)
    gate = _GATES.get(key)
    if gate is None:
        gate = _GATES[key] = WriteGate(timeout)
    return gate


def sqlite_path(database: str | None) -> str:
    """The file name for ``sqlite3.connect`` from a URL's database part."""
    return database or ":memory:"


__all__: Sequence[str] = (
    "InlineConnection",
    "WriteGate",
    "gate_for",
    "inline_creator",
    "sqlite_path",
)
