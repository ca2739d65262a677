"""Fresh databases for tests: a migrated template copied per test.

SQLite (default): the template file is copied. PostgreSQL (``TEST_DATABASE_URL``): a
template database is migrated once per session and each test gets
``CREATE DATABASE … TEMPLATE …``, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from store.db import Database

PG_ENV = "TEST_DATABASE_URL"


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        database=parsed.database or "postgres",
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


class TemplateDatabase:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg = pg_url()
        self.name = f"bbt_template_{os.getpid()}"
        self.sqlite_path = root / "template.sqlite3"

    def create(self) -> None:
        async def go() -> None:
            if self.pg:
                await _pg_admin(
                    self.pg,
                    f'DROP DATABASE IF EXISTS "{self.name}"',
                    f'CREATE DATABASE "{self.name}"',
                )
                url = _with_database(self.pg, self.name)
            else:
                url = f"sqlite:///{self.sqlite_path}"
            db = Database(url)
            await db.upgrade()
            await db.dispose()

        asyncio.run(go())

    def drop(self) -> None:
        if self.pg:
            asyncio.run(_pg_admin(self.pg, f'DROP DATABASE IF EXISTS "{self.name}"'))

    async def fresh(self, tmp_path: Path) -> str:
        """A URL of a new, migrated, empty database for one test."""
        if self.pg:
            name = f"bbt_{uuid.uuid4().hex[:12]}"
            await _pg_admin(self.pg, f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
            return _with_database(self.pg, name)
        target = tmp_path / "branchbot.sqlite3"
        shutil.copyfile(self.sqlite_path, target)
        return f"sqlite:///{target}"

    async def empty(self, tmp_path: Path) -> str:
        """A URL of a new database with no tables at all (migration tests)."""
        if self.pg:
            name = f"bbt_{uuid.uuid4().hex[:12]}"
            await _pg_admin(self.pg, f'CREATE DATABASE "{name}"')
            return _with_database(self.pg, name)
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"

    async def discard(self, url: str) -> None:
        if self.pg:
            name = make_url(url).database
            await _pg_admin(self.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
