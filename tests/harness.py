"""End-to-end harness: the real bot Application, polling a local Bot API emulator over
HTTP, on a fresh database. Tests act as Telegram users through ``emulator``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bot.app import LOCAL_TOKEN, build_application
from bot.context import BranchApp
from bot.runtime import Runtime
from bot.settings import Settings
from domain.clock import Clock, SystemClock
from domain.membership import BranchInfo, ImportResult
from domain.roster import parse_roster
from domain.services import Services
from emulator import BotAPIEmulator, EmulatedUser
from store.db import Database
from store.models import ProcessedUpdate
from tests.databases import TemplateDatabase


@dataclass
class Harness:
    emu: BotAPIEmulator
    app: BranchApp
    runtime: Runtime
    tmp_path: Path

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        language_code: str = "zh-hans",
        last_name: str | None = None,
        username: str | None = None,
    ) -> EmulatedUser:
        return self.emu.user(
            user_id, first_name, last_name=last_name, username=username, language_code=language_code
        )

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[Services]:
        """A unit of work of the test's own, once every update sent so far committed."""
        await self.settled()
        async with self.runtime.unit_of_work() as svc:
            yield svc

    async def create_branch(
        self, name: str = "心内科党支部", secretary: int = 1001, secretary_name: str = "王书记"
    ) -> BranchInfo:
        async with self.uow() as svc:
            return await svc.membership.create_branch(
                name, secretary, secretary_name=secretary_name
            )

    async def import_roster(
        self, join_code: str, content: str, filename: str = "roster.csv"
    ) -> ImportResult:
        rows = parse_roster(content.encode("utf-8"), filename)
        async with self.uow() as svc:
            return await svc.membership.import_roster(join_code, rows)

    async def branch_with_roster(
        self, roster: str, names: dict[int, str]
    ) -> tuple[BranchInfo, dict[int, EmulatedUser]]:
        """A branch (secretary 1001 王书记) with ``roster`` imported, and the users
        ``names`` (telegram id: first name) as if each had pressed /start: their accounts
        count as started, so notices reach them."""
        branch = await self.create_branch()
        await self.import_roster(branch.join_code, roster)
        users = {uid: self.user(uid, name) for uid, name in names.items()}
        for user in users.values():
            user.started = True
        async with self.runtime.db.session() as session:
            await session.execute(text("UPDATE telegram_accounts SET started_at = created_at"))
            await session.commit()
        return branch, users

    async def settled(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every update sent so far has committed (or rolled back and been
        recorded as an error). A handler's replies go out *before* its transaction
        commits, so a test that reads the database right after a reply would race it.
        The bot handles updates one after another, so the last one settling is enough
        (and a database restored from an older backup does not wait for lost ids)."""
        delivered = self.emu.delivered_update_ids
        if not delivered:
            return
        last = max(delivered)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.runtime.db.session() as session:
                done = await session.scalar(
                    select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == last)
                )
            if done is not None:
                return
            if loop.time() > deadline:
                raise AssertionError(f"update {last} never committed")
            await asyncio.sleep(0.01)

    async def orm_scalar(self, statement: Any) -> Any:
        """A value read through the ORM (typed columns such as Money), once every
        update sent so far has committed."""
        await self.settled()
        async with self.runtime.db.session() as session:
            return (await session.execute(statement)).scalar()

    async def scalar(self, sql: str, **params: Any) -> Any:
        """A value read with SQL, once every update sent so far has committed."""
        await self.settled()
        async with self.runtime.db.session() as session:
            return (await session.execute(text(sql), params)).scalar()


async def start_app(runtime: Runtime) -> BranchApp:
    app = build_application(runtime)
    await app.initialize()
    if app.post_init is not None:  # what run_polling() does
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    return app


async def stop_app(app: BranchApp) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


def make_settings(emu: BotAPIEmulator, url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        TELEGRAM_BOT_TOKEN=LOCAL_TOKEN,
        TELEGRAM_API_BASE_URL=emu.base_url,
        TELEGRAM_API_BASE_FILE_URL=emu.base_file_url,
        DATABASE_URL=url,
        BRANCHBOT_STORAGE_DIR=tmp_path / "storage",
        BRANCHBOT_RETRY_BACKOFF=0.01,
        # Test scripts send their next update milliseconds after an answer: the flood
        # throttle (bot/flood.py) is off here and tested on its own (test_hostile_e2e).
        **{"BRANCHBOT_FLOOD_BURST": 10_000_000, **extra},
    )


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    template: TemplateDatabase,
    *,
    clock: Clock | None = None,
    url: str | None = None,
    emu: BotAPIEmulator | None = None,
    extra_settings: dict[str, Any] | None = None,
) -> AsyncIterator[Harness]:
    """The bot on a fresh database (or on ``url``, e.g. to restart on the same data), on
    a new local emulator (or on ``emu``: Telegram stays up while the bot restarts)."""
    own_emu = emu is None
    if emu is None:
        emu = BotAPIEmulator(token=LOCAL_TOKEN)
        await emu.start()
    own_db = url is None
    url = url or await template.fresh(tmp_path)
    settings = make_settings(emu, url, tmp_path, **(extra_settings or {}))
    runtime = Runtime(settings=settings, db=Database(url), clock=clock or SystemClock())
    app = await start_app(runtime)
    try:
        yield Harness(emu=emu, app=app, runtime=runtime, tmp_path=tmp_path)
    finally:
        await stop_app(app)
        if own_emu:
            await emu.stop()
        if own_db:
            await template.discard(url)


@asynccontextmanager
async def lasting_world(
    tmp_path: Path, template: TemplateDatabase
) -> AsyncIterator[tuple[str, BotAPIEmulator]]:
    """A database and a Telegram that outlive several runs of the bot (restart tests:
    ``running_bot(…, url=url, emu=telegram)`` once per run)."""
    url = await template.fresh(tmp_path)
    telegram = BotAPIEmulator(token=LOCAL_TOKEN)
    await telegram.start()
    try:
        yield url, telegram
    finally:
        await telegram.stop()
        await template.discard(url)
