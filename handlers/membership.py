"""The secretary's decisions on join requests (inline buttons)."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.context import BranchApp, BranchContext
from domain.errors import Conflict, DomainError
from domain.roles import PersonStatus
from handlers.callbacks import parse, pattern
from handlers.common import Gettext, answer_callback, esc, notify, render_error
from handlers.registry import Registry


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CallbackQueryHandler(decide, pattern=pattern("jr")))


async def decide(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    status: PersonStatus | None = None
    if cb is not None and cb.action == "ok":
        try:
            status = PersonStatus(cb.arg or "member")
        except ValueError:
            cb = None
    if cb is None or cb.action not in {"ok", "no"}:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    try:
        decision = await ctx.svc.membership.decide_join(
            ctx.viewer, cb.id, approve=cb.action == "ok", status=status
        )
    except Conflict as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)
        return
    name = esc(decision.applicant_name)
    if decision.approved:
        assert decision.status is not None
        outcome = _("✅ {name} approved as {status} by {by}.").format(
            name=name, status=_(decision.status.label), by=esc(decision.decided_by)
        )
    else:
        outcome = _("❌ {name} rejected by {by}.").format(name=name, by=esc(decision.decided_by))
    await answer_callback(update, _("Done."))
    if query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_text(outcome, parse_mode="HTML", reply_markup=None)

    branch = esc(decision.branch_name)

    def applicant_text(t: Gettext) -> tuple[str, None]:
        if decision.approved:
            return t(
                "Welcome to {branch}! Your request was approved. Send /start to see your menu."
            ).format(branch=branch), None
        return t(
            "Your request to join {branch} was not approved. Please contact the branch "
            "secretary if you think this is a mistake."
        ).format(branch=branch), None

    await notify(ctx, decision.applicant_telegram_id, applicant_text)
