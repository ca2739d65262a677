# i18n-domain: points
"""Points, the reviewer's side: the claim sent for review, the approve / reject /
adjust buttons and their dialog steps, the decision told to the member, /pending and
the daily digest of overdue claims."""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain import points_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.points import (
    ClaimInfo,
    parse_points,
)
from domain.reader import Reader
from handlers.callbacks import Callback
from handlers.common import (
    TEXT_LIMIT,
    Gettext,
    answer_callback,
    button,
    caption,
    deliver,
    esc,
    keyboard,
    notify,
    render_error,
    reply,
    truncate_html,
)
from handlers.points_admin import start_revoke
from handlers.points_common import (
    bounded_text,
    fmt,
    item_line,
    reviewers_only,
    send_to,
)
from locales.i18n import N_


async def _pending_badge(ctx: BranchContext) -> str | None:
    viewer = ctx.viewer
    if not viewer.is_reviewer or viewer.branch_id is None:
        return None
    count = await ctx.svc.points.pending_count(viewer.branch_id)
    if not count:
        return None
    return ctx.ngettext(
        "{n} point claim is waiting for review (/pending).",
        "{n} point claims are waiting for review (/pending).",
        count,
    ).format(n=count)


# -- review ---------------------------------------------------------------------------
def review_text(r: Reader, claim: ClaimInfo) -> str:
    t = r.gettext
    lines = [
        t("<b>Point claim No. {id}</b>").format(id=claim.id),
        t("Member: {name}").format(name=esc(claim.person_name)),
        t("Indicator: {indicator}").format(indicator=esc(r.indicator(claim.item.indicator))),
        t("Item: {item}").format(item=item_line(claim.item, t, r.locale)),
        t("Date: {day}").format(day=r.date(claim.occurred_on)),
        t("Description: {text}").format(text=esc(claim.description)),
    ]
    if claim.evidence_file_id:
        lines.append(t("Evidence: attached"))
    return "\n".join(lines)


def review_markup(t: Gettext, claim_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                button("✅ " + t("Approve"), Callback("pt", claim_id, "ap")),
                button("❌ " + t("Reject"), Callback("pt", claim_id, "rj")),
            ],
            [button("✏️ " + t("Adjust points"), Callback("pt", claim_id, "adj"))],
        ]
    )


async def send_review(ctx: BranchContext, telegram_user_id: int, claim: ClaimInfo) -> bool:
    """The claim with its evidence and the decision buttons, to one reviewer (also to
    the acting reviewer, from /pending: rendered with their own Reader then)."""

    def render(r: Reader) -> tuple[str, InlineKeyboardMarkup]:
        return review_text(r, claim), review_markup(r.gettext, claim.id)

    file_id = claim.evidence_file_id
    sent = await deliver(
        ctx.bot,
        ctx.svc,
        telegram_user_id,
        render,
        photo=file_id if claim.evidence_kind == "photo" else None,
        document=file_id if claim.evidence_kind == "document" else None,
    )
    return sent is not None


