"""Who is talking to the bot, as plain data resolved once per update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.roles import Audience, PersonStatus, Role


@dataclass(frozen=True)
class TelegramUserInfo:
    """The parts of a Telegram user the domain needs (no telegram types here)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip() or str(self.id)


@dataclass(frozen=True)
class Viewer:
    telegram_user_id: int
    display_name: str
    locale: str
    person_id: int | None = None
    full_name: str | None = None
    status: PersonStatus | None = None
    branch_id: int | None = None
    branch_name: str | None = None
    branch_timezone: str | None = None
    membership_id: int | None = None
    role: Role | None = None
    can_review: bool = False
    #: When the current membership began (aware UTC), e.g. for the quarters it covers.
    membership_started_at: datetime | None = None

    @property
    def is_member(self) -> bool:
        """Bound to a roster entry with a current branch membership."""
        return self.person_id is not None and self.branch_id is not None

    @property
    def is_secretary(self) -> bool:
        return self.is_member and self.role is Role.SECRETARY

    @property
    def is_reviewer(self) -> bool:
        return self.is_secretary or (self.is_member and self.can_review)

    @property
    def audiences(self) -> frozenset[Audience]:
        if not self.is_member:
            return frozenset({Audience.STRANGER})
        result = {Audience.MEMBER}
        if self.is_reviewer:
            result.add(Audience.REVIEWER)
        if self.is_secretary:
            result.add(Audience.SECRETARY)
        return frozenset(result)
