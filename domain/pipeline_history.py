"""Every person's status over time (``person_status_history``): a status change writes
the old status's end and the new one's start, so who owed a report for a past period is
judged by the status then, not by today's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.roles import PersonStatus
from store.models import Person, PersonStatusHistory


async def change_status(
    session: AsyncSession,
    person: Person,
    status: PersonStatus,
    *,
    on: date,
    now: datetime,
    by_person_id: int | None,
    source: str,
    previous: PersonStatus | None = None,
) -> None:
    """Give ``person`` the status ``status`` from ``on``: the open history row ends
    (one is written for the old status — ``previous``, else the person's current one —
    first if the person has none)."""
    open_rows = (
        await session.scalars(
            select(PersonStatusHistory).where(
                PersonStatusHistory.person_id == person.id, PersonStatusHistory.valid_to.is_(None)
            )
        )
    ).all()
    if not open_rows:
        session.add(
            PersonStatusHistory(
                person_id=person.id,
                status=previous or person.status,
                valid_from=None,
                valid_to=on,
                source="before",
                changed_at=now,
            )
        )
    for row in open_rows:
        row.valid_to = on
    session.add(
        PersonStatusHistory(
            person_id=person.id,
            status=status,
            valid_from=on,
            valid_to=None,
            source=source,
            changed_at=now,
            changed_by_person_id=by_person_id,
        )
    )
    person.status = status
    person.updated_at = now
    await session.flush()


async def statuses_on(
    session: AsyncSession, people: Iterable[tuple[int, PersonStatus]], day: date
) -> dict[int, PersonStatus | None]:
    """The status each person had on ``day``: from the history; a person without any
    history row has always had the current status; one whose history starts after
    ``day`` had none (no duty then)."""
    current = dict(people)
    if not current:
        return {}
    rows = (
        await session.execute(
            select(
                PersonStatusHistory.person_id,
                PersonStatusHistory.status,
                PersonStatusHistory.valid_from,
                PersonStatusHistory.valid_to,
            ).where(PersonStatusHistory.person_id.in_(sorted(current)))
        )
    ).all()
    known: set[int] = set()
    found: dict[int, PersonStatus] = {}
    for person_id, status, valid_from, valid_to in rows:
        known.add(person_id)
        if (valid_from is None or valid_from <= day) and (valid_to is None or valid_to > day):
            found[person_id] = status
    return {pid: found.get(pid) if pid in known else status for pid, status in current.items()}
