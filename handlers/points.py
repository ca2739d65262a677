# i18n-domain: points
"""The points scheme in chat, the member's side: /claim (a DB-backed dialog) and /points
(scores, ledger). It registers the whole feature: the reviewer's side is
``handlers.points_review``, the secretary's ``handlers.points_admin``, the ranking and
quarter figures ``handlers.points_ranking``. Callback prefixes: ``pt`` (claims, scores;
dispatched here) and ``cat`` (catalogue). Rules and rights live in ``domain.points``."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain import points_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.points import (
    undeclared_members,
)
from domain.points_catalogue import indicator_keys, indicator_name
from domain.review import reviewer_ids
from domain.roles import Audience
from handlers.callbacks import Callback, parse, pattern
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    esc,
    forward_to_reviewers,
    keyboard,
    render_error,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.points_admin import (
    _catalogue_cap,
    _catalogue_new_cap,
    _catalogue_new_name,
    _catalogue_new_points,
    _catalogue_points,
    _grant_reason,
    _revoke_reason,
    catalogue_command,
    grant_button,
    grant_command,
    on_catalogue_button,
    revoke_command,
    scheme_command,
)
from handlers.points_common import (
    bounded_text,
    fail,
    fmt,
    guarded,
    indicator_rows,
    item_id_branch,
    item_line,
    item_rows,
    not_member,
    require_member,
    use_buttons,
)
from handlers.points_ranking import export_points, ranking_command, run_quarter_close
from handlers.points_review import (
    _pending_badge,
    _review_adjust,
    _review_reason,
    pending_command,
    review_button,
    run_overdue_digest,
    send_review,
    show_pending,
)
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.hooks import register_audience

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
    app.add_handler(CommandHandler("claim", guarded(claim_command), filters=private))
    app.add_handler(CommandHandler("pending", guarded(pending_command), filters=private))
    app.add_handler(CommandHandler("points", guarded(points_command), filters=private))
    app.add_handler(CommandHandler("grant", guarded(grant_command), filters=private))
    app.add_handler(CommandHandler("revoke", guarded(revoke_command), filters=private))
    app.add_handler(CommandHandler("ranking", guarded(ranking_command), filters=private))
    app.add_handler(CommandHandler("scheme", guarded(scheme_command), filters=private))
    app.add_handler(CommandHandler("catalogue", guarded(catalogue_command), filters=private))
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
        "points", N_("Points: ledger and scores of a quarter"), REVIEWERS, guarded(export_points)
    )
    registry.periodic("points.overdue", timedelta(hours=1), run_overdue_digest)
    registry.periodic("points.close", timedelta(hours=1), run_quarter_close)
    router: DialogRouter = app.bot_data["dialogs"]
    router.add("claim", "date", _claim_date)
    router.add("claim", "desc", _claim_description)
    router.add("claim", "evidence", _claim_evidence)
    for step in ("indicator", "item", "confirm"):
        router.add("claim", step, use_buttons)
    router.add("review", "reject", _review_reason)
    router.add("review", "adjust", _review_adjust)
    router.add("revoke", "reason", _revoke_reason)
    router.add("grant", "reason", _grant_reason)
    for step in ("person", "indicator", "item"):
        router.add("grant", step, use_buttons)
    router.add("cat", "indicator", use_buttons)
    router.add("cat", "block", use_buttons)
    router.add("cat", "pts", _catalogue_points)
    router.add("cat", "cap", _catalogue_cap)
    router.add("cat", "name", _catalogue_new_name)
    router.add("cat", "newpts", _catalogue_new_points)
    router.add("cat", "newcap", _catalogue_new_cap)


# -- /claim ---------------------------------------------------------------------------
async def claim_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not require_member(ctx):
        await not_member(update, ctx)
        return
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, "claim", "indicator", {})
    rows = indicator_rows(_, ctx.locale, lambda k: Callback("pt", 0, "ind", k))
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
            keyboard(item_rows(items, ctx.locale, "item")),
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
    text = await bounded_text(update, ctx, 500, N_("Please describe it in words (a text message)."))
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
    # Once the claim is committed (the buttons name it); the member is told if no
    # reviewer could be reached after all.
    reviewers = await reviewer_ids(
        ctx.svc.session, claim.branch_id, author_person_id=claim.person_id
    )
    forward_to_reviewers(ctx, [partial(send_review, ctx, r, claim) for r in reviewers])


# -- /points --------------------------------------------------------------------------
async def points_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not require_member(ctx):
        await not_member(update, ctx)
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
        await not_member(update, ctx)
        return
    try:
        if cb.action in {"ind", "item", "today", "ok", "no"}:
            await _claim_button(update, ctx, cb)
        elif cb.action in {"ap", "rj", "adj", "rv", "open"}:
            await review_button(update, ctx, cb)
        elif cb.action == "pg":
            await answer_callback(update)
            await show_pending(update, ctx, cb.id)
        elif cb.action == "hist":
            await answer_callback(update)
            await _show_history(update, ctx, cb.id)
        elif cb.action in {"gp", "gpp", "gi", "gt"}:
            if not ctx.viewer.is_secretary:
                await answer_callback(
                    update, _("Only the branch secretary can do this."), alert=True
                )
                return
            await grant_button(update, ctx, cb)
        else:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
    except DomainError as exc:
        await fail(update, ctx, exc)
