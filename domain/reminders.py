"""The branch calendar service: default rules, the secretary's edits, members'
upcoming events, mute preferences and the list of deliveries in an unknown state."""

# i18n-domain: reminders

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from domain import calendar as cal
from domain.base import Service
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.roles import PersonStatus, Role
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import (
    Branch,
    CalendarRule,
    Person,
    ReminderOutbox,
    ReminderPreference,
    ReminderRule,
)

MAX_TITLE = 60


@dataclass(frozen=True)
class RuleInfo:
    id: int
    kind: str
    title: str | None
    schedule: cal.Schedule
    event_time: str | None
    audience: str
    enabled: bool
    reminders_on: bool
    reminders: tuple[tuple[int, str], ...]

    @property
    def mandatory(self) -> bool:
        return self.kind in cal.MANDATORY_KINDS


@dataclass(frozen=True)
class EventInfo:
    day: date
    rule_id: int
    kind: str
    title: str | None
    event_time: str | None


@dataclass(frozen=True)
class UnknownDelivery:
    id: int
    person_name: str
    kind: str
    title: str | None
    occurrence: date
    claimed_at: datetime | None


@dataclass(frozen=True)
class Preference:
    muted: bool
    paused_until: date | None


def schedule_of(rule: CalendarRule) -> cal.Schedule:
    return cal.Schedule(
        freq=rule.freq,
        anchor=rule.anchor,
        nth=rule.nth,
        weekday=rule.weekday,
        day=rule.day,
        month_in_period=rule.month_in_period,
        offset_days=rule.offset_days,
        on_date=rule.on_date,
    )


def in_audience(audience: str, status: PersonStatus, role: Role) -> bool:
    if audience == cal.AUDIENCE_ALL:
        return True
    if audience == cal.AUDIENCE_PARTY:
        return status.is_party_member
    if audience == cal.AUDIENCE_PROBATIONARY:
        return status is PersonStatus.PROBATIONARY
    if audience == cal.AUDIENCE_CANDIDATES:
        return status in (PersonStatus.ACTIVIST, PersonStatus.TARGET)
    if audience == cal.AUDIENCE_COMMITTEE:
        return role in (Role.COMMITTEE, Role.SECRETARY)
    return False


