"""Branches, the roster, Telegram bindings and join requests."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from domain.base import Service
from domain.codes import BRANCH_CODE_LENGTH, PERSONAL_CODE_LENGTH, new_code
from domain.errors import Conflict, DomainError, NotAllowed, NotFound, RowError
from domain.periods import local_today
from domain.pipeline_history import change_status
from domain.roles import JoinStatus, PersonStatus, Role
from domain.roster import RosterError, RosterRow
from domain.viewer import TelegramUserInfo, Viewer
from locales.i18n import N_, SUPPORTED_LOCALES, negotiate_locale
from store import repositories as repo
from store.models import BindCode, Branch, JoinRequest, Membership, Person, TelegramAccount


@dataclass(frozen=True)
class BranchInfo:
    id: int
    name: str
    join_code: str
    timezone: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


class StartOutcome(enum.Enum):
    BOUND = "bound"
    ALREADY_BOUND = "already_bound"
    JOIN_REQUESTED = "join_requested"
    JOIN_PENDING = "join_pending"
    ALREADY_MEMBER = "already_member"
    INVALID_CODE = "invalid_code"
    CODE_USED = "code_used"


@dataclass(frozen=True)
class StartResult:
    outcome: StartOutcome
    branch_name: str | None = None
    request_id: int | None = None
    reviewers: tuple[int, ...] = ()  # telegram ids to notify of a new join request


@dataclass(frozen=True)
class JoinDecision:
    request_id: int
    approved: bool
    applicant_telegram_id: int
    applicant_name: str
    branch_name: str
    status: PersonStatus | None
    decided_by: str


@dataclass(frozen=True)
class TransferResult:
    person_id: int
    name: str
    telegram_user_id: int | None
    branch_name: str
    was_reviewer: bool


def _viewer_row() -> Select[*tuple[Any, ...]]:
    a, p, m, b = TelegramAccount, Person, Membership, Branch
    return (
        select(
            a.person_id,
            a.first_name,
            a.last_name,
            a.username,
            a.language_code,
            a.locale,
            a.blocked_at,
            p,
            m.id,
            m.role,
            m.can_review,
            m.started_at,
            b,
        )
        .select_from(a)
        .outerjoin(p, p.id == a.person_id)
        .outerjoin(m, and_(m.person_id == a.person_id, m.ended_at.is_(None)))
        .outerjoin(b, b.id == m.branch_id)
        .where(a.telegram_user_id == bindparam("telegram_user_id"))
        .limit(1)
    )


#: What every update reads (``touch``), built once: constructing a statement costs
#: more than SQLite takes to run it, and a built one keeps its compiled form cached.
_VIEWER_ROW = _viewer_row()


class MembershipService(Service):
    # -- accounts -----------------------------------------------------------------
    async def touch(self, user: TelegramUserInfo) -> Viewer:
        """Record the Telegram user (create or refresh) and resolve who they are.

        Runs on every update, so it reads just the columns a viewer needs from the
        account, the person and the current membership in one joined query, and writes
        only when the user's Telegram profile changed. The person and the branch come as
        ORM objects in that query: they land in the session's identity map, so the
        handlers' own ``session.get(Person | Branch, id)`` (a name, settings, the time
        zone) costs no second statement in an update's unit of work
        (``store.db.UnitOfWorkSession`` keeps them alive)."""
        now = self.clock.now()
        row = (await self.session.execute(_VIEWER_ROW, {"telegram_user_id": user.id})).first()
        first_name = user.first_name[:128]
        last_name = (user.last_name or None) and user.last_name[:128]
        if row is None:
            account = TelegramAccount(
                telegram_user_id=user.id,
                first_name=first_name,
                last_name=last_name,
                username=user.username,
                language_code=user.language_code,
                created_at=now,
                updated_at=now,
            )
            self.session.add(account)
            return self._viewer(account, None, None, None)
        (
            person_id,
            old_first,
            old_last,
            old_username,
            old_language,
            locale,
            blocked_at,
            person,
            membership_id,
            role,
            can_review,
            membership_started_at,
            branch,
        ) = row
        if (
            old_first != first_name
            or old_username != user.username
            or old_language != user.language_code
            or blocked_at is not None
        ):
            old_first, old_last = first_name, last_name
            await self.session.execute(
                update(TelegramAccount)
                .where(TelegramAccount.telegram_user_id == user.id)
                .values(
                    first_name=first_name,
                    last_name=last_name,
                    username=user.username,
                    language_code=user.language_code,
                    blocked_at=None,  # they wrote to us: not blocked any more
                    updated_at=now,
                )
            )
        display_name = " ".join(x for x in (old_first, old_last) if x).strip() or str(user.id)
        viewer = Viewer(
            telegram_user_id=user.id,
            display_name=display_name,
            locale=locale or negotiate_locale(user.language_code),
        )
        if person_id is None or person is None or membership_id is None:
            return viewer
        return replace(
            viewer,
            person_id=person_id,
            full_name=person.full_name,
            status=person.status,
            branch_id=branch.id if branch else None,
            branch_name=branch.name if branch else None,
            branch_timezone=branch.timezone if branch else None,
            membership_id=membership_id,
            role=role,
            can_review=can_review,
            membership_started_at=membership_started_at,
        )

    async def viewer_of(self, telegram_user_id: int) -> Viewer:
        """The viewer for a known Telegram user (scheduler, CLI, tests)."""
        account = await repo.get_account(self.session, telegram_user_id)
        if account is None:
            raise NotFound(N_("Please send /start first."))
        return await self.viewer_for(account)

    async def viewer_for(self, account: TelegramAccount) -> Viewer:
        if account.person_id is None:
            return self._viewer(account, None, None, None)
        row = (
            await self.session.execute(
                select(Person, Membership, Branch)
                .outerjoin(
                    Membership,
                    and_(Membership.person_id == Person.id, Membership.ended_at.is_(None)),
                )
                .outerjoin(Branch, Branch.id == Membership.branch_id)
                .where(Person.id == account.person_id)
                .limit(1)
            )
        ).first()
        if row is None:
            return self._viewer(account, None, None, None)
        return self._viewer(account, *row)

    @staticmethod
    def _viewer(
        account: TelegramAccount,
        person: Person | None,
        membership: Membership | None,
        branch: Branch | None,
    ) -> Viewer:
        locale = account.locale or negotiate_locale(account.language_code)
        display_name = account.display_name or str(account.telegram_user_id)
        if account.person_id is None or person is None or membership is None:
            return Viewer(
                telegram_user_id=account.telegram_user_id,
                display_name=display_name,
                locale=locale,
            )
        assert branch is not None
        return Viewer(
            telegram_user_id=account.telegram_user_id,
            display_name=display_name,
            locale=locale,
            person_id=person.id,
            full_name=person.full_name,
            status=person.status,
            branch_id=branch.id,
            branch_name=branch.name,
            branch_timezone=branch.timezone,
            membership_id=membership.id,
            role=membership.role,
            can_review=membership.can_review,
            membership_started_at=membership.started_at,
        )

    async def mark_started(self, telegram_user_id: int) -> None:
        account = await repo.get_account(self.session, telegram_user_id)
        if account is not None and account.started_at is None:
            account.started_at = self.clock.now()

    async def set_locale(self, viewer: Viewer, locale: str) -> str:
        if locale not in SUPPORTED_LOCALES:
            raise DomainError(N_("That language is not offered."))
        account = await repo.get_account(self.session, viewer.telegram_user_id)
        if account is None:
            raise NotFound(N_("Please send /start first."))
        if account.locale != locale:
            old = account.locale
            account.locale = locale
            account.updated_at = self.clock.now()
            await self.audit(
                "account.locale",
                actor=viewer,
                subject_type="account",
                subject_id=viewer.telegram_user_id,
                old=old,
                new=locale,
            )
        return locale

    async def mark_blocked(self, telegram_user_id: int) -> None:
        account = await repo.get_account(self.session, telegram_user_id)
        if account is not None and account.blocked_at is None:
            account.blocked_at = self.clock.now()

    # -- branches -----------------------------------------------------------------
    async def create_branch(
        self,
        name: str,
        secretary_telegram_id: int,
        *,
        timezone: str = "Asia/Shanghai",
        secretary_name: str | None = None,
    ) -> BranchInfo:
        name = name.strip()
        if not name or len(name) > 120:
            raise DomainError(N_("A branch name is 1 to 120 characters."))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise DomainError(N_("Unknown time zone {tz}."), tz=timezone) from None
        now = self.clock.now()
        account = await repo.get_account(self.session, secretary_telegram_id)
        if account is not None and account.person_id is not None:
            membership = await repo.current_membership(self.session, account.person_id)
            if membership is not None:
                raise Conflict(
                    N_("Telegram user {id} already belongs to another branch."),
                    id=secretary_telegram_id,
                )
        branch = Branch(
            name=name,
            join_code=await self._unique_branch_code(),
            timezone=timezone,
            settings={},
            created_at=now,
        )
        self.session.add(branch)
        await self.session.flush()
        person = Person(
            full_name=(secretary_name or "").strip()[:64] or "支部书记",
            status=PersonStatus.MEMBER,
            created_at=now,
            updated_at=now,
        )
        self.session.add(person)
        await self.session.flush()
        self.session.add(
            Membership(
                person_id=person.id,
                branch_id=branch.id,
                role=Role.SECRETARY,
                can_review=True,
                started_at=now,
            )
        )
        if account is None:
            account = TelegramAccount(
                telegram_user_id=secretary_telegram_id,
                first_name="",
                created_at=now,
                updated_at=now,
            )
            self.session.add(account)
        account.person_id = person.id
        await self.session.flush()
        for hook in BRANCH_CREATED_HOOKS:
            await hook(self, branch)
        await self.audit(
            "branch.create",
            branch_id=branch.id,
            subject_type="branch",
            subject_id=branch.id,
            name=name,
            secretary=secretary_telegram_id,
        )
        return BranchInfo(branch.id, branch.name, branch.join_code, branch.timezone)

    async def _unique_branch_code(self) -> str:
        while True:
            code = new_code(BRANCH_CODE_LENGTH)
            if await repo.branch_by_code(self.session, code) is None and (
                await self.session.get(BindCode, code) is None
            ):
                return code

    async def _unique_personal_code(self) -> str:
        while True:
            code = new_code(PERSONAL_CODE_LENGTH)
            if await self.session.get(BindCode, code) is None and (
                await repo.branch_by_code(self.session, code) is None
            ):
                return code

    async def branch_by_code(self, join_code: str) -> BranchInfo:
        branch = await repo.branch_by_code(self.session, join_code.strip().upper())
        if branch is None:
            raise NotFound(N_("No branch has the join code {code}."), code=join_code)
        return BranchInfo(branch.id, branch.name, branch.join_code, branch.timezone)

    # -- roster -------------------------------------------------------------------
    async def import_roster(self, join_code: str, rows: list[RosterRow]) -> ImportResult:
        """Create or update roster entries; idempotent. Raises RosterError (nothing
        written, since the caller rolls back) when a row conflicts with the database."""
        info = await self.branch_by_code(join_code)
        now = self.clock.now()
        result = ImportResult()
        errors: list[RowError] = []
        existing = await repo.branch_members(self.session, info.id)
        by_tid = {r.account.telegram_user_id: r for r in existing if r.account is not None}
        by_name: dict[str, list[repo.MemberRow]] = {}
        for r in existing:
            by_name.setdefault(r.person.full_name, []).append(r)
        for row in rows:
            match: repo.MemberRow | None = None
            rejoined = False
            if row.telegram_id is not None:
                match = by_tid.get(row.telegram_id)
                if match is None:
                    account = await repo.get_account(self.session, row.telegram_id)
                    if (
                        account is not None
                        and account.person_id is not None
                        and await repo.current_membership(self.session, account.person_id) is None
                    ):
                        # Transferred out of a branch earlier: they come back as the same
                        # person (history kept), and the row updates them below.
                        match = await self._rejoin(info.id, account, row, now)
                        by_tid[row.telegram_id] = match
                        by_name.setdefault(row.name, []).append(match)
                        result.created += 1
                        rejoined = True
                    elif account is not None and account.person_id is not None:
                        errors.append(
                            RowError(
                                row.line,
                                N_(
                                    "Line {line}: telegram_id {value} is bound to someone in "
                                    "another branch."
                                ),
                                {"value": row.telegram_id},
                            )
                        )
                        continue
                    if match is None:
                        named = [m for m in by_name.get(row.name, []) if m.account is None]
                        match = named[0] if len(named) == 1 else None
            else:
                named = by_name.get(row.name, [])
                if len(named) > 1:
                    errors.append(
                        RowError(
                            row.line,
                            N_(
                                "Line {line}: the branch has several people named {value}; "
                                "add their telegram_id."
                            ),
                            {"value": row.name},
                        )
                    )
                    continue
                match = named[0] if named else None
            if match is None:
                person = Person(
                    full_name=row.name,
                    status=row.status,
                    admitted_on=row.joined_on,
                    created_at=now,
                    updated_at=now,
                )
                self.session.add(person)
                await self.session.flush()
                membership = Membership(
                    person_id=person.id,
                    branch_id=info.id,
                    role=Role.MEMBER,
                    party_group=row.group,
                    started_at=now,
                )
                self.session.add(membership)
                await self.session.flush()
                account = None
                if row.telegram_id is not None:
                    account = await self._bind_account(row.telegram_id, person.id, now)
                match = repo.MemberRow(person, membership, account)
                by_name.setdefault(row.name, []).append(match)
                if account is not None:
                    by_tid[account.telegram_user_id] = match
                result.created += 1
                await self.audit(
                    "roster.create",
                    branch_id=info.id,
                    subject_type="person",
                    subject_id=person.id,
                    line=row.line,
                    name=row.name,
                    status=row.status.value,
                )
            else:
                before = match.person.status
                changes = self._apply_row(match, row, now)
                if "status" in changes:  # the status history keeps the old one's end
                    await change_status(
                        self.session,
                        match.person,
                        row.status,
                        on=local_today(self.clock.now(), info.timezone),
                        now=self.clock.now(),
                        by_person_id=None,
                        source="roster",
                        previous=before,
                    )
                if match.account is None and row.telegram_id is not None:
                    match = repo.MemberRow(
                        match.person,
                        match.membership,
                        await self._bind_account(row.telegram_id, match.person.id, now),
                    )
                    changes["telegram_id"] = str(row.telegram_id)
                if rejoined:
                    pass  # counted as created
                elif changes:
                    result.updated += 1
                    await self.audit(
                        "roster.update",
                        branch_id=info.id,
                        subject_type="person",
                        subject_id=match.person.id,
                        line=row.line,
                        changes=changes,
                    )
                else:
                    result.unchanged += 1
            await self._apply_extra(match, row)
            if match.account is None:
                result.codes.append(
                    (row.name, await self._personal_code(match.person.id, info.id, now))
                )
        if errors:
            raise RosterError(errors)
        return result

    def _apply_row(self, match: repo.MemberRow, row: RosterRow, now: object) -> dict[str, str]:
        changes: dict[str, str] = {}
        person, membership = match.person, match.membership
        if person.full_name != row.name:
            changes["name"] = row.name
            person.full_name = row.name
        if person.status is not row.status:
            changes["status"] = row.status.value
            person.status = row.status
        if row.joined_on is not None and person.admitted_on != row.joined_on:
            changes["joined_on"] = row.joined_on.isoformat()
            person.admitted_on = row.joined_on
        if row.group is not None and membership.party_group != row.group:
            changes["group"] = row.group
            membership.party_group = row.group
        if changes:
            person.updated_at = self.clock.now()
        return changes

    async def _apply_extra(self, match: repo.MemberRow, row: RosterRow) -> None:
        """Hand optional roster columns to the features that registered them."""
        for hook in ROSTER_HOOKS:
            await hook(self, match.person, match.membership, row)

    async def _bind_account(self, telegram_id: int, person_id: int, now: object) -> TelegramAccount:
        account = await repo.get_account(self.session, telegram_id)
        if account is None:
            account = TelegramAccount(
                telegram_user_id=telegram_id,
                first_name="",
                created_at=self.clock.now(),
                updated_at=self.clock.now(),
            )
            self.session.add(account)
        account.person_id = person_id
        await self.session.flush()
        return account

    async def _personal_code(self, person_id: int, branch_id: int, now: object) -> str:
        existing = await self.session.scalars(
            select(BindCode).where(BindCode.person_id == person_id, BindCode.used_at.is_(None))
        )
        code = existing.first()
        if code is not None:
            return code.code
        new = BindCode(
            code=await self._unique_personal_code(),
            person_id=person_id,
            branch_id=branch_id,
            created_at=self.clock.now(),
        )
        self.session.add(new)
        await self.session.flush()
        return new.code

    # -- joining ------------------------------------------------------------------
    async def _rejoin(
        self, branch_id: int, account: TelegramAccount, row: RosterRow, now: datetime
    ) -> repo.MemberRow:
        assert account.person_id is not None
        person = await self.session.get(Person, account.person_id)
        assert person is not None
        membership = Membership(
            person_id=person.id,
            branch_id=branch_id,
            role=Role.MEMBER,
            party_group=row.group,
            started_at=now,
        )
        self.session.add(membership)
        await self.session.flush()
        await self.audit(
            "roster.rejoin",
            branch_id=branch_id,
            subject_type="person",
            subject_id=person.id,
            line=row.line,
            name=row.name,
        )
        return repo.MemberRow(person, membership, account)

    async def start_with_code(self, viewer: Viewer, code: str) -> StartResult:
        """``/start CODE``: a personal code binds; a branch code asks to join."""
        now = self.clock.now()
        bind = await self.session.get(BindCode, code)
        if bind is not None:
            branch = await self.session.get(Branch, bind.branch_id)
            assert branch is not None
            if bind.used_at is not None:
                if bind.used_by == viewer.telegram_user_id:
                    return StartResult(StartOutcome.ALREADY_BOUND, branch.name)
                return StartResult(StartOutcome.CODE_USED)
            if viewer.is_member:
                if viewer.person_id == bind.person_id:
                    return StartResult(StartOutcome.ALREADY_BOUND, branch.name)
                return StartResult(StartOutcome.ALREADY_MEMBER, viewer.branch_name)
            holder = await repo.account_of_person(self.session, bind.person_id)
            if holder is not None and holder.telegram_user_id != viewer.telegram_user_id:
                return StartResult(StartOutcome.CODE_USED)
            account = await repo.get_account(self.session, viewer.telegram_user_id)
            assert account is not None
            account.person_id = bind.person_id
            account.updated_at = now
            bind.used_at = now
            bind.used_by = viewer.telegram_user_id
            await self.session.flush()
            await self.audit(
                "account.bind",
                actor=viewer,
                branch_id=branch.id,
                subject_type="person",
                subject_id=bind.person_id,
                code=code,
            )
            return StartResult(StartOutcome.BOUND, branch.name)

        branch = await repo.branch_by_code(self.session, code)
        if branch is None:
            return StartResult(StartOutcome.INVALID_CODE)
        if viewer.is_member:
            return StartResult(StartOutcome.ALREADY_MEMBER, viewer.branch_name)
        pending = await self.session.scalars(
            select(JoinRequest).where(
                JoinRequest.branch_id == branch.id,
                JoinRequest.telegram_user_id == viewer.telegram_user_id,
                JoinRequest.status == JoinStatus.PENDING,
            )
        )
        if pending.first() is not None:
            return StartResult(StartOutcome.JOIN_PENDING, branch.name)
        request = JoinRequest(
            branch_id=branch.id,
            telegram_user_id=viewer.telegram_user_id,
            full_name=viewer.display_name[:128],
            created_at=now,
        )
        self.session.add(request)
        try:
            await self.session.flush()
        except IntegrityError:  # a concurrent duplicate (double /start)
            raise Conflict(N_("Your request to join is already waiting for approval.")) from None
        await self.audit(
            "join.request",
            actor=viewer,
            branch_id=branch.id,
            subject_type="join_request",
            subject_id=request.id,
        )
        reviewers = await repo.branch_reviewers(self.session, branch.id)
        return StartResult(
            StartOutcome.JOIN_REQUESTED,
            branch.name,
            request_id=request.id,
            reviewers=tuple(r.account.telegram_user_id for r in reviewers if r.account),
        )

    async def decide_join(
        self, viewer: Viewer, request_id: int, *, approve: bool, status: PersonStatus | None
    ) -> JoinDecision:
        request = await self.session.get(JoinRequest, request_id)
        if request is None:
            raise NotFound(N_("This request no longer exists."))
        if not viewer.is_reviewer or viewer.branch_id != request.branch_id:
            await self.audit(
                "join.denied",
                actor=viewer,
                branch_id=request.branch_id,
                subject_type="join_request",
                subject_id=request_id,
            )
            raise NotAllowed(N_("Only the branch secretary can decide this."))
        branch = await self.session.get(Branch, request.branch_id)
        assert branch is not None
        if request.status is not JoinStatus.PENDING:
            decider = (
                await self.session.get(Person, request.decided_by_person_id)
                if request.decided_by_person_id
                else None
            )
            raise Conflict(
                N_("Already decided by {name}."), name=decider.full_name if decider else "?"
            )
        now = self.clock.now()
        request.status = JoinStatus.APPROVED if approve else JoinStatus.REJECTED
        request.decided_at = now
        request.decided_by_person_id = viewer.person_id
        if approve:
            status = status or PersonStatus.MEMBER
            account = await repo.get_account(self.session, request.telegram_user_id)
            if (
                account is not None
                and account.person_id is not None
                and (await repo.current_membership(self.session, account.person_id))
            ):
                raise Conflict(N_("{name} already belongs to a branch."), name=request.full_name)
            earlier = (
                await self.session.get(Person, account.person_id)
                if account is not None and account.person_id is not None
                else None
            )
            if earlier is not None:
                # Transferred in from another branch: the same person, history kept.
                person = earlier
                person.status = status
                person.updated_at = now
            else:
                person = Person(
                    full_name=request.full_name[:64], status=status, created_at=now, updated_at=now
                )
                self.session.add(person)
            await self.session.flush()
            self.session.add(
                Membership(
                    person_id=person.id, branch_id=branch.id, role=Role.MEMBER, started_at=now
                )
            )
            if account is None:
                account = TelegramAccount(
                    telegram_user_id=request.telegram_user_id,
                    first_name=request.full_name[:128],
                    created_at=now,
                    updated_at=now,
                )
                self.session.add(account)
            account.person_id = person.id
            request.person_id = person.id
        await self.session.flush()
        await self.audit(
            "join.approve" if approve else "join.reject",
            actor=viewer,
            branch_id=branch.id,
            subject_type="join_request",
            subject_id=request.id,
            status=status.value if approve and status else None,
        )
        return JoinDecision(
            request_id=request.id,
            approved=approve,
            applicant_telegram_id=request.telegram_user_id,
            applicant_name=request.full_name,
            branch_name=branch.name,
            status=status if approve else None,
            decided_by=viewer.full_name or viewer.display_name,
        )

    async def member_of_my_branch(self, viewer: Viewer, person_id: int) -> Membership:
        """The current membership of ``person_id`` in the viewer's branch, for one of the
        secretary's decisions about that member (review rights, transfer)."""
        if not viewer.is_secretary or viewer.branch_id is None:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        membership = await repo.current_membership(self.session, person_id)
        if membership is None or membership.branch_id != viewer.branch_id:
            raise NotFound(N_("This member is not in your branch."))
        return membership

    async def transfer_out(self, viewer: Viewer, person_id: int) -> TransferResult:
        """组织关系转出: the member leaves the branch (their membership ends; their ledger,
        reports and payments stay, and another branch can take them in with its join
        code). Only the branch's secretary; not the secretary themselves."""
        membership = await self.member_of_my_branch(viewer, person_id)
        if membership.role is Role.SECRETARY:
            raise DomainError(N_("The secretary cannot transfer themselves out."))
        person = await self.session.get(Person, person_id)
        assert person is not None
        membership.ended_at = self.clock.now()
        membership.can_review = False
        await self.session.flush()
        await self.audit(
            "membership.transfer_out",
            actor=viewer,
            subject_type="person",
            subject_id=person_id,
            membership=membership.id,
        )
        account = await repo.account_of_person(self.session, person_id)
        return TransferResult(
            person_id=person_id,
            name=person.full_name,
            telegram_user_id=account.telegram_user_id if account else None,
            branch_name=viewer.branch_name or "",
            was_reviewer=membership.role is not Role.MEMBER,
        )

    async def pending_join_count(self, branch_id: int) -> int:
        rows = await self.session.scalars(
            select(JoinRequest.id).where(
                JoinRequest.branch_id == branch_id, JoinRequest.status == JoinStatus.PENDING
            )
        )
        return len(rows.all())


