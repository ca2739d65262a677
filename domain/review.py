# i18n-domain: safety
"""The one rule every review follows: nobody decides their own case.

A point claim, a fee payment report and a thought report are each reviewed by someone
other than their author: the secretary and committee members with review rights do
not approve their own claim, confirm or query their own fee payment, nor acknowledge
or comment on their own report. The refusal is audited (``review.self_denied``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.base import Service
from domain.errors import NotAllowed
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo

#: The refusal, whatever is reviewed.
OWN_CASE = N_("You cannot review your own submission; another reviewer will.")
#: Told to the author when what they handed in could be sent to no reviewer (all
#: blocked the bot, Telegram refused…): the first answer said they had been told.
UNREACHED = N_(
    "⚠️ Correction: I could not pass this on to any reviewer just now. It is saved and "
    "waits for them: they will find it among the items to review."
)


async def reviewer_ids(
    session: AsyncSession, branch_id: int, *, author_person_id: int | None
) -> list[int]:
    """Telegram ids of the secretary and reviewers to show a new submission to: every
    reviewer of the branch with a Telegram account but its author."""
    return [
        r.account.telegram_user_id
        for r in await repo.branch_reviewers(session, branch_id)
        if r.account is not None and r.person.id != author_person_id
    ]


async def ensure_not_author(
    service: Service,
    viewer: Viewer,
    author_person_id: int | None,
    *,
    branch_id: int | None,
    subject_type: str,
    subject_id: object,
    msgid: str = OWN_CASE,
) -> None:
    """Refuse (``NotAllowed``, audited) when ``viewer`` is the author of what they are
    about to review."""
    if viewer.person_id is None or author_person_id != viewer.person_id:
        return
    await service.audit(
        "review.self_denied",
        actor=viewer,
        branch_id=branch_id,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    raise NotAllowed(msgid)
