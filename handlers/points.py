# i18n-domain: points
"""The points scheme in chat: /claim, reviewers' decisions, /pending, /points, /grant,
/revoke, /ranking, /catalogue, ``/export points`` and the periodic tasks (overdue
digest, quarter close). Callback prefixes: ``pt`` (claims, scores) and ``cat``
(catalogue). Rules and rights live in ``domain.points``."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain import points_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.periods import Quarter
from domain.points import (
    ClaimInfo,
    GrantResult,
    ItemInfo,
    MemberScore,
    QuarterCloseResult,
    parse_points,
    undeclared_members,
)
from domain.points_catalogue import BLOCK_LABELS, indicator_keys, indicator_name
from domain.points_export import points_workbook
from domain.points_rules import PointsSettings
from domain.reader import Reader
from domain.roles import Audience
from domain.services import Services
from handlers.callbacks import Callback, parse, pattern
from handlers.common import (
    TEXT_LIMIT,
    Gettext,
    answer_callback,
    button,
    caption,
    deliver,
    edit,
    esc,
    forward_to_reviewers,
    keyboard,
    notify,
    paged_rows,
    queue_broadcast,
    readers_for,
    render_error,
    reply,
    truncate_html,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.deliveries import drain
from scheduler.hooks import register_audience

log = logging.getLogger(__name__)

PER_PAGE = 5
HISTORY_PER_PAGE = 10
EVIDENCE_MIME = re.compile(
    r"^(image/.+|application/pdf|application/msword|"
    r"application/vnd\.openxmlformats-officedocument\.wordprocessingml\.document)$"
)
EVIDENCE_MAX_BYTES = 20 * 1024 * 1024

STATUS_LABELS = {
    "pending": N_("waiting for review"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "revoked": N_("revoked"),
}
KIND_LABELS = {
    "claim": N_("claim"),
    "grant": N_("by the secretary"),
    "system": N_("automatic"),
    "reversal": N_("revocation"),
}

MEMBERS = (Audience.MEMBER,)
REVIEWERS = (Audience.REVIEWER,)
SECRETARY = (Audience.SECRETARY,)


def register(app: BranchApp, registry: Registry) -> None:
    register_audience("declaration", undeclared_members)
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("claim", _guarded(claim_command), filters=private))
    app.add_handler(CommandHandler("pending", _guarded(pending_command), filters=private))
    app.add_handler(CommandHandler("points", _guarded(points_command), filters=private))
    app.add_handler(CommandHandler("grant", _guarded(grant_command), filters=private))
    app.add_handler(CommandHandler("revoke", _guarded(revoke_command), filters=private))
    app.add_handler(CommandHandler("ranking", _guarded(ranking_command), filters=private))
    app.add_handler(CommandHandler("scheme", _guarded(scheme_command), filters=private))
    app.add_handler(CommandHandler("catalogue", _guarded(catalogue_command), filters=private))
    app.add_handler(CallbackQueryHandler(on_points_button, pattern=pattern("pt")))
    app.add_handler(CallbackQueryHandler(on_catalogue_button, pattern=pattern("cat")))
    registry.command("claim", N_("Declare points (申报积分)"), MEMBERS, order=20)
    registry.command("points", N_("My points and ledger"), MEMBERS, order=21)
    registry.command("pending", N_("Point claims waiting for review"), REVIEWERS, order=22)
    registry.command("grant", N_("Grant or deduct points for a member"), SECRETARY, order=23)
    registry.command("revoke", N_("Revoke an approved claim"), SECRETARY, order=24)
    registry.command("ranking", N_("Publish the quarter's ranking"), SECRETARY, order=25)
    registry.command("catalogue", N_("Edit the points catalogue"), SECRETARY, order=26)
    registry.command(
        "scheme", N_("Points scheme settings: base, caps, window"), SECRETARY, order=27
    )
    registry.badge(_pending_badge)
    registry.exporter(
        "points", N_("Points: ledger and scores of a quarter"), REVIEWERS, _guarded(export_points)
    )
    registry.periodic("points.overdue", timedelta(hours=1), run_overdue_digest)
    registry.periodic("points.close", timedelta(hours=1), run_quarter_close)
    router: DialogRouter = app.bot_data["dialogs"]
    router.add("claim", "date", _claim_date)
    router.add("claim", "desc", _claim_description)
    router.add("claim", "evidence", _claim_evidence)
    for step in ("indicator", "item", "confirm"):
        router.add("claim", step, _use_buttons)
    router.add("review", "reject", _review_reason)
    router.add("review", "adjust", _review_adjust)
    router.add("revoke", "reason", _revoke_reason)
    router.add("grant", "reason", _grant_reason)
    for step in ("person", "indicator", "item"):
        router.add("grant", step, _use_buttons)
    router.add("cat", "indicator", _use_buttons)
    router.add("cat", "block", _use_buttons)
    router.add("cat", "pts", _catalogue_points)
    router.add("cat", "cap", _catalogue_cap)
    router.add("cat", "name", _catalogue_new_name)
    router.add("cat", "newpts", _catalogue_new_points)
    router.add("cat", "newcap", _catalogue_new_cap)


# -- small helpers --------------------------------------------------------------------
_Handler = TypeVar("_Handler", bound=Callable[..., Coroutine[Any, Any, None]])


def _guarded(fn: _Handler) -> _Handler:
    """A command whose domain refusals (not found, already revoked, not allowed …) are
    answered, not left to the error handler ("something went wrong")."""

    @functools.wraps(fn)
    async def run(update: Update, ctx: BranchContext, *args: Any) -> None:
        try:
            await fn(update, ctx, *args)
        except DomainError as exc:
            await _fail(update, ctx, exc)

    return cast(_Handler, run)


def fmt(value: Decimal) -> str:
    return rules.fmt(value)


def item_line(item: ItemInfo, t: Gettext, locale: str) -> str:
    cap = (
        t("cap {cap} a quarter").format(cap=fmt(item.cap)) if item.cap is not None else t("no cap")
    )
    extras = [t(BLOCK_LABELS[item.block.value]), cap]
    if item.evidence:
        extras.append(t("evidence needed"))
    return f"{esc(item.name(locale))} <b>{rules.signed(item.points)}</b> ({', '.join(extras)})"


async def _fail(update: Update, ctx: BranchContext, exc: DomainError) -> None:
    if update.callback_query is not None:
        await answer_callback(update, render_error(ctx, exc), alert=True)
    else:
        await reply(update, ctx, render_error(ctx, exc))


def _require_member(ctx: BranchContext) -> bool:
    return ctx.viewer.is_member


async def _not_member(update: Update, ctx: BranchContext) -> None:
    text = ctx.gettext("I can only help members of a branch. Send /start to see how to join.")
    if update.callback_query is not None:
        await answer_callback(update, text, alert=True)
    else:
        await reply(update, ctx, text)


async def _use_buttons(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    await reply(
        update,
        ctx,
        ctx.gettext("Please choose with the buttons above, or send /cancel to stop."),
    )


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


def _indicator_rows(t: Gettext, locale: str, make: Callable[[str], Callback]) -> list[list[Any]]:
    keys = indicator_keys()
    buttons = [button(indicator_name(k, locale), make(k)) for k in keys]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _item_rows(items: Sequence[ItemInfo], locale: str, action: str) -> list[list[Any]]:
    return [
        [
            button(
                f"{item.name(locale)[:40]} {rules.signed(item.points)}",
                Callback("pt", item.id, action),
            )
        ]
        for item in items
    ]


# -- /claim ---------------------------------------------------------------------------
async def claim_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not _require_member(ctx):
        await _not_member(update, ctx)
        return
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "claim", "indicator", {})
    rows = _indicator_rows(_, ctx.locale, lambda k: Callback("pt", 0, "ind", k))
    await reply(
        update,
        ctx,
        _("<b>Declare points</b>\nWhich indicator is it about? (/cancel to stop)"),
        keyboard(rows),
    )


async def _claim_dialog(ctx: BranchContext) -> Dialog | None:
    dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
    if dialog is None or dialog.flow != "claim":
        return None
    return dialog


async def _claim_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    uid = ctx.viewer.telegram_user_id
    dialog = await _claim_dialog(ctx)
    if dialog is None:
        await answer_callback(
            update,
            _("This declaration is no longer open. Send /claim to start again."),
            alert=True,
        )
        return
    data = dict(dialog.data)
    if cb.action == "ind":
        if cb.arg not in indicator_keys():
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        assert ctx.viewer.branch_id is not None
        items = await ctx.svc.points.items(ctx.viewer.branch_id, indicator=cb.arg)
        if not items:
            await answer_callback(update, _("This indicator has no items."), alert=True)
            return
        data["indicator"] = cb.arg
        await ctx.svc.dialogs.set(uid, "claim", "item", data)
        await answer_callback(update)
        await reply(
            update,
            ctx,
            _("<b>{indicator}</b>: which item?").format(
                indicator=esc(indicator_name(cb.arg, ctx.locale))
            ),
            keyboard(_item_rows(items, ctx.locale, "item")),
        )
    elif cb.action == "item":
        item = await ctx.svc.points.claimable_item(ctx.viewer, cb.id)
        data["item_id"] = item.id
        await ctx.svc.dialogs.set(uid, "claim", "date", data)
        await answer_callback(update)
        today = await ctx.svc.points.today(item_id_branch(ctx))
        await reply(
            update,
            ctx,
            _(
                "{item}\n\nWhen did it happen? Send the date as YYYY-MM-DD "
                "(for example {today}), or press Today."
            ).format(item=item_line(item, _, ctx.locale), today=today.isoformat()),
            keyboard([[button(_("Today"), Callback("pt", 0, "today"))]]),
        )
    elif cb.action == "today":
        if dialog.step != "date":
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        await answer_callback(update)
        await _accept_date(update, ctx, dialog, await ctx.svc.points.today(item_id_branch(ctx)))
    elif cb.action == "ok":
        if dialog.step != "confirm":
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        await _submit_claim(update, ctx, dialog)
    elif cb.action == "no":
        await ctx.svc.dialogs.clear(uid)
        await answer_callback(update, _("Cancelled."))
        await reply(update, ctx, _("Cancelled. Nothing was saved from that step."))


def item_id_branch(ctx: BranchContext) -> int:
    assert ctx.viewer.branch_id is not None
    return ctx.viewer.branch_id


def _parse_date(text: str, today: date) -> date | None:
    text = text.strip()
    if text in {"今天", "今日", "today", "Today"}:
        return today
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if match is None:
        match2 = re.fullmatch(r"(\d{1,2})[-/.月](\d{1,2})日?", text)
        if match2 is None:
            return None
        year, month, day = today.year, int(match2[1]), int(match2[2])
    else:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        return date(year, month, day)
    except ValueError:
        return None


async def _claim_date(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    text = message.text if message is not None else None
    today = await ctx.svc.points.today(item_id_branch(ctx))
    day = _parse_date(text or "", today)
    if day is None:
        await reply(
            update,
            ctx,
            _("Please send the date as YYYY-MM-DD, for example {today}.").format(
                today=today.isoformat()
            ),
        )
        return
    await _accept_date(update, ctx, dialog, day)


async def _accept_date(update: Update, ctx: BranchContext, dialog: Dialog, day: date) -> None:
    _ = ctx.gettext
    try:
        await ctx.svc.points.check_claim_date(ctx.viewer, day)
        await ctx.svc.points.check_duplicate(ctx.viewer, int(dialog.data["item_id"]), day)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc) + "\n" + _("Please send another date."))
        return
    data = {**dialog.data, "date": day.isoformat()}
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "claim", "desc", data)
    await reply(
        update,
        ctx,
        _("Date: {day}. Now describe what you did in a few words (at most {n} characters).").format(
            day=day.isoformat(), n=500
        ),
    )


async def _claim_description(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    text = await _bounded_text(
        update, ctx, 500, N_("Please describe it in words (a text message).")
    )
    if text is None:
        return
    item = await ctx.svc.points.claimable_item(ctx.viewer, int(dialog.data["item_id"]))
    data = {**dialog.data, "desc": text}
    if item.evidence:
        await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "claim", "evidence", data)
        await reply(
            update,
            ctx,
            _("This item needs evidence: send a photo, or a PDF, Word or image document."),
        )
        return
    await _ask_confirm(update, ctx, data)


async def _claim_evidence(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    data = dict(dialog.data)
    if message is not None and message.photo:
        data.update(ev_kind="photo", ev_file=message.photo[-1].file_id, ev_name=None)
    elif message is not None and message.document is not None:
        doc = message.document
        if not EVIDENCE_MIME.match(doc.mime_type or "") or (doc.file_size or 0) > (
            EVIDENCE_MAX_BYTES
        ):
            await reply(
                update,
                ctx,
                _(
                    "I cannot take this file. Evidence is a photo, or a PDF, Word or "
                    "image document of at most 20 MB."
                ),
            )
            return
        data.update(ev_kind="document", ev_file=doc.file_id, ev_name=doc.file_name)
    else:
        await reply(
            update,
            ctx,
            _("This item needs evidence: send a photo, or a PDF, Word or image document."),
        )
        return
    await _ask_confirm(update, ctx, data)


async def _ask_confirm(update: Update, ctx: BranchContext, data: dict[str, Any]) -> None:
    _ = ctx.gettext
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "claim", "confirm", data)
    item = await ctx.svc.points.claimable_item(ctx.viewer, int(data["item_id"]))
    lines = [
        _("<b>Please check your declaration</b>"),
        _("Item: {item}").format(item=item_line(item, _, ctx.locale)),
        _("Date: {day}").format(day=esc(data["date"])),
        _("Description: {text}").format(text=esc(data["desc"])),
    ]
    if data.get("ev_file"):
        lines.append(_("Evidence: attached"))
    rows = [
        [
            button("✅ " + _("Submit"), Callback("pt", 0, "ok")),
            button("✖️ " + _("Cancel"), Callback("pt", 0, "no")),
        ]
    ]
    await reply(update, ctx, "\n".join(lines), keyboard(rows))


async def _submit_claim(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    data = dialog.data
    claim = await ctx.svc.points.submit_claim(
        ctx.viewer,
        item_id=int(data["item_id"]),
        occurred_on=date.fromisoformat(str(data["date"])),
        description=str(data["desc"]),
        evidence_kind=data.get("ev_kind"),
        evidence_file_id=data.get("ev_file"),
        evidence_name=data.get("ev_name"),
    )
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await answer_callback(update, _("Submitted."))
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
    await reply(
        update,
        ctx,
        _(
            "📨 Your declaration was submitted. Claim No. <b>{id}</b>: {item}, {day}. "
            "I will tell you the reviewer's decision."
        ).format(id=claim.id, item=esc(claim.item.name(ctx.locale)), day=claim.occurred_on),
    )
    from store.repositories import branch_reviewers

    # Once the claim is committed (the buttons name it); the member is told if no
    # reviewer could be reached after all.
    forward_to_reviewers(
        ctx,
        [
            partial(send_review, ctx, row.account.telegram_user_id, claim)
            for row in await branch_reviewers(ctx.svc.session, claim.branch_id)
            if row.account is not None and row.person.id != claim.person_id
        ],
    )


# -- review ---------------------------------------------------------------------------
def review_text(r: Reader, claim: ClaimInfo) -> str:
    t = r.gettext
    waited = ""
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
    if waited:
        lines.append(waited)
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


async def _review_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
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
        await _start_revoke(update, ctx, cb.id)
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
    reason = await _bounded_text(update, ctx, 300, N_("Please send the reason as a text message."))
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
        await reply(update, ctx, render_error(ctx, DomainError(_reviewers_only())))
        return
    await _show_pending(update, ctx, 0)


def _reviewers_only() -> str:
    from domain.points import REVIEWERS_ONLY

    return REVIEWERS_ONLY


async def _show_pending(update: Update, ctx: BranchContext, page: int) -> None:
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


# -- /points --------------------------------------------------------------------------
async def points_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not _require_member(ctx):
        await _not_member(update, ctx)
        return
    if ctx.args and ctx.args[0].lower() in {"history", "ledger", "历史", "台账"}:
        await _show_history(update, ctx, 0)
        return
    o = await ctx.svc.points.overview(ctx.viewer)
    f = o.figures
    lines = [
        _("<b>My points — {quarter}</b>").format(quarter=o.quarter.key),
        _("Quarter score: <b>{total}</b>").format(total=fmt(f.total)),
        _("• Base: {base} of {of} (deductions {d})").format(
            base=fmt(f.base), of=fmt(o.settings.base), d=fmt(f.deductions)
        ),
        _("• Special bonus: {value} (cap {cap})").format(
            value=fmt(f.special), cap=fmt(o.settings.special_cap)
        ),
        _("• Extra reward: {value} (cap {cap})").format(
            value=fmt(f.extra), cap=fmt(o.settings.extra_cap)
        ),
        "",
        _("<b>By indicator</b>"),
    ]
    for key in indicator_keys():
        lines.append(
            f"• {esc(indicator_name(key, ctx.locale))}: "
            f"{rules.signed(o.by_indicator.get(key, rules.ZERO))}"
        )
    lines.append("")
    lines.append(_("<b>Year {year}</b>").format(year=o.quarter.year))
    for quarter, total, final in o.year:
        mark = _("final") if final else _("so far")
        lines.append(f"• {quarter.key}: {fmt(total)} ({mark})")
    if o.annual.mean is not None:
        lines.append(
            _("Annual mean: {mean} · cumulative: {total}").format(
                mean=fmt(o.annual.mean), total=fmt(o.annual.cumulative)
            )
        )
    lines.append("")
    lines.append(_("<b>Last entries</b>"))
    if not o.recent:
        lines.append(_("No entries yet. Declare points with /claim."))
    for e in o.recent:
        lines.append(_entry_line(_, e))
    lines.append("")
    lines.append(_("The whole ledger: /points history"))
    await reply(update, ctx, "\n".join(lines))


def _entry_line(t: Gettext, e: Any) -> str:
    note = f" — {esc(e.note[:60])}" if e.note else ""
    capped = ""
    if e.points != e.requested:
        capped = " " + t("(capped from {requested})").format(requested=rules.signed(e.requested))
    return (
        f"{e.occurred_on} {esc(e.item_name or '')} <b>{rules.signed(e.points)}</b>{capped} "
        f"[{t(KIND_LABELS[e.kind.value])}]{note}"
    )


async def _show_history(update: Update, ctx: BranchContext, page: int) -> None:
    _ = ctx.gettext
    entries, total = await ctx.svc.points.history(ctx.viewer, page, HISTORY_PER_PAGE)
    if total == 0:
        await reply(update, ctx, _("Your ledger is empty. Declare points with /claim."))
        return
    pages = (total + HISTORY_PER_PAGE - 1) // HISTORY_PER_PAGE
    lines = [
        _("<b>My ledger</b>, newest first — page {page}/{pages}").format(page=page + 1, pages=pages)
    ]
    lines.extend(_entry_line(_, e) for e in entries)
    nav = []
    if page > 0:
        nav.append(button("◀️ " + _("Previous"), Callback("pt", page - 1, "hist")))
    if page + 1 < pages:
        nav.append(button(_("Next") + " ▶️", Callback("pt", page + 1, "hist")))
    await reply(update, ctx, "\n".join(lines), keyboard([nav]) if nav else None)


# -- /grant ---------------------------------------------------------------------------
async def grant_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "grant", "person", {})
    await reply(update, ctx, *await _grant_people(ctx, 0))


async def _grant_people(ctx: BranchContext, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """/grant's first step: the branch's people, a page at a time."""
    _ = ctx.gettext
    people = await ctx.svc.points.branch_people(ctx.viewer)
    buttons = [button(name[:30], Callback("pt", pid, "gp")) for pid, name in people]
    rows, _shown = paged_rows(_, buttons, page, lambda p: Callback("pt", p, "gpp"), columns=3)
    return _("<b>Grant or deduct points</b>\nFor whom? (/cancel to stop)"), keyboard(rows)


async def _grant_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    uid = ctx.viewer.telegram_user_id
    dialog = await ctx.svc.dialogs.get(uid)
    if dialog is None or dialog.flow != "grant":
        await answer_callback(
            update, _("This is no longer open. Send /grant to start again."), alert=True
        )
        return
    data = dict(dialog.data)
    if cb.action == "gpp":  # another page of people
        await answer_callback(update)
        await edit(update, *await _grant_people(ctx, cb.id))
        return
    if cb.action == "gp":
        name = await ctx.svc.points.person_in_branch(ctx.viewer, cb.id)
        data.update(person_id=cb.id, name=name)
        await ctx.svc.dialogs.set(uid, "grant", "indicator", data)
        await answer_callback(update)
        rows = _indicator_rows(_, ctx.locale, lambda k: Callback("pt", cb.id, "gi", k))
        await reply(
            update, ctx, _("{name}: which indicator?").format(name=esc(name)), keyboard(rows)
        )
    elif cb.action == "gi":
        if cb.arg not in indicator_keys() or data.get("person_id") != cb.id:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        items = await ctx.svc.points.items(item_id_branch(ctx), indicator=cb.arg)
        await ctx.svc.dialogs.set(uid, "grant", "item", data)
        await answer_callback(update)
        await reply(update, ctx, _("Which item?"), keyboard(_item_rows(items, ctx.locale, "gt")))
    elif cb.action == "gt":
        if "person_id" not in data:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        item = await ctx.svc.points.claimable_item(ctx.viewer, cb.id)
        data["item_id"] = item.id
        await ctx.svc.dialogs.set(uid, "grant", "reason", data)
        await answer_callback(update)
        await reply(
            update,
            ctx,
            _("{name}: {item}\nPlease send the reason (it is shown to the member).").format(
                name=esc(data.get("name", "")), item=item_line(item, _, ctx.locale)
            ),
        )


async def _grant_reason(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    reason = _dialog_text(update)
    if not reason or len(reason) > 300:
        await reply(update, ctx, _("Please send a reason of 1 to 300 characters."))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        result = await ctx.svc.points.direct_grant(
            ctx.viewer,
            person_id=int(dialog.data["person_id"]),
            item_id=int(dialog.data["item_id"]),
            reason=reason,
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    text = _("Recorded: {name} {points} points ({item}).").format(
        name=esc(result.person_name),
        points=rules.signed(result.points),
        item=esc(_names(result, ctx.locale)),
    )
    if result.capped:
        text += "\n" + _(
            "The item's quarterly cap allowed {points} of the {requested} points."
        ).format(points=fmt(result.points), requested=fmt(result.requested))
    await reply(update, ctx, text)
    await _notify_grant(ctx, result, revoked=False)


def _names(result: GrantResult, locale: str) -> str:
    return Reader.of(locale).name(result.item_names)


async def _notify_grant(ctx: BranchContext, result: GrantResult, *, revoked: bool) -> None:
    if result.telegram_user_id is None:
        return
    telegram_id = result.telegram_user_id

    def render(r: Reader) -> tuple[str, None]:
        t = r.gettext
        item = esc(r.name(result.item_names))
        if revoked:
            return t(
                "↩️ A decision on your points was revoked: {points} points ({item}). "
                "Reason: {reason}"
            ).format(
                points=rules.signed(result.points), item=item, reason=esc(result.reason or "")
            ), None
        return t(
            "The branch secretary recorded {points} points for you ({item}). Reason: {reason}"
        ).format(
            points=rules.signed(result.points), item=item, reason=esc(result.reason or "")
        ), None

    await notify(ctx, telegram_id, render)


# -- /revoke --------------------------------------------------------------------------
async def revoke_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    args = ctx.args or []
    number = args[0].lstrip("#＃") if args else ""
    # ASCII digits that fit a database id ("²".isdigit() is true, int("²") fails).
    if not (number.isascii() and number.isdigit() and len(number) <= 18):
        await reply(update, ctx, _("Send /revoke followed by the claim number, e.g. /revoke 12."))
        return
    await _start_revoke(update, ctx, int(number))


async def _start_revoke(update: Update, ctx: BranchContext, claim_id: int) -> None:
    _ = ctx.gettext
    claim = await ctx.svc.points.revocable(ctx.viewer, claim_id)
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, "revoke", "reason", {"claim_id": claim.id}
    )
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(
            "Revoke claim No. {id} of {name} ({item}, {points} points)? Send the reason "
            "(it is shown to the member), or /cancel."
        ).format(
            id=claim.id,
            name=esc(claim.person_name),
            item=esc(claim.item.name(ctx.locale)),
            points=rules.signed(claim.awarded or rules.ZERO),
        ),
    )


async def _revoke_reason(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    reason = _dialog_text(update)
    if not reason or len(reason) > 300:
        await reply(update, ctx, _("Please send a reason of 1 to 300 characters."))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    try:
        result = await ctx.svc.points.revoke_claim(ctx.viewer, int(dialog.data["claim_id"]), reason)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(
        update,
        ctx,
        _("Claim No. {id} revoked; the ledger got a compensating entry of {points}.").format(
            id=dialog.data["claim_id"], points=rules.signed(result.points)
        ),
    )
    await _notify_grant(ctx, result, revoked=True)


# -- /ranking -------------------------------------------------------------------------
def _quarter_arg(args: Sequence[str]) -> Quarter | None:
    for arg in args:
        with contextlib.suppress(ValueError):
            return Quarter.parse(arg)
    return None


async def ranking_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    quarter = _quarter_arg(ctx.args or []) or await ctx.svc.points.default_quarter(ctx.viewer)
    scores, recipients = await ctx.svc.points.publish_ranking(ctx.viewer, quarter)
    if not scores:
        await reply(update, ctx, _("There is nobody to rank yet."))
        return
    branch = ctx.viewer.branch_name or ""
    from domain.points_chart import ranking_chart  # matplotlib: loaded when first drawn

    # The messages go into the deliveries outbox in this transaction: durable with the
    # commit, sent right after it by a background task (the bot keeps answering while
    # Telegram paces a large branch), resumed by the delivery task after a crash. The
    # chart's title is text too: one picture per language the recipients read.
    photos: dict[str, int] = {}
    for locale in sorted({r.locale for r in (await readers_for(ctx.svc, recipients)).values()}):
        title = Reader.of(locale).gettext("{branch} {quarter} points ranking")
        chart = ranking_chart(
            title.format(branch=branch, quarter=quarter.key),
            [(s.name, s.figures.total) for s in scores],
        )
        photos[locale] = await ctx.svc.deliveries.store_file(
            f"ranking-{quarter.key}-{locale}.png", chart
        )
    by_account = {s.telegram_user_id: s for s in scores if s.telegram_user_id is not None}

    def render(r: Reader, telegram_id: int) -> list[tuple[str, int | None]]:
        caption = r.gettext("<b>Points ranking {quarter}</b> — {branch} (公示)").format(
            quarter=quarter.key, branch=esc(branch)
        )
        mine = by_account.get(telegram_id)
        return [
            (caption, photos[r.locale]),
            (_ranking_text(r.gettext, scores, mine, quarter), None),
        ]

    await queue_broadcast(ctx.svc, recipients, render)
    app = ctx.application
    ctx.after_commit(lambda: _background(app, drain(app), f"ranking-{quarter.key}"))
    await reply(
        update,
        ctx,
        _("The ranking of {quarter} is being published to {n} members.").format(
            quarter=quarter.key, n=len(recipients)
        ),
    )


async def _background(
    app: Application[Any, Any, Any, Any, Any, Any], work: Coroutine[Any, Any, object], name: str
) -> None:
    app.create_task(work, name=name)


# -- /scheme: the branch's settings of the points scheme --------------------------------
#: What the secretary may type after /scheme (English or the scheme's Chinese words).
SCHEME_NAMES = {
    "base": "base", "基础分": "base",
    "special": "special_cap", "特色加分": "special_cap",
    "extra": "extra_cap", "附加奖励分": "extra_cap", "附加分": "extra_cap",
    "window": "window_days", "申报期": "window_days",
}  # fmt: skip


async def scheme_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary or ctx.viewer.branch_id is None:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    args = ctx.args or []
    if not args:
        settings = await ctx.svc.points.settings(ctx.viewer.branch_id)
        await reply(update, ctx, _scheme_text(_, settings) + "\n\n" + _scheme_usage(_))
        return
    name = SCHEME_NAMES.get(args[0].strip().lower()[:20])
    value = _decimal_arg(args[1]) if len(args) == 2 else None
    if name is None or value is None:
        await reply(update, ctx, _("I could not read that.") + "\n\n" + _scheme_usage(_))
        return
    settings = await ctx.svc.points.update_setting(ctx.viewer, name, value)
    await reply(
        update,
        ctx,
        _(
            "✅ Saved. Open quarters are scored with it from now on; closed quarters keep "
            "their final scores."
        )
        + "\n\n"
        + _scheme_text(_, settings),
    )


def _decimal_arg(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip()[:12])
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _scheme_text(t: Gettext, settings: PointsSettings) -> str:
    return "\n".join(
        [
            t("<b>Points scheme</b>"),
            t("Base: {base} · special bonus cap: {special} · extra reward cap: {extra}").format(
                base=fmt(settings.base),
                special=fmt(settings.special_cap),
                extra=fmt(settings.extra_cap),
            ),
            t("Claims for a quarter are accepted until {n} days after it ends.").format(
                n=settings.window_days
            ),
        ]
    )


def _scheme_usage(t: Gettext) -> str:
    return t(
        "To change one, send for example <code>/scheme base 80</code>, "
        "<code>/scheme special 20</code>, <code>/scheme extra 10</code> or "
        "<code>/scheme window 10</code>."
    )


#: Lines of the published ranking; the rest is summarised (a message holds 4096
#: characters, a large branch has hundreds of members). Each member sees their own rank.
RANKING_LINES = 30


def _ranking_text(
    t: Gettext, scores: Sequence[MemberScore], mine: MemberScore | None, quarter: Quarter
) -> str:
    lines = [t("<b>Ranking {quarter}</b>").format(quarter=quarter.key)]
    for s in scores[:RANKING_LINES]:
        lines.append(f"{s.rank}. {esc(s.name)} — {fmt(s.figures.total)}")
    if len(scores) > RANKING_LINES:
        lines.append(t("… and {n} more members.").format(n=len(scores) - RANKING_LINES))
    if mine is not None:
        lines.append("")
        lines.append(
            t("Your rank: {rank} of {n}, with {total} points.").format(
                rank=mine.rank, n=len(scores), total=fmt(mine.figures.total)
            )
        )
    return "\n".join(lines)


# -- /export points -------------------------------------------------------------------
async def export_points(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_reviewer:
        await reply(update, ctx, render_error(ctx, DomainError(_reviewers_only())))
        return
    quarter = _quarter_arg(args) or await ctx.svc.points.default_quarter(ctx.viewer)
    ledger = await ctx.svc.points.quarter_ledger(ctx.viewer, quarter)
    scores = await ctx.svc.points.scores_for(ctx.viewer, quarter)
    data = points_workbook(quarter.key, ledger, scores, _, ctx.locale)
    await ctx.svc.points.audit(
        "points.export", actor=ctx.viewer, subject_type="quarter", subject_id=quarter.key
    )
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        data,
        filename=f"points-{quarter.key}.xlsx",
        caption=_("Points {quarter}: ledger, scores, indicators.").format(quarter=quarter.key),
    )


# -- /catalogue -----------------------------------------------------------------------
async def catalogue_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    await _catalogue_home(update, ctx)


async def _catalogue_home(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    rows = _indicator_rows(_, ctx.locale, lambda k: Callback("cat", 0, "ind", k))
    rows.append([button("➕ " + _("Add an item"), Callback("cat", 0, "add"))])
    await reply(
        update,
        ctx,
        _("<b>Points catalogue</b>\nChoose an indicator to see and change its items."),
        keyboard(rows),
    )


def _item_detail(t: Gettext, item: ItemInfo, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    status = t("no longer in use") if item.retired else t("in use")
    text = "\n".join(
        [
            t("<b>Item</b> {item}").format(item=item_line(item, t, locale)),
            t("Indicator: {indicator}").format(
                indicator=esc(indicator_name(item.indicator, locale))
            ),
            t("Item status: {status}").format(status=status),
            t("Changes apply to new entries only; points already granted stay."),
        ]
    )
    ev = t("Evidence: no longer needed") if item.evidence else t("Evidence: needed")
    rows = [
        [
            button(t("Change points"), Callback("cat", item.id, "pts")),
            button(t("Change cap"), Callback("cat", item.id, "cap")),
        ],
        [button(ev, Callback("cat", item.id, "ev"))],
        [
            button(t("Restore"), Callback("cat", item.id, "res"))
            if item.retired
            else button(t("Retire"), Callback("cat", item.id, "ret"))
        ],
    ]
    return text, keyboard(rows)


async def on_catalogue_button(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    if cb is None or cb.prefix != "cat":
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    if not ctx.viewer.is_secretary:
        await answer_callback(update, _("Only the branch secretary can do this."), alert=True)
        return
    uid = ctx.viewer.telegram_user_id
    try:
        if cb.action == "ind" and cb.arg in indicator_keys():
            items = await ctx.svc.points.items(
                item_id_branch(ctx), indicator=cb.arg, include_retired=True
            )
            await answer_callback(update)
            lines = [f"<b>{esc(indicator_name(cb.arg, ctx.locale))}</b>"]
            for item in items:
                mark = " 🚫" if item.retired else ""
                lines.append(f"• {item_line(item, _, ctx.locale)}{mark}")
            rows = [
                [button(f"{item.name(ctx.locale)[:40]}", Callback("cat", item.id, "show"))]
                for item in items
            ]
            await reply(update, ctx, "\n".join(lines), keyboard(rows))
        elif cb.action == "show":
            item = await ctx.svc.points.item(ctx.viewer, cb.id)
            await answer_callback(update)
            text, markup = _item_detail(_, item, ctx.locale)
            await reply(update, ctx, text, markup)
        elif cb.action in {"ev", "ret", "res"}:
            current = await ctx.svc.points.item(ctx.viewer, cb.id)
            if cb.action == "ev":
                item = await ctx.svc.points.change_item(
                    ctx.viewer, cb.id, evidence=not current.evidence
                )
            else:
                item = await ctx.svc.points.change_item(
                    ctx.viewer, cb.id, retired=cb.action == "ret"
                )
            await answer_callback(update, _("Saved."))
            text, markup = _item_detail(_, item, ctx.locale)
            with contextlib.suppress(TelegramError):
                await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        elif cb.action in {"pts", "cap"}:
            item = await ctx.svc.points.item(ctx.viewer, cb.id)
            await ctx.svc.dialogs.set(uid, "cat", cb.action, {"item_id": item.id})
            await answer_callback(update)
            if cb.action == "pts":
                text = _("Send the new points of “{item}” (now {points}).")
            else:
                text = _("Send the new quarterly cap of “{item}”, or 0 for no cap.")
            await reply(
                update,
                ctx,
                text.format(item=esc(item.name(ctx.locale)), points=rules.signed(item.points)),
            )
        elif cb.action == "add":
            await ctx.svc.dialogs.set(uid, "cat", "indicator", {})
            await answer_callback(update)
            rows = _indicator_rows(_, ctx.locale, lambda k: Callback("cat", 0, "ai", k))
            await reply(update, ctx, _("New item: which indicator?"), keyboard(rows))
        elif cb.action == "ai" and cb.arg in indicator_keys():
            await ctx.svc.dialogs.set(uid, "cat", "block", {"indicator": cb.arg})
            await answer_callback(update)
            rows = [
                [button(_(label), Callback("cat", 0, "ab", key))]
                for key, label in BLOCK_LABELS.items()
            ]
            await reply(update, ctx, _("New item: which block?"), keyboard(rows))
        elif cb.action == "ab" and cb.arg in BLOCK_LABELS:
            dialog = await ctx.svc.dialogs.get(uid)
            if dialog is None or dialog.flow != "cat" or "indicator" not in dialog.data:
                await answer_callback(update, _("This button is no longer valid."), alert=True)
                return
            await ctx.svc.dialogs.set(uid, "cat", "name", {**dialog.data, "block": cb.arg})
            await answer_callback(update)
            await reply(update, ctx, _("New item: send its name (at most 100 characters)."))
        else:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
    except DomainError as exc:
        await _fail(update, ctx, exc)


def _dialog_text(update: Update) -> str:
    """The text a member typed into a dialog step, trimmed ('' for a photo, a file…)."""
    message = update.effective_message
    return (message.text or "").strip() if message is not None else ""


async def _bounded_text(update: Update, ctx: BranchContext, limit: int, empty: str) -> str | None:
    """The typed text, or None after telling the member it is missing (``empty``, a
    msgid) or longer than ``limit`` characters; the dialog stays where it is."""
    text = _dialog_text(update)
    if not text:
        await reply(update, ctx, ctx.gettext(empty))
        return None
    if len(text) > limit:
        await reply(
            update,
            ctx,
            ctx.gettext("That is {n} characters; please shorten it to at most {max}.").format(
                n=len(text), max=limit
            ),
        )
        return None
    return text


async def _catalogue_points(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    try:
        points = parse_points(_dialog_text(update))
        item = await ctx.svc.points.change_item(
            ctx.viewer, int(dialog.data["item_id"]), points=points
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    text, markup = _item_detail(ctx.gettext, item, ctx.locale)
    await reply(update, ctx, ctx.gettext("Saved.") + "\n" + text, markup)


async def _catalogue_cap(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    try:
        cap = parse_points(_dialog_text(update))
        item = await ctx.svc.points.change_item(ctx.viewer, int(dialog.data["item_id"]), cap=cap)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    text, markup = _item_detail(ctx.gettext, item, ctx.locale)
    await reply(update, ctx, ctx.gettext("Saved.") + "\n" + text, markup)


async def _catalogue_new_name(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    name = " ".join((_dialog_text(update)).split())
    if not name or len(name) > 100:
        await reply(update, ctx, _("New item: send its name (at most 100 characters)."))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, "cat", "newpts", {**dialog.data, "name": name}
    )
    await reply(update, ctx, _("How many points does it give (deductions: the points lost)?"))


async def _catalogue_new_points(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    try:
        points = parse_points(_dialog_text(update))
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, "cat", "newcap", {**dialog.data, "points": str(points)}
    )
    await reply(update, ctx, ctx.gettext("The most points it may count per quarter (0 = no cap)?"))


async def _catalogue_new_cap(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    from store.models import PointBlock

    data = dialog.data
    try:
        cap = parse_points(_dialog_text(update))
        item = await ctx.svc.points.add_item(
            ctx.viewer,
            indicator=str(data["indicator"]),
            block=PointBlock(str(data["block"])),
            name=str(data["name"]),
            points=Decimal(str(data["points"])),
            cap=cap,
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    text, markup = _item_detail(ctx.gettext, item, ctx.locale)
    await reply(update, ctx, ctx.gettext("Item added.") + "\n" + text, markup)


# -- the pt button dispatcher ---------------------------------------------------------
async def on_points_button(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    if cb is None or cb.prefix != "pt":
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    if not ctx.viewer.is_member:
        await _not_member(update, ctx)
        return
    try:
        if cb.action in {"ind", "item", "today", "ok", "no"}:
            await _claim_button(update, ctx, cb)
        elif cb.action in {"ap", "rj", "adj", "rv", "open"}:
            await _review_button(update, ctx, cb)
        elif cb.action == "pg":
            await answer_callback(update)
            await _show_pending(update, ctx, cb.id)
        elif cb.action == "hist":
            await answer_callback(update)
            await _show_history(update, ctx, cb.id)
        elif cb.action in {"gp", "gpp", "gi", "gt"}:
            if not ctx.viewer.is_secretary:
                await answer_callback(
                    update, _("Only the branch secretary can do this."), alert=True
                )
                return
            await _grant_button(update, ctx, cb)
        else:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
    except DomainError as exc:
        await _fail(update, ctx, exc)


# -- periodic tasks -------------------------------------------------------------------
async def _send(
    app: BranchApp, svc: Services, telegram_id: int, render: Callable[[Reader], str]
) -> bool:
    sent = await deliver(app.bot, svc, telegram_id, lambda r: (render(r), None))
    return sent is not None


async def run_overdue_digest(app: BranchApp) -> None:
    """One reminder per reviewer and day listing the claims waiting over 3 days."""
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        branch_ids = await svc.points.branch_ids()
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

                await _send(app, svc, telegram_id, render)


async def run_quarter_close(app: BranchApp) -> None:
    """Close quarters whose declaration window is over: final scores, the list of
    members below 60 to the secretary (诫勉 flagged), a private notice to each."""
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        branch_ids = await svc.points.branch_ids()
    for branch_id in branch_ids:
        async with runtime.unit_of_work() as svc:
            result = await svc.points.close_due_quarter(branch_id)
        if result is None:
            continue
        async with runtime.unit_of_work() as svc:
            for telegram_id in result.secretary_telegram_ids:
                await _send(app, svc, telegram_id, _close_report(result))
            for score, warned in result.below:
                if score.telegram_user_id is not None:
                    await _send(
                        app, svc, score.telegram_user_id, _low_notice(result, score, warned)
                    )


def _close_report(result: QuarterCloseResult) -> Callable[[Reader], str]:
    quarter = result.quarter.key

    def report(r: Reader) -> str:
        t = r.gettext
        lines = [t("<b>{quarter} is closed</b>; its scores are final.").format(quarter=quarter)]
        if not result.below:
            lines.append(t("Nobody scored below 60."))
        else:
            lines.append(t("Members below 60:"))
        for score, warned in result.below:
            line = f"• {esc(score.name)} — {fmt(score.figures.total)}"
            if warned:
                line = (
                    "🔴 "
                    + line
                    + " "
                    + t("(second consecutive quarter below 60: 诫勉 admonishment)")
                )
            lines.append(line)
        return "\n".join(lines)

    return report


def _low_notice(
    result: QuarterCloseResult, score: MemberScore, warned: bool
) -> Callable[[Reader], str]:
    def notice(r: Reader) -> str:
        t = r.gettext
        text = t(
            "Your points score for {quarter} is {total}, below 60. Please talk "
            "with the branch secretary about how to improve."
        ).format(quarter=result.quarter.key, total=fmt(score.figures.total))
        if warned:
            text += "\n" + t(
                "It is the second consecutive quarter below 60; the branch "
                "records an admonishment (诫勉)."
            )
        return text

    return notice
