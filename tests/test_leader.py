"""The scheduler lease when one process asks several times at once: every periodic task
starts 5 s after the bot and asks for the lease at the same moment; none may see it as
lost (a task that does skips its run, the quarter close for an hour)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime import Runtime
from scheduler.leader import LeaderLease
from store.db import Database
from tests.databases import TemplateDatabase
from tests.harness import make_settings


@pytest.fixture
async def runtime(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Runtime]:
    from bot.app import LOCAL_TOKEN
    from emulator import BotAPIEmulator

    url = await template_db.fresh(tmp_path)
    emu = BotAPIEmulator(token=LOCAL_TOKEN)  # settings need a Bot API URL; never started
    settings = make_settings(emu, url, tmp_path)
    runtime = Runtime(settings=settings, db=Database(url))
    yield runtime
    await runtime.db.dispose()
    await template_db.discard(url)


async def test_concurrent_first_asks_of_one_process_all_win(runtime: Runtime) -> None:
    lease = LeaderLease(runtime)
    other = LeaderLease(runtime)
    assert await asyncio.gather(*(lease.ensure() for _ in range(6))) == [True] * 6
    assert await other.ensure() is False
    assert await asyncio.gather(lease.ensure(), other.ensure()) == [True, False]
