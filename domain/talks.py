"""Heart-to-heart talks (谈心谈话): recorded or planned by a member with another member
of the branch, a summary private to the two, the secretary and reviewers; coverage
(who has had no talk with a committee member this year), each party group's quarterly
table, the day's reminders of planned talks and the group leaders' quarter alert."""

# i18n-domain: meetings

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from domain import talks_rules as rules
from domain.base import Service
from domain.errors import Conflict, NotAllowed, NotFound
from domain.meetings_access import member_branch, reviewer_branch
from domain.periods import Quarter, local_today
from domain.roles import Role
from domain.roster_flags import register_flag_column
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    Branch,
    GroupLeader,
    Talk,
    TalkAlert,
    TelegramAccount,
)

NO_GROUP = ""


@dataclass(frozen=True)
class TalkInfo:
    id: int
    a_id: int
    a_name: str
    b_id: int
    b_name: str
    status: str
    talk_on: date
    summary: str | None


@dataclass(frozen=True)
class GroupTable:
    group: str
    members: list[tuple[int, str]]
    talks: list[TalkInfo]
    missing: list[str]


@dataclass(frozen=True)
class TalkReminder:
    talk: TalkInfo
    telegram_user_ids: list[int]


@dataclass(frozen=True)
class GroupAlert:
    group: str
    quarter: Quarter
    missing: list[str]
    telegram_user_ids: list[int]


register_flag_column(
    "group_leader",
    ("group leader", "党小组长", "小组长", "黨小組長"),
    GroupLeader,
    action="talk.group_leader",
    error=N_("Line {line}: group leader “{value}” must be 是 or 否."),
    more_yes=("组长", "党小组长"),
)