#: Features that consume optional roster columns register an async hook here:
#: ``async def hook(service, person, membership, row) -> None``.
#: Features that set up a new branch (e.g. the default points catalogue) register
#: ``async def hook(service, branch) -> None`` here.
BranchHook = Callable[[MembershipService, Branch], Awaitable[None]]
BRANCH_CREATED_HOOKS: list[BranchHook] = []

RosterHook = Callable[[MembershipService, Person, Membership, RosterRow], Awaitable[None]]
ROSTER_HOOKS: list[RosterHook] = []


@dataclass(frozen=True)
class ReviewerInfo:
    person_id: int
    name: str
    can_review: bool
    telegram_user_id: int | None


async def reviewers_of(
    service: MembershipService,
    viewer: Viewer,
    page: int,
    per_page: int,
    *,
    person_id: int | None = None,
) -> repo.MemberPage:
    """The secretary's view: a page of the branch's members but the secretaries (cut in
    SQL) and whether they may review; with ``person_id``, the page holding them."""
    if not viewer.is_secretary or viewer.branch_id is None:
        raise NotAllowed(N_("Only the branch secretary can do this."))
    return await repo.branch_member_page(
        service.session,
        viewer.branch_id,
        page,
        per_page,
        exclude_roles=[Role.SECRETARY],
        person_id=person_id,
    )


async def set_reviewer(
    service: MembershipService, viewer: Viewer, person_id: int, allowed: bool
) -> ReviewerInfo:
    """Give a member the secretary's review rights (支委 with review rights) or take them
    back. Only the secretary of the member's own branch may."""
    membership = await service.member_of_my_branch(viewer, person_id)
    if membership.role is Role.SECRETARY:
        raise DomainError(N_("The secretary always has review rights."))
    if membership.can_review != allowed:
        membership.can_review = allowed
        membership.role = Role.COMMITTEE if allowed else Role.MEMBER
        await service.session.flush()
        await service.audit(
            "membership.reviewer",
            actor=viewer,
            subject_type="person",
            subject_id=person_id,
            allowed=allowed,
        )
    person = await service.session.get(Person, person_id)
    account = await repo.account_of_person(service.session, person_id)
    return ReviewerInfo(
        person_id,
        person.full_name if person else "?",
        allowed,
        account.telegram_user_id if account else None,
    )
