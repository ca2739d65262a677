"""Leader election with a lease row: exactly one instance runs the scheduler's tasks.

Each process has a random holder id. A tick renews the lease when it holds it, or takes
it when the previous holder's lease expired (the holder died). Works the same on SQLite
and PostgreSQL (one conditional UPDATE, or an INSERT racing on the primary key).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from bot.runtime import Runtime
from store.models import Lease

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
DEFAULT_TTL = timedelta(seconds=30)


class LeaderLease:
    def __init__(
        self,
        runtime: Runtime,
        name: str = SCHEDULER_LEASE,
        ttl: timedelta = DEFAULT_TTL,
        holder: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.ttl = ttl
        self.holder = holder or uuid.uuid4().hex
        self.is_leader = False
        #: How many times this process took the lease (a new term each time): the
        #: dispatcher recovers what a previous holder left when it changes.
        self.terms = 0
        #: ``time.monotonic()`` until which the lease is surely ours (taken before the
        #: renewal was asked for, so it errs on the safe side).
        self.valid_until = 0.0

    def holds(self) -> bool:
        """Whether this process still holds a lease that has not run out (a fenced
        leader stops sending: another instance may have taken over)."""
        return self.is_leader and time.monotonic() < self.valid_until

    async def ensure(self) -> bool:
        """Renew or take the lease; True when this process is the leader now."""
        now = self.runtime.clock.now()
        asked = time.monotonic()
        async with self.runtime.db.session() as session:
            result = await session.execute(
                update(Lease)
                .where(
                    Lease.name == self.name,
                    or_(Lease.holder == self.holder, Lease.expires_at <= now),
                )
                .values(holder=self.holder, expires_at=now + self.ttl)
            )
            won = bool(result.rowcount)  # type: ignore[attr-defined]
            if not won:
                existing = await session.get(Lease, self.name)
                if existing is None:
                    session.add(
                        Lease(
                            name=self.name,
                            holder=self.holder,
                            expires_at=now + self.ttl,
                            acquired_at=now,
                        )
                    )
                    try:
                        await session.flush()
                        won = True
                    except IntegrityError:
                        await session.rollback()
                        won = False
            if won:
                await session.commit()
        if won != self.is_leader:
            log.info("lease %s %s by %s", self.name, "taken" if won else "lost", self.holder)
            if won:
                self.terms += 1
        self.is_leader = won
        self.valid_until = asked + self.ttl.total_seconds() if won else 0.0
        return won

    async def release(self) -> None:
        if not self.is_leader:
            return
        async with self.runtime.db.session() as session:
            await session.execute(
                update(Lease)
                .where(Lease.name == self.name, Lease.holder == self.holder)
                .values(expires_at=self.runtime.clock.now())
            )
            await session.commit()
        self.is_leader = False
        self.valid_until = 0.0
