"""Extension points other features use to add content to reminders.

A feature registers an ``extra`` for a reminder kind (e.g. fees adds the member's amount
due and a "Paid" button to the ``fee_day`` reminder). The reminder dispatcher calls it
when rendering that kind for one recipient.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

from telegram import InlineKeyboardButton

from domain.reader import Reader
from domain.services import Services


@dataclass
class ReminderExtra:
    """Lines appended to a reminder and buttons attached to it (already translated)."""

    lines: list[str] = field(default_factory=list)
    buttons: list[list[InlineKeyboardButton]] = field(default_factory=list)


#: (services, person_id, occurrence date in the branch's zone, the recipient's Reader)
#: -> extra or None
ReminderExtraFn = Callable[[Services, int, date, Reader], Awaitable[ReminderExtra | None]]

REMINDER_EXTRAS: dict[str, list[ReminderExtraFn]] = {}


#: (services, [(person_id, occurrence date)]) -> None: reads ahead, for a whole batch of
#: recipients, what an extra needs (in the services' unit of work), so that rendering a
#: broadcast of thousands does not make one query per recipient.
PrefetchFn = Callable[[Services, list[tuple[int, date]]], Awaitable[None]]

EXTRA_PREFETCH: dict[ReminderExtraFn, PrefetchFn] = {}


def register_extra(kind: str, fn: ReminderExtraFn, prefetch: PrefetchFn | None = None) -> None:
    REMINDER_EXTRAS.setdefault(kind, []).append(fn)
    if prefetch is not None:
        EXTRA_PREFETCH[fn] = prefetch


#: Who still owes something for a deadline reminder kind ("report_quarterly",
#: "report_half_yearly", "declaration"): (services, branch_id, deadline date) -> the
#: person ids to remind, or None for "everyone the kind is for".
AudienceFn = Callable[[Services, int, date], Awaitable[set[int] | None]]

AUDIENCE_FILTERS: dict[str, AudienceFn] = {}


def register_audience(kind: str, fn: AudienceFn) -> None:
    AUDIENCE_FILTERS[kind] = fn
