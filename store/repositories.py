"""Queries shared by the domain services. Repositories never commit: the caller's
unit of work (one transaction per update, CLI command or scheduler tick) does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.roles import PersonStatus, Role
from store.models import AuditEntry, Branch, Membership, Person, TelegramAccount


@dataclass(frozen=True)
class MemberRow:
    person: Person
    membership: Membership
    account: TelegramAccount | None


async def get_account(session: AsyncSession, telegram_user_id: int) -> TelegramAccount | None:
    return await session.get(TelegramAccount, telegram_user_id)


async def account_of_person(session: AsyncSession, person_id: int) -> TelegramAccount | None:
    result = await session.scalars(
        select(TelegramAccount).where(TelegramAccount.person_id == person_id)
    )
    return result.first()


async def current_membership(session: AsyncSession, person_id: int) -> Membership | None:
    result = await session.scalars(
        select(Membership).where(Membership.person_id == person_id, Membership.ended_at.is_(None))
    )
    return result.first()


async def branch_by_code(session: AsyncSession, join_code: str) -> Branch | None:
    result = await session.scalars(select(Branch).where(Branch.join_code == join_code))
    return result.first()


async def branch_members(
    session: AsyncSession,
    branch_id: int,
    *,
    statuses: Sequence[PersonStatus] | None = None,
    roles: Sequence[Role] | None = None,
) -> list[MemberRow]:
    """Current members of a branch with their Telegram account (if bound), by name."""
    stmt = (
        select(Person, Membership, TelegramAccount)
        .join(Membership, Membership.person_id == Person.id)
        .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
        .where(Membership.branch_id == branch_id, Membership.ended_at.is_(None))
        .order_by(Person.full_name, Person.id)
    )
    if statuses is not None:
        stmt = stmt.where(Person.status.in_(list(statuses)))
    if roles is not None:
        stmt = stmt.where(Membership.role.in_(list(roles)))
    rows = (await session.execute(stmt)).all()
    return [MemberRow(person=p, membership=m, account=a) for p, m, a in rows]


@dataclass(frozen=True)
class MemberLine:
    """A member in a list: columns, not ORM objects."""

    person_id: int
    name: str
    can_review: bool
    telegram_user_id: int | None


@dataclass(frozen=True)
class MemberPage:
    """One page of a branch's current members, by name."""

    rows: list[MemberLine]
    #: members in all (every page)
    total: int
    #: the page shown (the one asked for, kept in range)
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.per_page - 1) // self.per_page)


def _member_filter(
    branch_id: int,
    statuses: Sequence[PersonStatus] | None,
    exclude_person_id: int | None,
    exclude_roles: Sequence[Role] | None,
) -> list[Any]:
    where: list[Any] = [Membership.branch_id == branch_id, Membership.ended_at.is_(None)]
    if statuses is not None:
        where.append(Person.status.in_(list(statuses)))
    if exclude_person_id is not None:
        where.append(Person.id != exclude_person_id)
    if exclude_roles:
        where.append(Membership.role.not_in(list(exclude_roles)))
    return where


async def branch_member_page(
    session: AsyncSession,
    branch_id: int,
    page: int,
    per_page: int,
    *,
    statuses: Sequence[PersonStatus] | None = None,
    exclude_person_id: int | None = None,
    exclude_roles: Sequence[Role] | None = None,
    person_id: int | None = None,
) -> MemberPage:
    """A page of ``branch_members`` for a picker: counted and cut in SQL (LIMIT/OFFSET),
    columns only, so a branch of thousands costs a page, not the whole branch. With
    ``person_id``: the page that holds that member (``page`` is then ignored)."""
    where = _member_filter(branch_id, statuses, exclude_person_id, exclude_roles)
    counted = (
        select(func.count()).select_from(Membership).join(Person, Person.id == Membership.person_id)
    )
    total = (await session.scalar(counted.where(*where))) or 0
    if person_id is not None:
        name = await session.scalar(select(Person.full_name).where(Person.id == person_id))
        before = (
            await session.scalar(
                counted.where(
                    *where,
                    or_(
                        Person.full_name < name,
                        and_(Person.full_name == name, Person.id < person_id),
                    ),
                )
            )
            if name is not None
            else 0
        )
        page = (before or 0) // per_page
    pages = max(1, (total + per_page - 1) // per_page)
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(Person.id, Person.full_name, Membership.can_review, TelegramAccount.telegram_user_id)
        .join(Membership, Membership.person_id == Person.id)
        .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
        .where(*where)
        .order_by(Person.full_name, Person.id)
        .limit(per_page)
        .offset(page * per_page)
    )
    lines = [MemberLine(pid, name, bool(review), tg) for pid, name, review, tg in rows]
    return MemberPage(lines, total, page, per_page)


async def branch_member_count(session: AsyncSession, branch_id: int) -> int:
    """How many current members the branch has (counted in SQL)."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.branch_id == branch_id, Membership.ended_at.is_(None))
        )
    ) or 0


async def branch_person_ids(
    session: AsyncSession, branch_id: int, *, statuses: Sequence[PersonStatus] | None = None
) -> list[int]:
    """Person ids of the branch's current members (a reminder audience): one column."""
    stmt = (
        select(Person.id)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.branch_id == branch_id, Membership.ended_at.is_(None))
    )
    if statuses is not None:
        stmt = stmt.where(Person.status.in_(list(statuses)))
    return list(await session.scalars(stmt.order_by(Person.id)))


async def branch_recipients(session: AsyncSession, branch_id: int) -> list[int]:
    """Telegram ids of the branch's current members whose account started the bot (the
    audience of a broadcast such as the ranking), as one column: a broadcast is
    inherently the whole branch, so it is read as ids (no ORM rows), by name."""
    rows = await session.scalars(
        select(TelegramAccount.telegram_user_id)
        .join(Membership, Membership.person_id == TelegramAccount.person_id)
        .join(Person, Person.id == TelegramAccount.person_id)
        .where(
            Membership.branch_id == branch_id,
            Membership.ended_at.is_(None),
            TelegramAccount.started_at.is_not(None),
        )
        .order_by(Person.full_name, Person.id)
    )
    return list(rows)


async def branch_reviewers(session: AsyncSession, branch_id: int) -> list[MemberRow]:
    """The secretary and committee members with review rights (filtered in SQL: a
    branch of 10,000 members has a handful of reviewers), by name."""
    stmt = (
        select(Person, Membership, TelegramAccount)
        .join(Membership, Membership.person_id == Person.id)
        .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
        .where(
            Membership.branch_id == branch_id,
            Membership.ended_at.is_(None),
            or_(Membership.role == Role.SECRETARY, Membership.can_review.is_(True)),
        )
        .order_by(Person.full_name, Person.id)
    )
    rows = (await session.execute(stmt)).all()
    return [MemberRow(person=p, membership=m, account=a) for p, m, a in rows]


async def person_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """Full names by person id (``None`` ids skipped; one query, none for no ids)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Person.id, Person.full_name).where(Person.id.in_(wanted)))
    return {pid: name for pid, name in rows}


async def add_audit(
    session: AsyncSession,
    *,
    at: datetime,
    action: str,
    actor_telegram_id: int | None = None,
    actor_person_id: int | None = None,
    branch_id: int | None = None,
    subject_type: str | None = None,
    subject_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=at,
            action=action,
            actor_telegram_id=actor_telegram_id,
            actor_person_id=actor_person_id,
            branch_id=branch_id,
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            details=details or {},
        )
    )
