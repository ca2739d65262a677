"""The thread-free SQLite driver (store/sqlite_inline.py): transactions of one process
take turns at the write gate without blocking the event loop, the gate is given back
however a transaction ends, and engines on one file share it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from store.db import Database
from store.sqlite_inline import gate_for


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    async with database.session() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        await session.commit()
    yield database
    await database.dispose()


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("SELECT count(*) FROM notes"))).scalar_one())


async def test_a_second_transaction_waits_for_the_first_while_the_loop_keeps_running(
    db: Database,
) -> None:
    order: list[str] = []
    ticks = 0
    first_in = asyncio.Event()
    release_first = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def first() -> None:
        async with db.session() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('first')"))
            first_in.set()
            await release_first.wait()  # e.g. a reply to Telegram inside the transaction
            await session.commit()
            order.append("first committed")

    async def second() -> None:
        await first_in.wait()
        async with db.session() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('second')"))
            order.append("second wrote")
            await session.commit()

    tick = asyncio.create_task(ticker())
    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_in.wait()
    before = ticks
    await asyncio.sleep(0.1)
    assert ticks - before >= 5  # the waiting transaction does not freeze the loop
    assert order == []
    release_first.set()
    await asyncio.gather(*tasks)
    tick.cancel()
    assert order == ["first committed", "second wrote"]
    assert await _count(db) == 2


async def test_the_gate_is_given_back_after_an_error_a_rollback_and_a_cancellation(
    db: Database,
) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('lost')"))
            raise RuntimeError("handler failed")
    assert db.gate is not None and db.gate.holder is None

    with pytest.raises(OperationalError):  # an SQL error inside the transaction
        async with db.session() as session:
            await session.execute(text("INSERT INTO nowhere VALUES (1)"))
    assert db.gate.holder is None

    entered = asyncio.Event()

    async def hangs() -> None:
        async with db.session() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('cancelled')"))
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(hangs())
    await entered.wait()
    assert db.gate.holder is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.gate.holder is None
    assert await _count(db) == 0  # nothing of the three was kept


async def test_two_engines_on_one_file_share_the_gate(tmp_path: Path, db: Database) -> None:
    other = Database(db.url)
    assert other.gate is db.gate
    assert gate_for(str(tmp_path / "gate.sqlite3"), 1) is db.gate
    held = asyncio.Event()
    done = asyncio.Event()

    async def holder() -> None:
        async with db.session() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('a')"))
            held.set()
            await asyncio.sleep(0.2)
            await session.commit()
            done.set()

    task = asyncio.create_task(holder())
    await held.wait()
    async with other.session() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('b')"))
        assert done.is_set()  # it waited at the gate (not inside SQLite, for 30 s)
        await session.commit()
    await task
    assert await _count(other) == 2
    await other.dispose()


async def test_waiting_too_long_is_a_clear_database_error(tmp_path: Path) -> None:
    gate = gate_for(str(tmp_path / "slow.sqlite3"), 30)
    gate.timeout = 0.1
    owner = object()
    await gate.acquire(owner)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await gate.acquire(object())
    gate.release(owner)
    await gate.acquire(object())  # free again


async def test_autocommit_statements_bypass_the_gate(db: Database) -> None:
    async with db.session() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('x')"))
        # A checkpoint on another connection in AUTOCOMMIT mode needs no write slot.
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        await session.commit()
    assert await _count(db) == 1
