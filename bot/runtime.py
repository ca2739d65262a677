"""Long-lived resources of one bot process, built by the composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.settings import Settings
from domain.clock import Clock, SystemClock
from domain.services import Services
from store.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Services]:
        """One transaction: commits when the block ends without error."""
        async with self.db.session() as session:
            services = Services(session, self.clock)
            yield services
            await session.commit()
