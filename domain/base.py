"""What every domain service gets: the unit of work's session and the clock."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import Clock
from domain.viewer import Viewer
from store.repositories import add_audit


class Service:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    async def audit(
        self,
        action: str,
        *,
        actor: Viewer | None = None,
        branch_id: int | None = None,
        subject_type: str | None = None,
        subject_id: object | None = None,
        **details: Any,
    ) -> None:
        await add_audit(
            self.session,
            at=self.clock.now(),
            action=action,
            actor_telegram_id=actor.telegram_user_id if actor else None,
            actor_person_id=actor.person_id if actor else None,
            branch_id=branch_id if branch_id is not None else (actor.branch_id if actor else None),
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )
