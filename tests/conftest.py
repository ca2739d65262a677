from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from store.db import Database
from tests.harness import Harness, running_bot


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A migrated SQLite file each test copies (migrating per test is slow)."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def migrate() -> None:
        db = Database(f"sqlite:///{path}")
        await db.upgrade()
        await db.dispose()

    asyncio.run(migrate())
    yield path


@pytest.fixture
async def bot(tmp_path: Path, template_db: Path | None) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db) as harness:
        yield harness
