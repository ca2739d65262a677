"""The per-unit-of-work facade handlers, the CLI and the scheduler call into."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import Clock
from domain.dialogs import DialogService
from domain.membership import MembershipService
from domain.reminders import RemindersService


class Services:
    """Domain services sharing one session (one transaction). Feature services are
    added here as cached properties so each is built only when used."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @cached_property
    def membership(self) -> MembershipService:
        return MembershipService(self.session, self.clock)

    @cached_property
    def dialogs(self) -> DialogService:
        return DialogService(self.session, self.clock)

    @cached_property
    def reminders(self) -> RemindersService:
        return RemindersService(self.session, self.clock)
