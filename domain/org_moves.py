# i18n-domain: org
"""What an organisation does across its branches: 组织关系转接 (a member moved from one
branch to another, asked by an administrator and confirmed by the receiving branch's
secretary; the old membership ends, a new one starts, both kept as history) and 通知公告
(a notice to every member of the organisation's branches, one receipt per person,
read when they press the button)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.base import Service
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.roles import Role
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    Branch,
    BranchTransfer,
    Membership,
    Organisation,
    OrgNotice,
    OrgNoticeReceipt,
    Person,
    TelegramAccount,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from domain.clock import Clock
    from domain.services import Services

MAX_NOTICE_CHARS = 3000
PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"


@dataclass(frozen=True)
class TransferInfo:
    id: int
    person_name: str
    member_telegram_id: int | None
    from_branch: str
    to_branch: str
    receiving_secretary: int | None  # Telegram id of the receiving branch's secretary
    requested_by: int
    status: str


@dataclass(frozen=True)
class NoticeSent:
    id: int
    organisation: str
    recipients: tuple[int, ...]  # Telegram ids, each queued once


@dataclass(frozen=True)
class NoticeSummary:
    id: int
    created_at: datetime
    excerpt: str
    recipients: int
    read: int


class OrgMovesService(Service):
    def __init__(self, session: AsyncSession, clock: Clock, services: Services) -> None:
        super().__init__(session, clock)
        self.services = services

    # -- 组织关系转接 ---------------------------------------------------------------------
    async def _secretary_of(self, branch_id: int) -> int | None:
        return await self.session.scalar(
            select(TelegramAccount.telegram_user_id)
            .join(Membership, Membership.person_id == TelegramAccount.person_id)
            .where(
                Membership.branch_id == branch_id,
                Membership.ended_at.is_(None),
                Membership.role == Role.SECRETARY,
            )
        )

    async def _info(self, transfer: BranchTransfer) -> TransferInfo:
        person = await self.session.get(Person, transfer.person_id)
        source = await self.session.get(Branch, transfer.from_branch_id)
        target = await self.session.get(Branch, transfer.to_branch_id)
        account = await repo.account_of_person(self.session, transfer.person_id)
        return TransferInfo(
            id=transfer.id,
            person_name=person.full_name if person else "?",
            member_telegram_id=account.telegram_user_id if account else None,
            from_branch=source.name if source else "?",
            to_branch=target.name if target else "?",
            receiving_secretary=await self._secretary_of(transfer.to_branch_id),
            requested_by=transfer.requested_by,
            status=transfer.status,
        )

    async def request_transfer(
        self, viewer: Viewer, telegram_id: int, to_branch_id: int
    ) -> TransferInfo:
        """An administrator asks to move a member to another branch of the organisation;
        nothing changes until the receiving branch's secretary confirms."""
        org = self.services.organisation
        target = await org.branch_of(viewer, to_branch_id)
        account = await repo.get_account(self.session, telegram_id)
        membership = (
            await repo.current_membership(self.session, account.person_id)
            if account is not None and account.person_id is not None
            else None
        )
        if membership is None or not await org.can_see_branch(viewer, membership.branch_id):
            raise NotFound(
                N_("Telegram user {id} is not a member of a branch of your organisation."),
                id=telegram_id,
            )
        if membership.branch_id == target.id:
            raise DomainError(N_("This member already belongs to {branch}."), branch=target.name)
        if membership.role is Role.SECRETARY:
            raise DomainError(
                N_("Name another secretary for the branch first (/secretary), then move them.")
            )
        transfer = BranchTransfer(
            person_id=membership.person_id,
            from_branch_id=membership.branch_id,
            to_branch_id=target.id,
            requested_by=viewer.telegram_user_id,
            status=PENDING,
            created_at=self.clock.now(),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(transfer)
        except IntegrityError:
            raise Conflict(N_("A transfer of this member is already waiting.")) from None
        await self.audit(
            "org.transfer_request",
            actor=viewer,
            branch_id=target.id,
            subject_type="person",
            subject_id=membership.person_id,
            transfer=transfer.id,
            source=membership.branch_id,
        )
        return await self._info(transfer)

    async def decide_transfer(self, viewer: Viewer, transfer_id: int, accept: bool) -> TransferInfo:
        transfer = await self.session.get(BranchTransfer, transfer_id)
        if transfer is None:
            raise NotFound(N_("This transfer no longer exists."))
        if not viewer.is_secretary or viewer.branch_id != transfer.to_branch_id:
            raise NotAllowed(N_("Only the receiving branch's secretary can decide this."))
        if transfer.status != PENDING:
            raise Conflict(N_("This transfer was already decided."))
        now = self.clock.now()
        if accept:
            current = await repo.current_membership(self.session, transfer.person_id)
            if current is None or current.branch_id != transfer.from_branch_id:
                transfer.status = DECLINED
                transfer.decided_at = now
                await self.session.flush()
                raise Conflict(N_("The member is no longer in the branch they were moved from."))
            current.ended_at = now
            current.can_review = False
            await self.session.flush()
            self.session.add(
                Membership(
                    person_id=transfer.person_id,
                    branch_id=transfer.to_branch_id,
                    role=Role.MEMBER,
                    can_review=False,
                    started_at=now,
                )
            )
        transfer.status = ACCEPTED if accept else DECLINED
        transfer.decided_at = now
        transfer.decided_by_person_id = viewer.person_id
        await self.session.flush()
        await self.audit(
            "org.transfer_accept" if accept else "org.transfer_decline",
            actor=viewer,
            subject_type="person",
            subject_id=transfer.person_id,
            transfer=transfer.id,
            source=transfer.from_branch_id,
        )
        return await self._info(transfer)

    # -- 通知公告 -------------------------------------------------------------------------
    async def publish_notice(self, viewer: Viewer, text: str) -> NoticeSent:
        """A notice to every member (with a Telegram chat) of every branch below the
        viewer's first organisation; one receipt per person, so each is queued once."""
        text = text.strip()
        if not text or len(text) > MAX_NOTICE_CHARS:
            raise DomainError(N_("A notice is 1 to {n} characters."), n=MAX_NOTICE_CHARS)
        org = self.services.organisation
        home = await org.home_org(viewer)
        branches = {b.id for b in await org.branches(viewer)}
        notice = OrgNotice(
            organisation_id=home.id,
            text=text,
            sent_by=viewer.telegram_user_id,
            created_at=self.clock.now(),
        )
        self.session.add(notice)
        await self.session.flush()
        rows = (
            await self.session.execute(
                select(TelegramAccount.telegram_user_id, Membership.branch_id)
                .join(Membership, Membership.person_id == TelegramAccount.person_id)
                .where(
                    Membership.branch_id.in_(branches),
                    Membership.ended_at.is_(None),
                    TelegramAccount.started_at.is_not(None),
                    TelegramAccount.blocked_at.is_(None),
                )
                .order_by(TelegramAccount.telegram_user_id)
            )
        ).all()
        now = self.clock.now()
        recipients: list[int] = []
        for telegram_id, branch_id in rows:
            if telegram_id in recipients:
                continue
            recipients.append(telegram_id)
            self.session.add(
                OrgNoticeReceipt(
                    notice_id=notice.id,
                    telegram_user_id=telegram_id,
                    branch_id=branch_id,
                    queued_at=now,
                )
            )
        await self.session.flush()
        await self.audit(
            "org.notice",
            actor=viewer,
            branch_id=None,
            subject_type="notice",
            subject_id=notice.id,
            organisation=home.id,
            recipients=len(recipients),
        )
        return NoticeSent(notice.id, home.name, tuple(recipients))

    async def mark_read(self, viewer: Viewer, notice_id: int) -> bool:
        """The reader pressed "read": True the first time, False on a repeat."""
        receipt = await self.session.scalar(
            select(OrgNoticeReceipt).where(
                OrgNoticeReceipt.notice_id == notice_id,
                OrgNoticeReceipt.telegram_user_id == viewer.telegram_user_id,
            )
        )
        if receipt is None:
            raise NotFound(N_("This notice was not sent to you."))
        if receipt.read_at is not None:
            return False
        receipt.read_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "org.notice_read",
            actor=viewer,
            branch_id=receipt.branch_id,
            subject_type="notice",
            subject_id=notice_id,
        )
        return True

    async def notices(self, viewer: Viewer, limit: int = 5) -> list[NoticeSummary]:
        """The latest notices of the viewer's organisations, with read receipts counted."""
        scope = await self.services.organisation.require_admin(viewer)
        notices = (
            await self.session.scalars(
                select(OrgNotice)
                .where(OrgNotice.organisation_id.in_(scope))
                .order_by(OrgNotice.id.desc())
                .limit(limit)
            )
        ).all()
        result = []
        for n in notices:
            total, read = (
                await self.session.execute(
                    select(
                        func.count(OrgNoticeReceipt.id), func.count(OrgNoticeReceipt.read_at)
                    ).where(OrgNoticeReceipt.notice_id == n.id)
                )
            ).one()
            excerpt = n.text if len(n.text) <= 40 else n.text[:40] + "…"
            result.append(NoticeSummary(n.id, n.created_at, excerpt, int(total), int(read)))
        return result

    async def notice_org_name(self, notice_id: int) -> str:
        notice = await self.session.get(OrgNotice, notice_id)
        org = await self.session.get(Organisation, notice.organisation_id) if notice else None
        return org.name if org else ""