async def _edit_review(
    ctx: BranchContext,
    chat_id: int,
    message_id: int,
    is_caption: bool,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    with contextlib.suppress(TelegramError):
        if is_caption:
            await ctx.bot.edit_message_caption(
                chat_id=chat_id,
                message_id=message_id,
                caption=caption(text),
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        else:
            await ctx.bot.edit_message_text(
                truncate_html(text, TEXT_LIMIT),
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )


def _is_caption(message: Any) -> bool:
    return bool(getattr(message, "photo", None) or getattr(message, "document", None))


def outcome_text(r: Reader, claim: ClaimInfo, approved: bool, by: str) -> str:
    t = r.gettext
    base = review_text(r, claim)
    if approved:
        points = claim.awarded if claim.awarded is not None else claim.item.points
        line = t("✅ Approved by {by}: {points} points.").format(
            by=esc(by), points=rules.signed(points)
        )
    else:
        line = t("❌ Rejected by {by}. Reason: {reason}").format(
            by=esc(by), reason=esc(claim.reason or "")
        )
    return f"{base}\n\n{line}"


async def _announce_decision(ctx: BranchContext, claim: ClaimInfo, approved: bool, by: str) -> None:
    if claim.telegram_user_id is None:
        return

    def render(r: Reader) -> tuple[str, None]:
        t = r.gettext
        item = esc(r.name(claim.item.names))
        day = r.date(claim.occurred_on)
        if approved:
            points = claim.awarded if claim.awarded is not None else rules.ZERO
            text = t(
                "✅ Your claim No. {id} ({item}, {day}) was approved: {points} points."
            ).format(id=claim.id, item=item, day=day, points=rules.signed(points))
            if claim.requested is not None and claim.requested != points:
                text += "\n" + t(
                    "The item's quarterly cap allowed {points} of the {requested} points."
                ).format(points=fmt(points), requested=fmt(claim.requested))
            return text, None
        return t(
            "❌ Your claim No. {id} ({item}, {day}) was not approved. Reason: {reason}"
        ).format(id=claim.id, item=item, day=day, reason=esc(claim.reason or "")), None

    await notify(ctx, claim.telegram_user_id, render)


async def review_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    if cb.action == "ap":
        decision = await ctx.svc.points.decide(ctx.viewer, cb.id, approve=True)
        await answer_callback(update, _("Approved."))
        if query.message is not None:
            await _edit_review(
                ctx,
                query.message.chat.id,
                query.message.message_id,
                _is_caption(query.message),
                outcome_text(ctx.reader, decision.claim, True, decision.decided_by),
                _revoke_markup(ctx, decision.claim.id),
            )
        await _announce_decision(ctx, decision.claim, True, decision.decided_by)
        return
    if cb.action in {"rj", "adj"}:
        claim = await ctx.svc.points.check_decidable(ctx.viewer, cb.id)
        message = query.message
        data = {
            "claim_id": claim.id,
            "chat": message.chat.id if message else None,
            "msg": message.message_id if message else None,
            "cap": _is_caption(message),
        }
        step = "reject" if cb.action == "rj" else "adjust"
        await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "review", step, data)
        await answer_callback(update)
        if step == "reject":
            text = _("Please send the reason for rejecting claim No. {id} (/cancel to stop).")
        else:
            text = _(
                "How many points for claim No. {id}? The item gives {points}; send a number "
                "such as 1 or 0.5 (/cancel to stop)."
            )
        await reply(update, ctx, text.format(id=claim.id, points=rules.signed(claim.item.points)))
        return
    if cb.action == "rv":
        await start_revoke(update, ctx, cb.id)
        return
    if cb.action == "open":
        claim = await ctx.svc.points.claim_for_review(ctx.viewer, cb.id)
        await answer_callback(update)
        if claim.status.value != "pending":
            by = claim.decided_by or "?"
            await reply(update, ctx, render_error(ctx, _already(by)))
            return
        await send_review(ctx, ctx.viewer.telegram_user_id, claim)
        return
    await answer_callback(update, _("This button is no longer valid."), alert=True)


def _already(by: str) -> DomainError:
    return DomainError(N_("Already decided by {name}."), name=by)


def _revoke_markup(ctx: BranchContext, claim_id: int) -> InlineKeyboardMarkup | None:
    if not ctx.viewer.is_secretary:
        return None
    return keyboard([[button("↩️ " + ctx.gettext("Revoke"), Callback("pt", claim_id, "rv"))]])


async def _review_reason(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    reason = await bounded_text(update, ctx, 300, N_("Please send the reason as a text message."))
    if reason is None:
        return
    data = dialog.data
    try:
        decision = await ctx.svc.points.decide(
            ctx.viewer, int(data["claim_id"]), approve=False, reason=reason
        )
    except DomainError as exc:
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await _after_dialog_decision(update, ctx, data, decision.claim, False, decision.decided_by)


async def _review_adjust(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    message = update.effective_message
    data = dialog.data
    try:
        points = parse_points(message.text or "" if message is not None else "")
        decision = await ctx.svc.points.decide(
            ctx.viewer, int(data["claim_id"]), approve=True, points=points
        )
    except DomainError as exc:
        if exc.msgid.startswith("Please send a number") or exc.msgid.startswith("Points cannot"):
            await reply(update, ctx, render_error(ctx, exc))
            return
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await _after_dialog_decision(update, ctx, data, decision.claim, True, decision.decided_by)


async def _after_dialog_decision(
    update: Update,
    ctx: BranchContext,
    data: dict[str, Any],
    claim: ClaimInfo,
    approved: bool,
    by: str,
) -> None:
    _ = ctx.gettext
    text = outcome_text(ctx.reader, claim, approved, by)
    if data.get("chat") and data.get("msg"):
        await _edit_review(
            ctx,
            int(data["chat"]),
            int(data["msg"]),
            bool(data.get("cap")),
            text,
            _revoke_markup(ctx, claim.id) if approved else None,
        )
    if approved:
        await reply(
            update,
            ctx,
            _("Claim No. {id} approved with {points} points.").format(
                id=claim.id, points=rules.signed(claim.awarded or rules.ZERO)
            ),
        )
    else:
        await reply(update, ctx, _("Claim No. {id} rejected.").format(id=claim.id))
    await _announce_decision(ctx, claim, approved, by)


# -- /pending -------------------------------------------------------------------------
async def pending_command(update: Update, ctx: BranchContext) -> None:
    if not ctx.viewer.is_reviewer:
        await reply(update, ctx, render_error(ctx, DomainError(reviewers_only())))
        return
    await show_pending(update, ctx, 0)


async def show_pending(update: Update, ctx: BranchContext, page: int) -> None:
    _ = ctx.gettext
    claims, total = await ctx.svc.points.pending(ctx.viewer, page, PER_PAGE)
    if total == 0:
        await reply(update, ctx, _("No claims are waiting for review."))
        return
    pages = (total + PER_PAGE - 1) // PER_PAGE
    now = ctx.svc.clock.now()
    lines = [
        _("<b>Claims waiting for review</b> ({total}), oldest first — page {page}/{pages}").format(
            total=total, page=page + 1, pages=pages
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for claim in claims:
        days = (now - claim.created_at).days
        lines.append(
            _("No. {id} · {name} · {item} {points} · {day} · waiting {days} d").format(
                id=claim.id,
                name=esc(claim.person_name),
                item=esc(claim.item.name(ctx.locale)),
                points=rules.signed(claim.item.points),
                day=claim.occurred_on,
                days=days,
            )
        )
        rows.append(
            [
                button(
                    _("Open No. {id} ({name})").format(id=claim.id, name=claim.person_name[:20]),
                    Callback("pt", claim.id, "open"),
                )
            ]
        )
    nav = []
    if page > 0:
        nav.append(button("◀️ " + _("Previous"), Callback("pt", page - 1, "pg")))
    if page + 1 < pages:
        nav.append(button(_("Next") + " ▶️", Callback("pt", page + 1, "pg")))
    if nav:
        rows.append(nav)
    await reply(update, ctx, "\n".join(lines), keyboard(rows))


PER_PAGE = 5


async def run_overdue_digest(app: BranchApp) -> None:
    """One reminder per reviewer and day listing the claims waiting over 3 days."""
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        branch_ids = await svc.points.branches_with_overdue_claims()
    for branch_id in branch_ids:
        async with runtime.unit_of_work() as svc:
            digests = await svc.points.overdue_digest(branch_id)
            for telegram_id, claims in digests:

                def render(r: Reader, claims: list[ClaimInfo] = claims) -> str:
                    t = r.gettext
                    lines = [
                        t(
                            "⏰ <b>{n} point claims have waited more than 3 days</b> for review:"
                        ).format(n=len(claims))
                    ]
                    for c in claims[:30]:
                        lines.append(
                            t("No. {id} · {name} · {day}").format(
                                id=c.id, name=esc(c.person_name), day=r.date(c.occurred_on)
                            )
                        )
                    lines.append(t("Review them with /pending."))
                    return "\n".join(lines)

                await send_to(app, svc, telegram_id, render)