class RemindersService(Service):
    # -- set-up -------------------------------------------------------------------
    async def ensure_defaults(self, branch_id: int) -> bool:
        """Give a branch the default calendar (DOMAIN.md) once; True when created."""
        count = await self.session.scalar(
            select(func.count(CalendarRule.id)).where(CalendarRule.branch_id == branch_id)
        )
        if count:
            return False
        now = self.clock.now()
        for default in cal.DEFAULT_RULES:
            s = default.schedule
            rule = CalendarRule(
                branch_id=branch_id,
                kind=default.kind,
                title=None,
                freq=s.freq,
                anchor=s.anchor,
                nth=s.nth,
                weekday=s.weekday,
                day=s.day,
                month_in_period=s.month_in_period,
                offset_days=s.offset_days,
                on_date=s.on_date,
                event_time=default.event_time,
                audience=default.audience,
                enabled=True,
                reminders_on=True,
                changed_at=now,
                created_at=now,
            )
            self.session.add(rule)
            await self.session.flush()
            self._add_reminders(rule.id, default.reminders, now)
        await self.session.flush()
        await self.audit(
            "calendar.defaults", branch_id=branch_id, subject_type="branch", subject_id=branch_id
        )
        return True

    def _add_reminders(
        self, rule_id: int, reminders: Iterable[tuple[int, str]], now: datetime
    ) -> None:
        """Reminder times (days before, time of day) for a new calendar rule."""
        for days, at in reminders:
            self.session.add(
                ReminderRule(
                    calendar_rule_id=rule_id,
                    days_before=days,
                    at_time=at,
                    enabled=True,
                    created_at=now,
                )
            )

    # -- reading ------------------------------------------------------------------
    async def _rule_info(self, rule: CalendarRule) -> RuleInfo:
        reminders = (
            await self.session.scalars(
                select(ReminderRule)
                .where(ReminderRule.calendar_rule_id == rule.id, ReminderRule.enabled.is_(True))
                .order_by(ReminderRule.days_before.desc(), ReminderRule.at_time)
            )
        ).all()
        return RuleInfo(
            id=rule.id,
            kind=rule.kind,
            title=rule.title,
            schedule=schedule_of(rule),
            event_time=rule.event_time,
            audience=rule.audience,
            enabled=rule.enabled,
            reminders_on=rule.reminders_on,
            reminders=tuple((r.days_before, r.at_time) for r in reminders),
        )

    def _require_secretary(self, viewer: Viewer) -> int:
        if not viewer.is_secretary or viewer.branch_id is None:
            raise NotAllowed(N_("Only the branch secretary can change the calendar."))
        return viewer.branch_id

    async def _own_rule(self, viewer: Viewer, rule_id: int) -> CalendarRule:
        branch_id = self._require_secretary(viewer)
        rule = await self.session.get(CalendarRule, rule_id)
        if rule is None or rule.branch_id != branch_id or not rule.enabled:
            raise NotFound(N_("This calendar entry no longer exists."))
        return rule

    async def rules(self, viewer: Viewer) -> list[RuleInfo]:
        branch_id = self._require_secretary(viewer)
        await self.ensure_defaults(branch_id)
        rows = (
            await self.session.scalars(
                select(CalendarRule)
                .where(CalendarRule.branch_id == branch_id, CalendarRule.enabled.is_(True))
                .order_by(CalendarRule.id)
            )
        ).all()
        return [await self._rule_info(r) for r in rows]

    async def rule(self, viewer: Viewer, rule_id: int) -> RuleInfo:
        return await self._rule_info(await self._own_rule(viewer, rule_id))

    async def upcoming(self, viewer: Viewer, days: int = 45) -> list[EventInfo]:
        """Events of the viewer's branch in the next ``days`` days that concern them."""
        if not viewer.is_member or viewer.branch_id is None:
            raise NotAllowed(N_("Only members of a branch can see its calendar."))
        await self.ensure_defaults(viewer.branch_id)
        branch = await self.session.get(Branch, viewer.branch_id)
        assert branch is not None
        today = self.clock.now().astimezone(ZoneInfo(branch.timezone)).date()
        rows = (
            await self.session.scalars(
                select(CalendarRule).where(
                    CalendarRule.branch_id == branch.id, CalendarRule.enabled.is_(True)
                )
            )
        ).all()
        status = viewer.status or PersonStatus.MEMBER
        role = viewer.role or Role.MEMBER
        events = []
        for rule in rows:
            if not in_audience(rule.audience, status, role) and not viewer.is_secretary:
                continue
            for day in cal.occurrences(schedule_of(rule), today, today + timedelta(days=days)):
                events.append(EventInfo(day, rule.id, rule.kind, rule.title, rule.event_time))
        events.sort(key=lambda e: (e.day, e.event_time or "", e.rule_id))
        return events

    # -- the secretary's edits ----------------------------------------------------
    async def change_when(self, viewer: Viewer, rule_id: int, change: cal.WhenChange) -> RuleInfo:
        rule = await self._own_rule(viewer, rule_id)
        old = schedule_of(rule), rule.event_time
        if change.nth is not None:
            if rule.anchor not in ("nth_weekday", "day"):
                raise DomainError(N_("This entry is not on a weekday of the month."))
            rule.anchor, rule.nth, rule.weekday, rule.day = (
                "nth_weekday",
                change.nth,
                change.weekday,
                None,
            )
        if change.day is not None:
            if rule.anchor not in ("nth_weekday", "day"):
                raise DomainError(N_("This entry is not on a day of the month."))
            rule.anchor, rule.day, rule.nth, rule.weekday = "day", change.day, None, None
        if change.offset_days is not None:
            if rule.anchor != "period_end":
                raise DomainError(N_("Only deadlines are set in days after the period's end."))
            rule.offset_days = change.offset_days
        if change.on_date is not None:
            if rule.freq != "once":
                raise DomainError(N_("Only one-off events have a date."))
            if change.on_date < self._today(viewer):
                raise DomainError(N_("That date is in the past."))
            rule.on_date = change.on_date
        if change.event_time is not None:
            rule.event_time = change.event_time
        schedule_of(rule)  # still valid
        rule.changed_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "calendar.change",
            actor=viewer,
            subject_type="calendar_rule",
            subject_id=rule.id,
            old=f"{old[0]} {old[1]}",
            new=f"{schedule_of(rule)} {rule.event_time}",
        )
        return await self._rule_info(rule)

    async def set_reminders(
        self, viewer: Viewer, rule_id: int, pairs: list[tuple[int, str]]
    ) -> RuleInfo:
        """Replace the rule's reminder times. Old ones are switched off, not deleted (the
        outbox refers to them); choosing a time again switches it back on."""
        rule = await self._own_rule(viewer, rule_id)
        now = self.clock.now()
        existing = {
            (r.days_before, r.at_time): r
            for r in (
                await self.session.scalars(
                    select(ReminderRule).where(ReminderRule.calendar_rule_id == rule.id)
                )
            ).all()
        }
        for key, row in existing.items():
            row.enabled = key in pairs
        for days, at in pairs:
            if (days, at) not in existing:
                self.session.add(
                    ReminderRule(
                        calendar_rule_id=rule.id,
                        days_before=days,
                        at_time=at,
                        enabled=True,
                        created_at=now,
                    )
                )
        rule.changed_at = now
        await self.session.flush()
        await self.audit(
            "calendar.reminders",
            actor=viewer,
            subject_type="calendar_rule",
            subject_id=rule.id,
            reminders=[f"{d}@{t}" for d, t in pairs],
        )
        return await self._rule_info(rule)

    async def toggle_reminders(self, viewer: Viewer, rule_id: int) -> RuleInfo:
        rule = await self._own_rule(viewer, rule_id)
        rule.reminders_on = not rule.reminders_on
        rule.changed_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "calendar.reminders_on" if rule.reminders_on else "calendar.reminders_off",
            actor=viewer,
            subject_type="calendar_rule",
            subject_id=rule.id,
        )
        return await self._rule_info(rule)

    def _today(self, viewer: Viewer) -> date:
        return self.clock.now().astimezone(ZoneInfo(viewer.branch_timezone or "UTC")).date()

    async def add_one_off(
        self,
        viewer: Viewer,
        *,
        on_date: date,
        event_time: str | None,
        title: str,
        audience: str,
        reminders: list[tuple[int, str]],
    ) -> RuleInfo:
        branch_id = self._require_secretary(viewer)
        title = " ".join(title.split())
        if not title or len(title) > MAX_TITLE:
            raise DomainError(N_("A title is 1 to {n} characters."), n=MAX_TITLE)
        if audience not in cal.AUDIENCE_LABELS:
            raise DomainError(N_("Unknown audience."))
        if on_date < self._today(viewer):
            raise DomainError(N_("That date is in the past."))
        now = self.clock.now()
        rule = CalendarRule(
            branch_id=branch_id,
            kind=cal.ONE_OFF,
            title=title,
            freq="once",
            anchor="date",
            month_in_period=1,
            offset_days=0,
            on_date=on_date,
            event_time=event_time,
            audience=audience,
            enabled=True,
            reminders_on=True,
            changed_at=now,
            created_at=now,
        )
        self.session.add(rule)
        await self.session.flush()
        self._add_reminders(rule.id, reminders, now)
        await self.session.flush()
        await self.audit(
            "calendar.add",
            actor=viewer,
            subject_type="calendar_rule",
            subject_id=rule.id,
            title=title,
            date=on_date.isoformat(),
            audience=audience,
        )
        return await self._rule_info(rule)

    async def remove_one_off(self, viewer: Viewer, rule_id: int) -> None:
        rule = await self._own_rule(viewer, rule_id)
        if rule.kind != cal.ONE_OFF:
            raise Conflict(N_("Regular calendar entries cannot be removed; switch them off."))
        rule.enabled = False
        rule.changed_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "calendar.remove", actor=viewer, subject_type="calendar_rule", subject_id=rule.id
        )

    # -- unknown deliveries -------------------------------------------------------
    async def unknown_count(self, branch_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count(ReminderOutbox.id)).where(
                    ReminderOutbox.branch_id == branch_id,
                    ReminderOutbox.status == "unknown",
                    ReminderOutbox.acknowledged_at.is_(None),
                )
            )
            or 0
        )

    async def unknown_deliveries(self, viewer: Viewer, limit: int = 50) -> list[UnknownDelivery]:
        branch_id = self._require_secretary(viewer)
        rows = (
            await self.session.execute(
                select(ReminderOutbox, Person, CalendarRule)
                .join(Person, Person.id == ReminderOutbox.person_id)
                .join(ReminderRule, ReminderRule.id == ReminderOutbox.reminder_id)
                .join(CalendarRule, CalendarRule.id == ReminderRule.calendar_rule_id)
                .where(
                    ReminderOutbox.branch_id == branch_id,
                    ReminderOutbox.status == "unknown",
                    ReminderOutbox.acknowledged_at.is_(None),
                )
                .order_by(ReminderOutbox.due_at, ReminderOutbox.id)
                .limit(limit)
            )
        ).all()
        return [
            UnknownDelivery(o.id, p.full_name, c.kind, c.title, o.occurrence, o.claimed_at)
            for o, p, c in rows
        ]

    async def acknowledge_unknown(self, viewer: Viewer) -> int:
        branch_id = self._require_secretary(viewer)
        result = await self.session.execute(
            update(ReminderOutbox)
            .where(
                ReminderOutbox.branch_id == branch_id,
                ReminderOutbox.status == "unknown",
                ReminderOutbox.acknowledged_at.is_(None),
            )
            .values(acknowledged_at=self.clock.now())
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        await self.audit("reminders.unknown_ack", actor=viewer, count=count)
        return count

    # -- members' preferences -----------------------------------------------------
    async def preference(self, viewer: Viewer) -> Preference:
        if viewer.person_id is None:
            raise NotAllowed(N_("Only members of a branch get reminders."))
        row = await self.session.get(ReminderPreference, viewer.person_id)
        if row is None:
            return Preference(False, None)
        return Preference(row.muted, row.paused_until)

    async def _set_pref(
        self, viewer: Viewer, *, muted: bool | None = None, paused_until: date | bool | None = False
    ) -> Preference:
        if viewer.person_id is None:
            raise NotAllowed(N_("Only members of a branch get reminders."))
        row = await self.session.get(ReminderPreference, viewer.person_id)
        now = self.clock.now()
        if row is None:
            row = ReminderPreference(
                person_id=viewer.person_id, muted=False, paused_until=None, updated_at=now
            )
            self.session.add(row)
        if muted is not None:
            row.muted = muted
        if paused_until is not False:
            assert paused_until is None or isinstance(paused_until, date)
            row.paused_until = paused_until
        row.updated_at = now
        await self.session.flush()
        await self.audit(
            "reminders.preference",
            actor=viewer,
            subject_type="person",
            subject_id=viewer.person_id,
            muted=row.muted,
            paused_until=row.paused_until.isoformat() if row.paused_until else None,
        )
        return Preference(row.muted, row.paused_until)

    async def set_muted(self, viewer: Viewer, muted: bool) -> Preference:
        return await self._set_pref(viewer, muted=muted)

    async def pause_until(self, viewer: Viewer, until: date | None) -> Preference:
        if until is not None:
            today = self._today(viewer)
            if until < today:
                raise DomainError(N_("That date is in the past."))
            if until > today + timedelta(days=366):
                raise DomainError(N_("You can pause reminders for a year at most."))
        return await self._set_pref(viewer, paused_until=until)


async def _seed_branch(service: object, branch: Branch) -> None:
    """``BRANCH_CREATED_HOOKS``: a new branch gets the default calendar."""
    from domain.membership import MembershipService

    assert isinstance(service, MembershipService)
    await RemindersService(service.session, service.clock).ensure_defaults(branch.id)


def _install_hook() -> None:
    from domain.membership import BRANCH_CREATED_HOOKS

    if _seed_branch not in BRANCH_CREATED_HOOKS:
        BRANCH_CREATED_HOOKS.append(_seed_branch)


_install_hook()
