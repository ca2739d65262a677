"""Migrations: upgrade from empty, the models match the migrated schema, and a
downgrade/upgrade round trip works (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import store.models  # noqa: F401  (every table)
from store.db import Database
from store.models.base import Base
from tests.databases import TemplateDatabase


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_matches_models_and_round_trips(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    url = await template_db.empty(tmp_path)
    db = Database(url)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            assert tables == set(Base.metadata.tables)
            assert await conn.run_sync(_diff) == []
        await db.downgrade("base")
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        await db.upgrade()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(Base.metadata.tables)
    finally:
        await db.dispose()
        await template_db.discard(url)
