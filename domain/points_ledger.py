# i18n-domain: points
"""Points, the ledger and scores: system and direct grants, ledger sums, quarterly
scores of the members, a member's overview and history, a quarter's ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    bindparam,
    func,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import NullType

from domain import points_rules as rules
from domain.errors import Conflict, DomainError, NotFound
from domain.periods import Quarter, local_today
from domain.points_base import (
    REASON_MAX,
    EntryInfo,
    GrantResult,
    MemberScore,
    Overview,
    _decimal,
    _money,
)
from domain.points_rules import PointsSettings
from domain.points_scheme import PointsScheme
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    LedgerEntry,
    LedgerKind,
    Membership,
    Person,
    PointItem,
    QuarterScore,
    TelegramAccount,
)

#: Entries read at a time when the quarter's ledger is streamed (``quarter_ledger``).
LEDGER_CHUNK = 2000


class PointsLedger(PointsScheme):
    """Grants, the ledger and the scores computed from it."""

    # -- grants ---------------------------------------------------------------------------
    async def grant_system(
        self,
        person_id: int,
        item_key: str,
        *,
        occurred_on: date,
        source: str,
        source_ref: str,
        note: str | None = None,
    ) -> int | None:
        """Grant catalogue item ``item_key`` of the person's branch to the person (for
        other features, e.g. a passed quiz), respecting the item's per-quarter cap.
        Idempotent: returns None when (source, source_ref) was already granted, or when
        the person has no branch or the item is missing or retired; else the entry id."""
        existing = await self.session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.source == source, LedgerEntry.source_ref == source_ref
            )
        )
        if existing is not None:
            return None
        membership = await repo.current_membership(self.session, person_id)
        if membership is None:
            return None
        item = await self.session.scalar(
            select(PointItem).where(
                PointItem.branch_id == membership.branch_id, PointItem.key == item_key
            )
        )
        if item is None or item.retired_at is not None:
            return None
        try:
            async with self.session.begin_nested():
                entry = await self._record(
                    branch_id=membership.branch_id,
                    person_id=person_id,
                    item=item,
                    occurred_on=occurred_on,
                    kind=LedgerKind.SYSTEM,
                    requested=item.points,
                    source=source,
                    source_ref=source_ref,
                    note=note,
                    by_person_id=None,
                )
        except IntegrityError:
            return None  # granted concurrently by another unit of work
        await self.audit(
            "points.grant.system",
            branch_id=membership.branch_id,
            subject_type="ledger",
            subject_id=entry.id,
            person=person_id,
            item=item_key,
            points=str(entry.points),
            source=source,
            source_ref=source_ref,
        )
        return entry.id

    async def branch_people(self, viewer: Viewer, page: int, per_page: int) -> repo.MemberPage:
        """A page of the branch's people, by name (counted and cut in SQL)."""
        branch_id = self._secretary(viewer)
        return await repo.branch_member_page(self.session, branch_id, page, per_page)

    async def person_in_branch(self, viewer: Viewer, person_id: int) -> str:
        branch_id = self._secretary(viewer)
        membership = await repo.current_membership(self.session, person_id)
        if membership is None or membership.branch_id != branch_id:
            raise NotFound(N_("This person is not a member of your branch."))
        return await self._person_name(person_id)

    async def direct_grant(
        self, viewer: Viewer, *, person_id: int, item_id: int, reason: str
    ) -> GrantResult:
        """The secretary grants (or, with a deduction item, deducts) points directly."""
        branch_id = self._secretary(viewer)
        name = await self.person_in_branch(viewer, person_id)
        item = await self.session.get(PointItem, item_id)
        if item is None or item.branch_id != branch_id or item.retired_at is not None:
            raise NotFound(N_("This item is no longer in the catalogue."))
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise DomainError(N_("The reason is 1 to {n} characters."), n=REASON_MAX)
        today = await self.today(branch_id)
        if await self._is_closed(branch_id, Quarter.of(today)):
            raise Conflict(
                N_("{quarter} is closed; its scores are final."), quarter=Quarter.of(today).key
            )
        entry = await self._record(
            branch_id=branch_id,
            person_id=person_id,
            item=item,
            occurred_on=today,
            kind=LedgerKind.GRANT,
            requested=item.points,
            source=None,
            source_ref=None,
            note=reason,
            by_person_id=viewer.person_id,
        )
        await self.audit(
            "points.grant.direct",
            actor=viewer,
            subject_type="ledger",
            subject_id=entry.id,
            person=person_id,
            item=item.key,
            points=str(entry.points),
            reason=reason,
        )
        return GrantResult(
            entry_id=entry.id,
            person_id=person_id,
            person_name=name,
            telegram_user_id=await self._telegram_id(person_id),
            item_names=dict(item.names or {}),
            points=entry.points,
            requested=entry.requested_points,
            reason=reason,
            quarter=entry.quarter,
        )

    # -- scores ---------------------------------------------------------------------------
    #: The columns of an ``EntryInfo``: the entry and its member's name (one join, no ORM
    #: objects, no query per member).
    _ENTRY_COLUMNS = (
        LedgerEntry.id,
        LedgerEntry.person_id,
        Person.full_name,
        LedgerEntry.quarter,
        LedgerEntry.occurred_on,
        LedgerEntry.kind,
        LedgerEntry.item_key,
        LedgerEntry.item_name,
        LedgerEntry.indicator,
        LedgerEntry.block,
        LedgerEntry.points,
        LedgerEntry.requested_points,
        LedgerEntry.note,
        LedgerEntry.reverses_id,
        LedgerEntry.created_at,
    )

    @staticmethod
    def _entry_row(row: Any, reversed_ids: set[int]) -> EntryInfo:
        return EntryInfo(
            id=row[0],
            person_id=row[1],
            person_name=row[2],
            quarter=row[3],
            occurred_on=row[4],
            kind=row[5],
            item_key=row[6],
            item_name=row[7],
            indicator=row[8],
            block=row[9],
            points=row[10],
            requested=row[11],
            note=row[12],
            reverses_id=row[13],
            reversed=row[0] in reversed_ids,
            created_at=row[14],
        )

    def _quarter_rows(self, branch_id: int, quarter: Quarter) -> Any:
        return (
            select(*self._ENTRY_COLUMNS)
            .join(Person, Person.id == LedgerEntry.person_id)
            .where(LedgerEntry.branch_id == branch_id, LedgerEntry.quarter == quarter.key)
        )

    async def _reversed_in(self, branch_id: int, quarter: Quarter) -> set[int]:
        """Ids of the quarter's entries that a later entry of the quarter reverses."""
        rows = await self.session.scalars(
            select(LedgerEntry.reverses_id).where(
                LedgerEntry.branch_id == branch_id,
                LedgerEntry.quarter == quarter.key,
                LedgerEntry.reverses_id.is_not(None),
            )
        )
        return {r for r in rows if r is not None}

    async def _sums(
        self, branch_id: int, quarter_keys: list[str], person_id: int | None = None
    ) -> dict[tuple[int, str], list[tuple[str, str, Decimal]]]:
        """The ledger summed in SQL per (person, quarter, block, indicator): what scoring
        needs, without loading every entry (a branch of 10,000 members has 400,000).
        Keyed by (person id, quarter key); values are (block, indicator, sum)."""
        stmt = self._sums_statement(branch_id, quarter_keys, person_id)
        result: dict[tuple[int, str], list[tuple[str, str, Decimal]]] = {}
        for pid, quarter, block, indicator, total in await self.session.execute(stmt):
            result.setdefault((pid, quarter), []).append((block, indicator, _decimal(total)))
        return result

    @staticmethod
    def _sums_statement(
        branch_id: int, quarter_keys: list[str], person_id: int | None = None
    ) -> Select[*tuple[Any, ...]]:
        stmt: Select[*tuple[Any, ...]] = (
            select(
                LedgerEntry.person_id,
                LedgerEntry.quarter,
                type_coerce(LedgerEntry.block, String),
                LedgerEntry.indicator,
                # Raw sums (no per-row type processing; _decimal() makes them exact).
                type_coerce(func.sum(LedgerEntry.points), NullType),
            )
            .where(LedgerEntry.branch_id == branch_id, LedgerEntry.quarter.in_(quarter_keys))
            .group_by(
                LedgerEntry.person_id,
                LedgerEntry.quarter,
                LedgerEntry.block,
                LedgerEntry.indicator,
            )
        )
        if person_id is not None:
            stmt = stmt.where(LedgerEntry.person_id == person_id)
        return stmt

    async def _sums_by_branch(
        self, branch_ids: Sequence[int], quarter_key: str
    ) -> dict[int, dict[tuple[int, str], list[tuple[str, str, Decimal]]]]:
        """``_sums`` of one quarter for many branches in one grouped query, by branch."""
        stmt = (
            select(
                LedgerEntry.branch_id,
                LedgerEntry.person_id,
                LedgerEntry.quarter,
                type_coerce(LedgerEntry.block, String),
                LedgerEntry.indicator,
                type_coerce(func.sum(LedgerEntry.points), NullType),
            )
            .where(LedgerEntry.branch_id.in_(list(branch_ids)), LedgerEntry.quarter == quarter_key)
            .group_by(
                LedgerEntry.branch_id,
                LedgerEntry.quarter,
                LedgerEntry.person_id,
                LedgerEntry.block,
                LedgerEntry.indicator,
            )
        )
        result: dict[int, dict[tuple[int, str], list[tuple[str, str, Decimal]]]] = {}
        for branch_id, pid, quarter, block, indicator, total in await self.session.execute(stmt):
            result.setdefault(branch_id, {}).setdefault((pid, quarter), []).append(
                (block, indicator, _decimal(total))
            )
        return result

    async def _stored_by_branch(
        self, branch_ids: Sequence[int], quarter_key: str
    ) -> dict[int, dict[int, Any]]:
        """``_stored_scores`` of one quarter for many branches, by branch."""
        rows = await self.session.execute(
            select(
                QuarterScore.branch_id,
                QuarterScore.person_id,
                QuarterScore.base,
                QuarterScore.deductions,
                QuarterScore.special,
                QuarterScore.extra,
                QuarterScore.total,
            ).where(
                QuarterScore.branch_id.in_(list(branch_ids)), QuarterScore.quarter == quarter_key
            )
        )
        result: dict[int, dict[int, Any]] = {}
        for r in rows:
            result.setdefault(r.branch_id, {})[r.person_id] = r
        return result

    @staticmethod
    def _by_indicator(sums: list[tuple[str, str, Decimal]]) -> dict[str, Decimal]:
        by_indicator: dict[str, Decimal] = {}
        for _, indicator, total in sums:
            by_indicator[indicator] = by_indicator.get(indicator, rules.ZERO) + total
        return by_indicator

    @staticmethod
    def _figures(
        sums: list[tuple[str, str, Decimal]], settings: PointsSettings
    ) -> tuple[rules.QuarterFigures, dict[str, Decimal]]:
        figures = rules.score_quarter(((block, total) for block, _, total in sums), settings)
        return figures, PointsLedger._by_indicator(sums)

    async def _stored_scores(self, branch_id: int, quarter: Quarter) -> dict[int, Any]:
        """Final scores of a closed quarter by person id (rows with the score columns)."""
        rows = await self.session.execute(
            select(
                QuarterScore.person_id,
                QuarterScore.base,
                QuarterScore.deductions,
                QuarterScore.special,
                QuarterScore.extra,
                QuarterScore.total,
            ).where(QuarterScore.branch_id == branch_id, QuarterScore.quarter == quarter.key)
        )
        return {r.person_id: r for r in rows}

    async def member_scores(self, branch_id: int, quarter: Quarter) -> list[MemberScore]:
        """Scores of the branch's Party members for a quarter, best first, ranked
        (final figures for a closed quarter)."""
        settings = await self.settings(branch_id)
        sums = await self._sums(branch_id, [quarter.key])
        stored = await self._stored_scores(branch_id, quarter)
        members = (
            await self.session.execute(
                select(Person.id, Person.full_name, Person.status, TelegramAccount.telegram_user_id)
                .join(Membership, Membership.person_id == Person.id)
                .outerjoin(TelegramAccount, TelegramAccount.person_id == Person.id)
                .where(Membership.branch_id == branch_id, Membership.ended_at.is_(None))
                .order_by(Person.full_name, Person.id)
            )
        ).all()
        return self._ranked(quarter.key, members, sums, stored, settings)

    @classmethod
    def _ranked(
        cls,
        quarter_key: str,
        members: Sequence[Any],
        sums: dict[tuple[int, str], list[tuple[str, str, Decimal]]],
        stored: dict[int, Any],
        settings: PointsSettings,
    ) -> list[MemberScore]:
        """The scores of ``members`` (person id, name, status, Telegram id; by name), best
        first, ranked: ``sums`` scored with the branch's ``settings``, the final figures
        of ``stored`` where the quarter is closed. Shared by the ranking and the close of
        many branches at once (``PointsService.close_due_quarters``)."""
        scores: list[MemberScore] = []
        for person_id, name, status, telegram_user_id in members:
            if not (status.is_party_member or person_id in stored):
                continue
            figures, by_indicator = cls._figures(sums.get((person_id, quarter_key), []), settings)
            final = stored.get(person_id)
            if final is not None:
                figures = rules.QuarterFigures(
                    base=final.base,
                    deductions=final.deductions,
                    special=final.special,
                    extra=final.extra,
                    total=final.total,
                    raw_special=figures.raw_special,
                    raw_extra=figures.raw_extra,
                )
            scores.append(
                MemberScore(
                    person_id=person_id,
                    name=name,
                    telegram_user_id=telegram_user_id,
                    figures=figures,
                    by_indicator=by_indicator,
                )
            )
        scores.sort(key=lambda s: (-s.figures.total, s.name, s.person_id))
        ranked: list[MemberScore] = []
        for index, score in enumerate(scores):
            rank = index + 1
            if ranked and ranked[-1].figures.total == score.figures.total:
                rank = ranked[-1].rank
            ranked.append(
                MemberScore(
                    score.person_id,
                    score.name,
                    score.telegram_user_id,
                    score.figures,
                    score.by_indicator,
                    rank,
                )
            )
        return ranked

    async def overview(self, viewer: Viewer, recent: int = 5) -> Overview:
        person_id, branch_id = self._member(viewer)
        branch = await self._branch(branch_id)  # once: settings and today both need it
        settings = PointsSettings.from_branch(branch.settings)
        current = Quarter.of(local_today(self.clock.now(), branch.timezone))
        quarters = [Quarter(current.year, q) for q in range(1, current.q + 1)]
        keys = [q.key for q in quarters]
        sums: dict[tuple[int, str], list[tuple[str, str, Decimal]]] = {}
        stored: dict[str, Decimal] = {}
        both = await self.session.execute(
            _YEAR, {"branch_id": branch_id, "person_id": person_id, "quarters": keys}
        )
        for pid, key, block, indicator, total in both:
            if block is None:
                stored[key] = _money(total)
            else:
                sums.setdefault((pid, key), []).append((block, indicator, _decimal(total)))
        year: list[tuple[Quarter, Decimal, bool]] = []
        joined = await self._joined_quarter(viewer, branch.timezone)
        for quarter in quarters:
            recorded = (person_id, quarter.key) in sums or quarter.key in stored
            if joined is not None and quarter < joined and not recorded:
                continue  # not yet a member of this branch then, and nothing recorded
            final = stored.get(quarter.key)
            if final is not None:
                year.append((quarter, final, True))
                continue
            figures, _ = self._figures(sums.get((person_id, quarter.key), []), settings)
            year.append((quarter, figures.total, False))
        figures, by_indicator = self._figures(sums.get((person_id, current.key), []), settings)
        last: list[EntryInfo] = []
        if recent > 0:
            rows = await self.session.scalars(
                _RECENT, {"branch_id": branch_id, "person_id": person_id, "recent": recent}
            )
            last = [self._entry_info(e, viewer.full_name or "") for e in rows]
        return Overview(
            quarter=current,
            figures=figures,
            by_indicator=by_indicator,
            year=year,
            annual=rules.annual(total for _, total, _ in year),
            recent=last,
            settings=settings,
        )

    @staticmethod
    def _entry_info(e: LedgerEntry, name: str, reversed_ids: set[int] | None = None) -> EntryInfo:
        return EntryInfo(
            id=e.id,
            person_id=e.person_id,
            person_name=name,
            quarter=e.quarter,
            occurred_on=e.occurred_on,
            kind=e.kind,
            item_key=e.item_key,
            item_name=e.item_name,
            indicator=e.indicator,
            block=e.block,
            points=e.points,
            requested=e.requested_points,
            note=e.note,
            reverses_id=e.reverses_id,
            reversed=e.id in (reversed_ids or set()),
            created_at=e.created_at,
        )

    async def history(
        self, viewer: Viewer, page: int = 0, per_page: int = 10
    ) -> tuple[list[EntryInfo], int]:
        """The viewer's ledger, newest first; (page, number of entries)."""
        person_id, _ = self._member(viewer)
        total = await self.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.person_id == person_id)
        )
        rows = (
            await self.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.person_id == person_id)
                .order_by(LedgerEntry.id.desc())
                .offset(max(0, page) * per_page)
                .limit(per_page)
            )
        ).all()
        return [self._entry_info(e, viewer.full_name or "") for e in rows], int(total or 0)

    async def quarter_ledger(
        self, viewer: Viewer, quarter: Quarter, *, chunk: int = LEDGER_CHUNK
    ) -> AsyncIterator[EntryInfo]:
        """The quarter's ledger in id order, streamed: read ``chunk`` entries at a time
        (keyset on the id, columns only), so an export of a 10,000-member branch's
        100,000 entries never holds them all. The rights are checked at the call."""
        branch_id = self._reviewer(viewer)
        reversed_ids = await self._reversed_in(branch_id, quarter)
        stmt = self._quarter_rows(branch_id, quarter).order_by(LedgerEntry.id).limit(chunk)

        async def entries() -> AsyncIterator[EntryInfo]:
            last = 0
            while True:
                rows = (await self.session.execute(stmt.where(LedgerEntry.id > last))).all()
                for row in rows:
                    yield self._entry_row(row, reversed_ids)
                if len(rows) < chunk:
                    return
                last = rows[-1][0]

        return entries()

    async def recent_ledger(self, viewer: Viewer, quarter: Quarter, limit: int) -> list[EntryInfo]:
        """The quarter's last ``limit`` entries, oldest first (the dashboard's table)."""
        branch_id = self._reviewer(viewer)
        rows = (
            await self.session.execute(
                self._quarter_rows(branch_id, quarter).order_by(LedgerEntry.id.desc()).limit(limit)
            )
        ).all()
        reversed_ids = await self._reversed_in(branch_id, quarter)
        return [self._entry_row(row, reversed_ids) for row in reversed(rows)]

    async def scores_for(self, viewer: Viewer, quarter: Quarter) -> list[MemberScore]:
        return await self.member_scores(self._reviewer(viewer), quarter)

    async def default_quarter(self, viewer: Viewer) -> Quarter:
        _, branch_id = self._member(viewer)
        return Quarter.of(await self.today(branch_id))


