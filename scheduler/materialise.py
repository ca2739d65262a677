"""Materialise: the reminders due in ``[now - grace, now]`` become rows.

For every enabled calendar rule and reminder, a due reminder becomes one
``reminder_occurrences`` row (UNIQUE per reminder and occurrence) and one
``reminder_outbox`` row per recipient (UNIQUE per reminder, occurrence and person). A
reminder whose time passed longer ago than the grace window (the bot was down) is recorded
as ``skipped`` and logged, never sent late.

It runs on every dispatcher tick (15 s) and must stay cheap on a province's database
(5,000 branches, 100,000 members): the branches still without a calendar are found with
one query; the rules are read as columns; the due times are computed once per distinct
schedule (thousands of branches share the default calendar); the recipients of every
branch due at once are read with one columns query per chunk of branches (no ORM objects)
and their outbox rows inserted with one executemany.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.runtime import Runtime
from domain import calendar as cal
from domain.reminders import in_audience
from domain.roles import PersonStatus, Role
from domain.services import Services
from scheduler import hooks
from store.models import (
    Branch,
    CalendarRule,
    Membership,
    Person,
    ReminderOccurrence,
    ReminderOutbox,
    ReminderPreference,
    ReminderRule,
    TelegramAccount,
)

if TYPE_CHECKING:
    from scheduler.dispatcher import DispatchReport, ReminderConfig

log = logging.getLogger(__name__)

#: Branches (or persons) per ``IN (...)`` list.
CHUNK = 500


@dataclass(frozen=True)
class _Due:
    rule_id: int
    kind: str
    audience: str
    reminder_id: int
    branch_id: int
    timezone: str
    occurrence: date
    due_at: datetime


@dataclass(frozen=True)
class _Member:
    person_id: int
    status: PersonStatus
    role: Role
    telegram_user_id: int | None
    started_at: datetime | None
    blocked_at: datetime | None


def _chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def materialise(
    runtime: Runtime, now: datetime, cfg: ReminderConfig, report: DispatchReport
) -> None:
    async with runtime.db.session() as session:
        svc = Services(session, runtime.clock)
        # Branches without any calendar rule get the defaults (once: then they have rules).
        bare = (
            await session.scalars(
                select(Branch.id).where(
                    ~exists(select(CalendarRule.id).where(CalendarRule.branch_id == Branch.id))
                )
            )
        ).all()
        for branch_id in bare:
            await svc.reminders.ensure_defaults(branch_id)
        due = await _due_reminders(session, now, cfg)
        if not due:
            await session.commit()
            return
        fresh = await _record_occurrences(session, due, now, cfg, report)
        if fresh:
            await _queue_recipients(svc, fresh, now, report)
        await session.commit()


async def _due_reminders(session: Any, now: datetime, cfg: ReminderConfig) -> list[_Due]:
    """(rule, reminder, branch, occurrence, due time) not yet materialised."""
    rows = (
        await session.execute(
            select(
                CalendarRule.id,
                CalendarRule.kind,
                CalendarRule.audience,
                CalendarRule.freq,
                CalendarRule.anchor,
                CalendarRule.nth,
                CalendarRule.weekday,
                CalendarRule.day,
                CalendarRule.month_in_period,
                CalendarRule.offset_days,
                CalendarRule.on_date,
                CalendarRule.changed_at,
                ReminderRule.id,
                ReminderRule.days_before,
                ReminderRule.at_time,
                ReminderRule.created_at,
                Branch.id,
                Branch.timezone,
            )
            .join(ReminderRule, ReminderRule.calendar_rule_id == CalendarRule.id)
            .join(Branch, Branch.id == CalendarRule.branch_id)
            .where(
                CalendarRule.enabled.is_(True),
                CalendarRule.reminders_on.is_(True),
                ReminderRule.enabled.is_(True),
            )
            .order_by(CalendarRule.branch_id, CalendarRule.id, ReminderRule.id)
        )
    ).all()
    existing = {
        (rid, occ)
        for rid, occ in (
            await session.execute(
                select(ReminderOccurrence.reminder_id, ReminderOccurrence.occurrence).where(
                    ReminderOccurrence.due_at >= now - cfg.lookback - timedelta(days=1)
                )
            )
        ).all()
    }
    window_start = now - cfg.lookback
    # The due times of one schedule in the look-back window, computed once: thousands
    # of branches share the default calendar. Each rule then keeps those after its own
    # lower bound (its last change, its reminder's creation).
    memo: dict[tuple[Any, ...], list[tuple[date, datetime]] | None] = {}
    result: list[_Due] = []
    for (
        rule_id,
        kind,
        audience,
        freq,
        anchor,
        nth,
        weekday,
        day,
        month_in_period,
        offset_days,
        on_date,
        changed_at,
        reminder_id,
        days_before,
        at_time,
        reminder_created,
        branch_id,
        timezone,
    ) in rows:
        lower = max(window_start, changed_at, reminder_created)
        if lower > now:
            continue
        key: tuple[Any, ...] = (freq, anchor, nth, weekday, day, month_in_period, offset_days)
        key += (on_date, days_before, at_time, timezone)
        if key not in memo:
            try:
                schedule = cal.Schedule(
                    freq=freq,
                    anchor=anchor,
                    nth=nth,
                    weekday=weekday,
                    day=day,
                    month_in_period=month_in_period,
                    offset_days=offset_days,
                    on_date=on_date,
                )
                memo[key] = cal.due_between(
                    schedule, days_before, at_time, timezone, window_start, now
                )
            except ValueError:
                memo[key] = None
        found = memo[key]
        if found is None:
            log.error("calendar rule %s is invalid; ignored", rule_id)
            continue
        for occurrence, due_at in found:
            if due_at < lower or (reminder_id, occurrence) in existing:
                continue
            existing.add((reminder_id, occurrence))
            result.append(
                _Due(rule_id, kind, audience, reminder_id, branch_id, timezone, occurrence, due_at)
            )
    return result


async def _record_occurrences(
    session: Any, due: list[_Due], now: datetime, cfg: ReminderConfig, report: DispatchReport
) -> list[_Due]:
    """One occurrence row per due reminder (a chunk per executemany; on a conflict,
    another dispatcher got there first: row by row, keeping the ones we inserted).
    Returns the ones to queue (not late)."""
    fresh: list[_Due] = []
    for chunk in _chunks(due):
        values = [
            {
                "reminder_id": d.reminder_id,
                "branch_id": d.branch_id,
                "occurrence": d.occurrence,
                "due_at": d.due_at,
                "status": "skipped" if d.due_at < now - cfg.grace else "queued",
                "recipients": 0,
                "created_at": now,
            }
            for d in chunk
        ]
        try:
            async with session.begin_nested():
                await session.execute(insert(ReminderOccurrence), values)
            inserted: Sequence[_Due] = chunk
        except IntegrityError:
            inserted = []
            for d, v in zip(chunk, values, strict=True):
                try:
                    async with session.begin_nested():
                        await session.execute(insert(ReminderOccurrence), [v])
                    inserted = [*inserted, d]
                except IntegrityError:
                    continue  # another dispatcher got there first
        for d in inserted:
            if d.due_at < now - cfg.grace:
                report.skipped_occurrences += 1
                log.warning(
                    "reminders: %s of %s (rule %s, due %s) passed beyond the grace "
                    "window while the bot was down; skipped",
                    d.kind,
                    d.occurrence,
                    d.rule_id,
                    d.due_at.isoformat(),
                )
            else:
                fresh.append(d)
    return fresh


async def _members(session: Any, branch_ids: Sequence[int]) -> dict[int, list[_Member]]:
    """Current members of these branches with their account, as plain columns."""
    result: dict[int, list[_Member]] = defaultdict(list)
    for chunk in _chunks(list(branch_ids)):
        rows = (
            await session.execute(
                select(
                    Membership.branch_id,
                    Person.id,
                    Person.status,
                    Membership.role,
                    TelegramAccount.telegram_user_id,
                    TelegramAccount.started_at,
                    TelegramAccount.blocked_at,
                )
                .join(Membership, Membership.person_id == Person.id)
                .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
                .where(Membership.branch_id.in_(chunk), Membership.ended_at.is_(None))
                .order_by(Membership.branch_id, Person.full_name, Person.id)
            )
        ).all()
        for branch_id, pid, status, role, tid, started, blocked in rows:
            result[branch_id].append(_Member(pid, status, role, tid, started, blocked))
    return result


async def _preferences(session: Any, person_ids: Sequence[int]) -> dict[int, ReminderPreference]:
    prefs: dict[int, ReminderPreference] = {}
    for chunk in _chunks(list(person_ids)):
        for p in (
            await session.scalars(
                select(ReminderPreference).where(ReminderPreference.person_id.in_(chunk))
            )
        ).all():
            prefs[p.person_id] = p
    return prefs


async def _queue_recipients(
    svc: Services, fresh: list[_Due], now: datetime, report: DispatchReport
) -> None:
    session = svc.session
    members = await _members(session, sorted({d.branch_id for d in fresh}))
    prefs = await _preferences(
        session, sorted({m.person_id for ms in members.values() for m in ms})
    )
    counts: dict[tuple[int, date], int] = {}
    values: list[dict[str, Any]] = []
    for d in fresh:
        owed: set[int] | None = None
        if d.kind in cal.DEADLINE_KINDS and d.kind in hooks.AUDIENCE_FILTERS:
            owed = await hooks.AUDIENCE_FILTERS[d.kind](svc, d.branch_id, d.occurrence)
        rows = _outbox_rows(d, members.get(d.branch_id, []), owed, prefs, now)
        counts[(d.reminder_id, d.occurrence)] = len(rows)
        values.extend(rows)
    for chunk in _chunks(values, 2000):
        await session.execute(insert(ReminderOutbox), list(chunk))
    report.queued += len(values)
    table = cast(Table, ReminderOccurrence.__table__)
    params = [{"b_rid": rid, "b_occ": occ, "b_n": n} for (rid, occ), n in counts.items() if n]
    if params:
        await session.execute(
            update(table)
            .where(
                table.c.reminder_id == bindparam("b_rid"),
                table.c.occurrence == bindparam("b_occ"),
            )
            .values(recipients=bindparam("b_n")),
            params,
        )


def _outbox_rows(
    d: _Due,
    members: list[_Member],
    owed: set[int] | None,
    prefs: dict[int, ReminderPreference],
    now: datetime,
) -> list[dict[str, Any]]:
    mandatory = d.kind in cal.MANDATORY_KINDS
    due_day = d.due_at.astimezone(ZoneInfo(d.timezone)).date()
    values: list[dict[str, Any]] = []
    for m in members:
        if not in_audience(d.audience, m.status, m.role):
            continue
        if owed is not None and m.person_id not in owed:
            continue
        if m.telegram_user_id is None or m.started_at is None:
            continue  # a bot cannot message someone who never pressed /start
        status = "pending"
        error = None
        pref = prefs.get(m.person_id)
        if m.blocked_at is not None:
            status, error = "blocked", "blocked the bot earlier"
        elif pref is not None and not mandatory:
            if pref.muted:
                status, error = "muted", "muted optional reminders"
            elif pref.paused_until is not None and due_day <= pref.paused_until:
                status, error = "muted", f"paused until {pref.paused_until.isoformat()}"
        values.append(
            {
                "reminder_id": d.reminder_id,
                "occurrence": d.occurrence,
                "person_id": m.person_id,
                "branch_id": d.branch_id,
                "telegram_user_id": m.telegram_user_id,
                "kind": d.kind,
                "due_at": d.due_at,
                "status": status,
                "attempts": 0,
                "error": error,
                "created_at": now,
            }
        )
    return values
