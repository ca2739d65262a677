from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    """A migrated database each test copies (migrating per test is slow)."""
    template = TemplateDatabase(tmp_path_factory.mktemp("template"))
    template.create()
    yield template
    template.drop()


@pytest.fixture
async def bot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db) as harness:
        yield harness