def _overview_statements() -> tuple[CompoundSelect[*tuple[Any, ...]], Select[LedgerEntry]]:
    """``overview``'s two statements (what ``/points`` runs), built once with bound
    parameters: building them costs more than SQLite takes to run them."""
    branch_id: BindParameter[int] = bindparam("branch_id")
    person_id: BindParameter[int] = bindparam("person_id")
    quarters: BindParameter[list[str]] = bindparam("quarters", expanding=True)
    sums = (
        select(
            LedgerEntry.person_id,
            LedgerEntry.quarter,
            type_coerce(LedgerEntry.block, String),
            LedgerEntry.indicator,
            type_coerce(func.sum(LedgerEntry.points), NullType),
        )
        .where(
            LedgerEntry.branch_id == branch_id,
            LedgerEntry.quarter.in_(quarters),
            LedgerEntry.person_id == person_id,
        )
        .group_by(
            LedgerEntry.person_id, LedgerEntry.quarter, LedgerEntry.block, LedgerEntry.indicator
        )
    )
    # The year's final scores in the same statement: the rows without a block.
    finals = select(
        QuarterScore.person_id,
        QuarterScore.quarter,
        type_coerce(null(), String),
        type_coerce(null(), String),
        type_coerce(QuarterScore.total, NullType),
    ).where(
        QuarterScore.branch_id == branch_id,
        QuarterScore.person_id == person_id,
        QuarterScore.quarter.in_(quarters),
    )
    recent = (
        select(LedgerEntry)
        .where(LedgerEntry.branch_id == branch_id, LedgerEntry.person_id == person_id)
        .order_by(LedgerEntry.id.desc())
        .limit(bindparam("recent"))
    )
    return union_all(sums, finals), recent


_YEAR, _RECENT = _overview_statements()