class TalkService(Service):
    _member = staticmethod(member_branch)
    _reviewer = staticmethod(reviewer_branch)

    async def today(self, branch_id: int) -> date:
        branch = await self.session.get(Branch, branch_id)
        assert branch is not None
        return local_today(self.clock.now(), branch.timezone)

    async def _infos(self, talks: list[Talk]) -> list[TalkInfo]:
        names = await repo.person_names(
            self.session, {t.person_a_id for t in talks} | {t.person_b_id for t in talks}
        )
        return [
            TalkInfo(
                t.id,
                t.person_a_id,
                names.get(t.person_a_id, "?"),
                t.person_b_id,
                names.get(t.person_b_id, "?"),
                t.status,
                t.talk_on,
                t.summary,
            )
            for t in talks
        ]

    async def people(self, viewer: Viewer, page: int, per_page: int) -> repo.MemberPage:
        """Whom the viewer can talk with: a page of the branch's other members, by name
        (cut in SQL)."""
        branch_id = self._member(viewer)
        return await repo.branch_member_page(
            self.session, branch_id, page, per_page, exclude_person_id=viewer.person_id
        )

    async def partner(self, viewer: Viewer, person_id: int) -> str:
        branch_id = self._member(viewer)
        membership = await repo.current_membership(self.session, person_id)
        if membership is None or membership.branch_id != branch_id or person_id == viewer.person_id:
            raise NotFound(N_("This person is not a member of your branch."))
        return (await repo.person_names(self.session, {person_id}))[person_id]

    async def check_held_day(self, viewer: Viewer, day: date) -> None:
        """A held talk's day: not in the future, not before last year."""
        today = await self.today(self._member(viewer))
        if day > today:
            raise Conflict(N_("A talk that was held cannot be in the future."))
        if day.year < today.year - 1:
            raise Conflict(N_("This date is too long ago."))

    async def record(self, viewer: Viewer, person_id: int, day: date, summary: str) -> TalkInfo:
        branch_id = self._member(viewer)
        await self.partner(viewer, person_id)
        await self.check_held_day(viewer, day)
        summary = summary.strip()
        if not summary:
            raise Conflict(N_("Please give a short summary."))
        if len(summary) > rules.MAX_SUMMARY:
            raise Conflict(
                N_("The summary is too long (at most {n} characters)."), n=rules.MAX_SUMMARY
            )
        return await self._add(
            viewer,
            branch_id,
            person_id,
            day,
            "talk.record",
            status="held",
            summary=summary,
            held_at=self.clock.now(),
        )

    async def plan(self, viewer: Viewer, person_id: int, day: date) -> TalkInfo:
        branch_id = self._member(viewer)
        await self.partner(viewer, person_id)
        today = await self.today(branch_id)
        if day < today:
            raise Conflict(N_("A planned talk cannot be in the past."))
        if day.year > today.year + 1:
            raise Conflict(N_("This date is too far ahead."))
        return await self._add(viewer, branch_id, person_id, day, "talk.plan", status="planned")

    async def _add(
        self,
        viewer: Viewer,
        branch_id: int,
        person_id: int,
        day: date,
        action: str,
        **fields: Any,
    ) -> TalkInfo:
        """A talk of the viewer with ``person_id`` on ``day`` (held or planned), audited."""
        assert viewer.person_id is not None
        talk = Talk(
            branch_id=branch_id,
            person_a_id=viewer.person_id,
            person_b_id=person_id,
            talk_on=day,
            created_by_person_id=viewer.person_id,
            created_at=self.clock.now(),
            **fields,
        )
        self.session.add(talk)
        await self.session.flush()
        await self.audit(
            action,
            actor=viewer,
            subject_type="talk",
            subject_id=talk.id,
            person=person_id,
            day=day.isoformat(),
        )
        return (await self._infos([talk]))[0]

    async def _own_planned(self, viewer: Viewer, talk_id: int) -> Talk:
        branch_id = self._member(viewer)
        talk = await self.session.get(Talk, talk_id)
        if talk is None or talk.branch_id != branch_id:
            raise NotFound(N_("This talk does not exist."))
        if viewer.person_id not in (talk.person_a_id, talk.person_b_id):
            raise NotAllowed(N_("Only the two people of a talk can record it."))
        if talk.status != "planned":
            raise Conflict(N_("This talk is already recorded."))
        return talk

    async def check_complete(self, viewer: Viewer, talk_id: int) -> TalkInfo:
        return (await self._infos([await self._own_planned(viewer, talk_id)]))[0]

    async def complete(self, viewer: Viewer, talk_id: int, summary: str) -> TalkInfo:
        """A planned talk was held (today, or on its day if that has passed)."""
        talk = await self._own_planned(viewer, talk_id)
        summary = summary.strip()
        if not summary:
            raise Conflict(N_("Please give a short summary."))
        if len(summary) > rules.MAX_SUMMARY:
            raise Conflict(
                N_("The summary is too long (at most {n} characters)."), n=rules.MAX_SUMMARY
            )
        today = await self.today(talk.branch_id)
        talk.status, talk.summary = "held", summary
        talk.talk_on = min(talk.talk_on, today)
        talk.held_at = self.clock.now()
        await self.session.flush()
        await self.audit("talk.complete", actor=viewer, subject_type="talk", subject_id=talk.id)
        return (await self._infos([talk]))[0]

    async def mine(self, viewer: Viewer, year: int) -> list[TalkInfo]:
        branch_id = self._member(viewer)
        talks = (
            await self.session.scalars(
                select(Talk)
                .where(
                    Talk.branch_id == branch_id,
                    or_(Talk.person_a_id == viewer.person_id, Talk.person_b_id == viewer.person_id),
                )
                .order_by(Talk.talk_on, Talk.id)
            )
        ).all()
        return await self._infos([t for t in talks if t.talk_on.year == year])

    async def _held(self, branch_id: int, first: date, last: date) -> list[Talk]:
        return list(
            (
                await self.session.scalars(
                    select(Talk)
                    .where(
                        Talk.branch_id == branch_id,
                        Talk.status == "held",
                        Talk.talk_on >= first,
                        Talk.talk_on <= last,
                    )
                    .order_by(Talk.talk_on, Talk.id)
                )
            ).all()
        )

    async def coverage(self, viewer: Viewer, year: int) -> list[str]:
        """Names of the members who have had no talk with a committee member in ``year``."""
        branch_id = self._reviewer(viewer)
        rows = await repo.branch_members(self.session, branch_id)
        committee = {
            r.person.id: r.membership.role in (Role.COMMITTEE, Role.SECRETARY) for r in rows
        }
        talks = await self._held(branch_id, date(year, 1, 1), date(year, 12, 31))
        missing = rules.uncovered(committee, [(t.person_a_id, t.person_b_id) for t in talks])
        return [r.person.full_name for r in rows if r.person.id in missing]

    async def _groups(self, branch_id: int, quarter: Quarter) -> list[GroupTable]:
        rows = await repo.branch_members(self.session, branch_id)
        talks = await self._infos(await self._held(branch_id, quarter.start, quarter.end))
        groups: dict[str, list[tuple[int, str]]] = {}
        for r in rows:
            groups.setdefault(r.membership.party_group or NO_GROUP, []).append(
                (r.person.id, r.person.full_name)
            )
        tables = []
        for group in sorted(groups):
            members = groups[group]
            ids = {pid for pid, _n in members}
            mine = [t for t in talks if t.a_id in ids or t.b_id in ids]
            missing = rules.without_talk(ids, [(t.a_id, t.b_id) for t in mine])
            tables.append(
                GroupTable(group, members, mine, [n for pid, n in members if pid in missing])
            )
        return tables

    async def group_tables(
        self, viewer: Viewer, quarter: Quarter, *, export: bool = False
    ) -> list[GroupTable]:
        """Each party group's talk table of ``quarter`` (the secretary and reviewers);
        an export (summaries leave the bot) is audited."""
        branch_id = self._reviewer(viewer)
        tables = await self._groups(branch_id, quarter)
        if export:
            await self.audit(
                "talk.export", actor=viewer, subject_type="quarter", subject_id=quarter.key
            )
        return tables

    # -- periodic -----------------------------------------------------------------------
    async def branch_ids(self) -> list[int]:
        return list((await self.session.scalars(select(Branch.id).order_by(Branch.id))).all())

    async def telegram_ids(self, person_ids: set[int]) -> dict[int, int]:
        if not person_ids:
            return {}
        rows = await self.session.execute(
            select(TelegramAccount.person_id, TelegramAccount.telegram_user_id).where(
                TelegramAccount.person_id.in_(person_ids)
            )
        )
        return {pid: tid for pid, tid in rows if pid is not None}

    async def due_reminders(self, branch_id: int) -> list[TalkReminder]:
        """Planned talks of today not yet reminded: marked and returned once."""
        today = await self.today(branch_id)
        talks = list(
            (
                await self.session.scalars(
                    select(Talk).where(
                        Talk.branch_id == branch_id,
                        Talk.status == "planned",
                        Talk.talk_on <= today,
                        Talk.reminded_at.is_(None),
                    )
                )
            ).all()
        )
        ids = await self.telegram_ids(
            {t.person_a_id for t in talks} | {t.person_b_id for t in talks}
        )
        result = []
        for talk, info in zip(talks, await self._infos(talks), strict=True):
            talk.reminded_at = self.clock.now()
            result.append(
                TalkReminder(
                    info, [ids[p] for p in (talk.person_a_id, talk.person_b_id) if p in ids]
                )
            )
        await self.session.flush()
        return result

    async def due_group_alerts(self, branch_id: int) -> list[GroupAlert]:
        """In the quarter's last days: each party group whose table misses someone is
        reminded (its leaders) once per quarter."""
        today = await self.today(branch_id)
        quarter = Quarter.of(today)
        if not rules.group_alert_due(quarter, today):
            return []
        leaders = set((await self.session.scalars(select(GroupLeader.person_id))).all())
        alerts = []
        for table in await self._groups(branch_id, quarter):
            group_leaders = {pid for pid, _n in table.members if pid in leaders}
            if not table.missing or not group_leaders or table.group == NO_GROUP:
                continue
            try:
                async with self.session.begin_nested():
                    self.session.add(
                        TalkAlert(
                            branch_id=branch_id,
                            party_group=table.group,
                            quarter=quarter.key,
                            missing=len(table.missing),
                            sent_at=self.clock.now(),
                        )
                    )
            except IntegrityError:
                continue
            await self.audit(
                "talk.group_alert",
                branch_id=branch_id,
                subject_type="party_group",
                subject_id=table.group,
                quarter=quarter.key,
                missing=len(table.missing),
            )
            ids = await self.telegram_ids(group_leaders)
            alerts.append(GroupAlert(table.group, quarter, table.missing, list(ids.values())))
        return alerts
