# i18n-domain: reports
"""Thought reports (思想汇报): ``/report`` for members (text in several parts, or a
document/photo), the reviewers' Acknowledge / Comment buttons, ``/reports`` (who handed
in, who still owes, nudges) and ``/export reports [PERIOD]``."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from pathlib import Path

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain import sheets
from domain.dialogs import Dialog
from domain.errors import DomainError, NotAllowed, NotFound
from domain.periods import Quarter
from domain.reader import Reader
from domain.reports import (
    MAX_COMMENT_CHARS,
    MAX_FILE_MB,
    MAX_REPORT_CHARS,
    IncomingFile,
    MemberStatus,
    Period,
    ReportView,
    check_file,
    chunk_text,
    copy_path,
    key_label,
    parse_period,
    period_label,
    read_copy,
)
from domain.reports_export import build_zip
from domain.roles import Audience, PersonStatus
from domain.services import Services
from handlers.callbacks import Callback, pattern
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    button_router,
    esc,
    forward_to_reviewers,
    keyboard,
    notify,
    reader_for,
    render_error,
    reply,
    send_captioned,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.hooks import register_audience

log = logging.getLogger(__name__)

PREFIX = "rp"
FLOW = "report"
STEP = "collect"
COMMENT_FLOW = "report_comment"
COMMENT_STEP = "text"
#: Report text is shown to reviewers in chunks of this many characters (under 4096
#: with the header, after HTML parsing).
CHUNK = 3500
#: Telegram accepts bot uploads up to 50 MB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_FORM_LABELS = {"text": N_("text"), "document": N_("document"), "photo": N_("photo")}


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("report", report_command, filters=private))
    app.add_handler(CommandHandler("reports", reports_command, filters=private))
    actions = {
        "submit": _on_submit,
        "cancel": _on_cancel,
        "ack": _on_ack,
        "comment": _on_comment,
        "nudge": _on_nudge,
    }
    app.add_handler(CallbackQueryHandler(button_router(PREFIX, actions), pattern=pattern(PREFIX)))
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(FLOW, STEP, collect_step)
    router.add(COMMENT_FLOW, COMMENT_STEP, comment_step)
    registry.command("report", N_("Hand in a thought report"), [Audience.MEMBER], order=30)
    registry.command(
        "reports",
        N_("Thought reports: who handed in, who is overdue"),
        [Audience.REVIEWER],
        order=31,
    )
    registry.exporter(
        "reports", N_("Thought reports of a period (ZIP)"), [Audience.REVIEWER], export_reports
    )
    registry.badge(_member_badge)
    registry.badge(_reviewer_badge)
    register_audience("report_quarterly", _audience_quarterly)
    register_audience("report_half_yearly", _audience_half_yearly)


async def _audience_quarterly(services: Services, branch_id: int, deadline: date) -> set[int]:
    return await services.reports.owing_for_deadline(branch_id, "report_quarterly", deadline)


async def _audience_half_yearly(services: Services, branch_id: int, deadline: date) -> set[int]:
    return await services.reports.owing_for_deadline(branch_id, "report_half_yearly", deadline)


# -- badges ------------------------------------------------------------------------------
async def _member_badge(ctx: BranchContext) -> str | None:
    if not ctx.viewer.is_member or ctx.viewer.status is None:
        return None
    status = await ctx.svc.reports.member_status(ctx.viewer)
    if not status.outstanding:
        return None
    periods = "、".join(period_label(o.period, ctx.gettext) for o in status.outstanding)
    return ctx.gettext("Thought report still due: {periods} (/report).").format(periods=periods)


async def _reviewer_badge(ctx: BranchContext) -> str | None:
    count = await ctx.svc.reports.unacknowledged_count(ctx.viewer)
    if not count:
        return None
    return ctx.ngettext(
        "{n} thought report waiting to be read.", "{n} thought reports waiting to be read.", count
    ).format(n=count)


# -- /report -----------------------------------------------------------------------------
def _status_lines(status: MemberStatus, _: Gettext, *, applicant: bool = False) -> list[str]:
    period = period_label(status.counts_for, _)
    if not status.required and applicant:
        return [
            _(
                "As an applicant you owe no thought reports yet (they start when you are an "
                "activist), but you may hand one in. It will be filed under <b>{period}</b>."
            ).format(period=period)
        ]
    if not status.required:
        return [
            _(
                "As a full member you owe no thought reports, but you may hand one in "
                "voluntarily. It will be filed under <b>{period}</b>."
            ).format(period=period)
        ]
    lines = [_("This report counts for <b>{period}</b>.").format(period=period)]
    if status.handed_in:
        lines.append(
            _(
                "You have already handed in {n} report(s) for this period; a new one is added."
            ).format(n=status.handed_in)
        )
    if status.outstanding:
        lines.append(_("Still due:"))
        for item in status.outstanding:
            label = period_label(item.period, _)
            if item.overdue:
                lines.append("• " + _("{period} — overdue").format(period=label))
            else:
                lines.append(
                    "• "
                    + _("{period} — due by {date}").format(
                        period=label, date=item.period.end.isoformat()
                    )
                )
    else:
        lines.append(_("Nothing is due: your reports are up to date."))
    return lines


def _draft_markup(_: Gettext) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                button("📤 " + _("Submit"), Callback(PREFIX, 0, "submit")),
                button("✖ " + _("Cancel"), Callback(PREFIX, 0, "cancel")),
            ]
        ]
    )


async def report_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    try:
        status = await ctx.svc.reports.member_status(viewer)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    existing = await ctx.svc.dialogs.get(viewer.telegram_user_id)
    draft = existing.text_buffer if existing is not None and existing.flow == FLOW else None
    if existing is None or existing.flow != FLOW:
        await ctx.svc.dialogs.set(viewer.telegram_user_id, FLOW, STEP, {"parts": 0})
    applicant = viewer.status is PersonStatus.APPLICANT
    lines = [_("<b>Thought report</b>"), *_status_lines(status, _, applicant=applicant), ""]
    lines.append(
        _(
            "Send the report as text — a long report may come in several messages; tap "
            "<b>Submit</b> when it is complete. Or send it as one file: PDF, Word (DOC, "
            "DOCX) or an image (JPG, PNG), at most {limit} MB. /cancel stops."
        ).format(limit=MAX_FILE_MB)
    )
    markup = None
    if draft:
        parts = int(existing.data.get("parts", 0)) if existing is not None else 0
        lines.append("")
        lines.append(
            _("Your draft is kept: {parts} part(s), {chars} characters.").format(
                parts=parts, chars=len(draft)
            )
        )
        markup = _draft_markup(_)
    await reply(update, ctx, "\n".join(lines), markup)


async def collect_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    assert message is not None
    viewer = ctx.viewer
    if message.text is not None:
        buffer = dialog.text_buffer or ""
        joined = f"{buffer}\n{message.text}" if buffer else message.text
        if len(joined.strip()) > MAX_REPORT_CHARS:
            await reply(
                update,
                ctx,
                _(
                    "This part was not added: the report would be {n} characters long, and a "
                    "text report can be at most {limit}. Submit what you have, send the whole "
                    "report as a PDF or Word file, or /cancel."
                ).format(n=len(joined), limit=MAX_REPORT_CHARS),
                _draft_markup(_) if buffer else None,
            )
            return
        parts = int(dialog.data.get("parts", 0)) + 1
        await ctx.svc.dialogs.set(
            viewer.telegram_user_id, FLOW, STEP, {"parts": parts}, text_buffer=joined
        )
        await reply(
            update,
            ctx,
            _(
                "Part {parts} received ({chars} characters in all). Send more, or tap "
                "<b>Submit</b> when the report is complete."
            ).format(parts=parts, chars=len(joined)),
            _draft_markup(_),
        )
        return
    incoming = _incoming_file(message)
    if incoming is None:
        await reply(
            update,
            ctx,
            _(
                "A thought report can be text, or a PDF, Word (DOC, DOCX) or image file of "
                "at most {limit} MB. /cancel stops."
            ).format(limit=MAX_FILE_MB),
        )
        return
    if dialog.text_buffer:
        await reply(
            update,
            ctx,
            _(
                "You have already started a text report. Submit it (or /cancel it) first, "
                "then send the file with /report."
            ),
            _draft_markup(_),
        )
        return
    await _take_file(update, ctx, incoming, message.caption)


def _incoming_file(message: Message) -> IncomingFile | None:
    if message.document is not None:
        doc = message.document
        return IncomingFile(
            "document", doc.file_id, doc.file_unique_id, doc.file_name, doc.mime_type, doc.file_size
        )
    if message.photo:
        photo = message.photo[-1]
        return IncomingFile(
            "photo", photo.file_id, photo.file_unique_id, None, "image/jpeg", photo.file_size
        )
    return None


async def _download(ctx: BranchContext, file_id: str) -> bytes | None:
    try:
        tg_file = await ctx.bot.get_file(file_id)
        return bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download report file %s: %s", file_id, exc)
        return None


async def _take_file(
    update: Update, ctx: BranchContext, incoming: IncomingFile, caption: str | None
) -> None:
    quota = ctx.runtime.settings.report_quota
    try:
        check_file(incoming)
        await ctx.svc.reports.check_quota(ctx.viewer, quota)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = await _download(ctx, incoming.file_id)
    try:
        view = await ctx.svc.reports.submit_file(
            ctx.viewer,
            incoming,
            data,
            ctx.runtime.settings.storage_dir,
            caption=caption,
            quota=quota,
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await _confirm_and_forward(update, ctx, view)


async def _confirm_and_forward(update: Update, ctx: BranchContext, view: ReportView) -> None:
    _ = ctx.gettext
    lines = [
        _(
            "✅ Your thought report for <b>{period}</b> was handed in ({form}). The secretary "
            "has been told; I will let you know when it has been read."
        ).format(period=key_label(view.period_key, _), form=_(_FORM_LABELS[view.kind]))
    ]
    status = await ctx.svc.reports.member_status(ctx.viewer)
    if status.required and status.outstanding:
        lines.extend(_status_lines(status, _)[-len(status.outstanding) - 1 :])
    await reply(update, ctx, "\n".join(lines))
    # Once the report is committed (the buttons name it); the member is told if no
    # reviewer could be reached after all.
    reviewers = await ctx.svc.reports.reviewers(view.branch_id, exclude_person=view.person_id)
    forward_to_reviewers(ctx, [partial(send_for_review, ctx, r, view) for r in reviewers])


# -- showing a report to a reviewer ---------------------------------------------------------
def _review_markup(t: Gettext, view: ReportView) -> InlineKeyboardMarkup:
    ack = (
        "✅ " + t("Read by {name}").format(name=view.acknowledged_by)
        if view.acknowledged_by
        else "✅ " + t("Acknowledge")
    )
    return keyboard(
        [
            [
                button(ack, Callback(PREFIX, view.id, "ack")),
                button("💬 " + t("Comment"), Callback(PREFIX, view.id, "comment")),
            ]
        ]
    )


def _review_header(t: Gettext, view: ReportView) -> str:
    period = key_label(view.period_key, t)
    if not view.required:
        period = t("{period} (voluntary)").format(period=period)
    return t("<b>Thought report</b> from {name} ({status}) for {period}, handed in {date}.").format(
        name=esc(view.person_name),
        status=t(view.status.label),
        period=period,
        date=view.submitted_on.isoformat(),
    )


async def _guarded(
    ctx: BranchContext, telegram_user_id: int, send: Callable[[], Awaitable[Message]]
) -> Message | None:
    try:
        return await send()
    except Forbidden as exc:
        log.warning("cannot message %s: %s", telegram_user_id, exc)
        await ctx.svc.membership.mark_blocked(telegram_user_id)
    except TelegramError as exc:
        log.warning("message to %s failed: %s", telegram_user_id, exc)
    return None


async def send_for_review(ctx: BranchContext, telegram_user_id: int, view: ReportView) -> bool:
    """Show a report to one reviewer, in their language, with Acknowledge / Comment."""
    reader = await reader_for(ctx.svc, telegram_user_id)  # the recipient's language
    t = reader.gettext
    header = _review_header(t, view)
    markup = _review_markup(t, view)
    bot = ctx.bot
    if view.kind == "text":
        chunks = chunk_text(view.text or "", CHUNK)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            head = (
                header
                if index == 0
                else t("(continued, part {i} of {n})").format(i=index + 1, n=len(chunks))
            )

            def send(
                text: str = f"{head}\n\n{esc(chunk)}", last: bool = last
            ) -> Awaitable[Message]:
                return bot.send_message(
                    telegram_user_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if last else None,
                )

            if await _guarded(ctx, telegram_user_id, send) is None:
                return False
        return True
    caption = header
    if view.text:
        caption += "\n" + t("Note: {note}").format(note=esc(view.text))
    storage = ctx.runtime.settings.storage_dir

    async def media(text: str, buttons: InlineKeyboardMarkup | None) -> Message:
        kwargs = {"caption": text, "parse_mode": ParseMode.HTML, "reply_markup": buttons}
        try:
            if view.kind == "photo":
                return await bot.send_photo(telegram_user_id, view.file_id or "", **kwargs)  # type: ignore[arg-type]
            return await bot.send_document(telegram_user_id, view.file_id or "", **kwargs)  # type: ignore[arg-type]
        except BadRequest:
            # The file id belongs to another bot account: upload the local copy.
            data = read_copy(storage, view.local_path)
            if data is None:
                raise
            return await bot.send_document(
                telegram_user_id,
                data,
                filename=sheets.zip_name(view.file_name or "report", 120, default="report"),
                **kwargs,  # type: ignore[arg-type]
            )

    async def send_file() -> Message:
        # A long note (emoji count double) follows as a message: never refused, never lost.
        return await send_captioned(bot, telegram_user_id, caption, markup, media)

    return await _guarded(ctx, telegram_user_id, send_file) is not None


# -- buttons --------------------------------------------------------------------------------
async def _on_submit(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    dialog = await ctx.svc.dialogs.get(viewer.telegram_user_id)
    if dialog is None or dialog.flow != FLOW or not (dialog.text_buffer or "").strip():
        await answer_callback(
            update, _("There is no report draft to submit. Send /report to start one."), alert=True
        )
        return
    # A refusal (empty, too long, over the quota) becomes an alert (button_router).
    view = await ctx.svc.reports.submit_text(
        viewer, dialog.text_buffer or "", quota=ctx.runtime.settings.report_quota
    )
    await ctx.svc.dialogs.clear(viewer.telegram_user_id)
    await answer_callback(update, _("Submitted."))
    await _drop_markup(update)
    await _confirm_and_forward(update, ctx, view)


async def _on_cancel(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
    if dialog is not None and dialog.flow == FLOW:
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        await answer_callback(update, _("Cancelled. The draft was discarded."))
    else:
        await answer_callback(update, _("There is nothing to cancel."))
    await _drop_markup(update)


async def _drop_markup(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)


async def _on_ack(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    view = await ctx.svc.reports.acknowledge(ctx.viewer, cb.id)
    await answer_callback(
        update, _("Acknowledged. {name} will be told.").format(name=view.person_name)
    )
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=_review_markup(_, view))
    if view.member_telegram_id is None:
        return
    period = view.period_key
    reader = view.acknowledged_by or ""

    def render(r: Reader) -> tuple[str, None]:
        t = r.gettext
        return t(
            "📖 Your thought report for <b>{period}</b> (handed in {date}) has been read by {name}."
        ).format(
            period=key_label(period, t), date=r.date(view.submitted_on), name=esc(reader)
        ), None

    await notify(ctx, view.member_telegram_id, render)


async def _on_comment(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    view = await ctx.svc.reports.for_review(viewer, cb.id)
    existing = await ctx.svc.dialogs.get(viewer.telegram_user_id)
    if existing is not None and existing.flow != COMMENT_FLOW:
        await answer_callback(
            update,
            _("Finish what you are doing first (or send /cancel), then tap Comment again."),
            alert=True,
        )
        return
    await ctx.svc.dialogs.set(
        viewer.telegram_user_id, COMMENT_FLOW, COMMENT_STEP, {"report_id": view.id}
    )
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(
            "Send your comment on {name}'s thought report for {period} as one message "
            "(at most {limit} characters). /cancel stops."
        ).format(
            name=esc(view.person_name),
            period=key_label(view.period_key, _),
            limit=MAX_COMMENT_CHARS,
        ),
    )


async def comment_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    assert message is not None
    viewer = ctx.viewer
    if message.text is None:
        await reply(update, ctx, _("Please send the comment as text, or /cancel."))
        return
    report_id = int(dialog.data.get("report_id", 0))
    try:
        result = await ctx.svc.reports.comment(viewer, report_id, message.text)
    except (NotAllowed, NotFound) as exc:
        await ctx.svc.dialogs.clear(viewer.telegram_user_id)
        await reply(update, ctx, render_error(ctx, exc))
        return
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(viewer.telegram_user_id)
    view = result.report
    await reply(
        update, ctx, _("Your comment was sent to {name}.").format(name=esc(view.person_name))
    )
    if view.member_telegram_id is None:
        return
    author = viewer.full_name or viewer.display_name
    text = message.text.strip()

    def render(r: Reader) -> tuple[str, None]:
        t = r.gettext
        lines = [
            t("💬 {name} commented on your thought report for <b>{period}</b>:").format(
                name=esc(author), period=key_label(view.period_key, t)
            ),
            "",
            esc(text),
        ]
        if result.newly_acknowledged:
            lines += ["", t("Your report has been read.")]
        return "\n".join(lines), None

    await notify(ctx, view.member_telegram_id, render)


async def _on_nudge(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    try:
        period = parse_period(cb.arg or "")
    except ValueError:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    result = await ctx.svc.reports.nudge(ctx.viewer, cb.id, period)
    sent = 0
    for target in result.targets:
        owed = target.period

        def render(r: Reader, owed: Period = owed) -> tuple[str, None]:
            t = r.gettext
            return t(
                "🔔 Reminder from your branch secretary: your thought report for "
                "<b>{period}</b> has not been handed in yet (due by {date}). Send /report "
                "to hand it in."
            ).format(period=period_label(owed, t), date=r.date(owed.end)), None

        await notify(ctx, target.telegram_id, render)  # sent once this update commits
        sent += 1
    if result.targets:
        summary = ctx.ngettext("Reminded {n} person.", "Reminded {n} people.", sent).format(n=sent)
    else:
        summary = _("Nobody to remind.")
    if result.already_today:
        summary += " " + ctx.ngettext(
            "{n} was already reminded today.",
            "{n} were already reminded today.",
            result.already_today,
        ).format(n=result.already_today)
    await answer_callback(update, summary, alert=True)
    if result.unreachable:
        await reply(
            update,
            ctx,
            _("Not on Telegram, please remind them in person: {names}").format(
                names="、".join(esc(n) for n in result.unreachable)
            ),
        )


# -- /reports ---------------------------------------------------------------------------------
def _parse_period_arg(args: list[str]) -> Period | None:
    if not args:
        return None
    return parse_period(args[0])


async def reports_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    try:
        period = _parse_period_arg(list(ctx.args or []))
    except ValueError:
        await reply(
            update,
            ctx,
            _(
                "I do not understand that period. Use a quarter like 2026Q3 or a half "
                "year like 2026H2."
            ),
        )
        return
    try:
        overview = await ctx.svc.reports.overview(viewer, period)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    p = overview.period
    lines = [
        _("<b>Thought reports — {period}</b> ({start} to {end})").format(
            period=period_label(p, _), start=p.start.isoformat(), end=p.end.isoformat()
        ),
        "",
        _("Handed in ({n}):").format(n=len(overview.submitted)),
    ]
    if not overview.submitted:
        lines.append("• " + _("none yet"))
    for report in overview.submitted:
        read = (
            _("read by {name}").format(name=esc(report.acknowledged_by))
            if report.acknowledged_by
            else _("not read yet")
        )
        period_text = key_label(report.period_key, _)
        if not report.required:
            period_text = _("{period} (voluntary)").format(period=period_text)
        lines.append(
            "• "
            + _("{name} ({status}) — {period}, handed in {date}, {form}, {read}").format(
                name=esc(report.person_name),
                status=_(report.status.label),
                period=period_text,
                date=report.submitted_on.isoformat(),
                form=_(_FORM_LABELS.get(report.kind, report.kind)),
                read=read,
            )
        )
    overdue = [o for o in overview.owed if o.overdue]
    pending = [o for o in overview.owed if not o.overdue]
    lines.append("")
    lines.append(_("Overdue ({n}):").format(n=len(overdue)))
    if not overdue:
        lines.append("• " + _("nobody"))
    for row in overdue:
        lines.append(
            "• "
            + _("{name} ({status}) — {period}").format(
                name=esc(row.name), status=_(row.status.label), period=period_label(row.period, _)
            )
        )
    if pending:
        lines.append("")
        lines.append(_("Not handed in yet, period still running ({n}):").format(n=len(pending)))
        for row in pending:
            lines.append(
                "• "
                + _("{name} ({status}) — {period}, due by {date}").format(
                    name=esc(row.name),
                    status=_(row.status.label),
                    period=period_label(row.period, _),
                    date=row.period.end.isoformat(),
                )
            )
    lines.append("")
    lines.append(
        _(
            "Probationary members owe one report per quarter, activists and development "
            "targets one per half year; full members owe none."
        )
    )
    markup = None
    if overview.owed and viewer.branch_id is not None:
        people = len({o.person_id for o in overview.owed})
        markup = keyboard(
            [
                [
                    button(
                        "🔔 "
                        + ctx.ngettext(
                            "Remind the {n} person who still owes",
                            "Remind the {n} people who still owe",
                            people,
                        ).format(n=people),
                        Callback(PREFIX, viewer.branch_id, "nudge", p.key),
                    )
                ]
            ]
        )
    await reply(update, ctx, "\n".join(lines), markup)


# -- /export reports --------------------------------------------------------------------------
async def export_reports(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    try:
        period = _parse_period_arg(args)
    except ValueError:
        await reply(
            update,
            ctx,
            _(
                "I do not understand that period. Use a quarter like 2026Q3 or a half "
                "year like 2026H2."
            ),
        )
        return
    if period is None:
        period = Quarter.of(ctx.svc.reports.today(viewer))
    try:
        reports = await ctx.svc.reports.for_export(viewer, period)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    if not reports:
        await reply(
            update,
            ctx,
            _("No thought reports for {period}.").format(period=period_label(period, _)),
        )
        return
    storage: Path = ctx.runtime.settings.storage_dir
    # Each file is read from its local copy while the ZIP is written (a temporary file):
    # a period's files are never all in memory. A copy that is missing is fetched again
    # from Telegram and kept.
    paths: dict[int, Path] = {}
    fetched: dict[int, bytes] = {}
    for report in reports:
        if report.kind == "text":
            continue
        path = copy_path(storage, report.local_path)
        if path is None and report.file_id:
            data = await _download(ctx, report.file_id)
            if data is not None:
                try:
                    local = await ctx.svc.reports.store_copy(report.id, data, storage)
                except OSError:
                    log.exception("could not keep a copy of report %s", report.id)
                    fetched[report.id] = data
                else:
                    path = copy_path(storage, local)
                    if path is None:
                        fetched[report.id] = data
        if path is not None:
            paths[report.id] = path
    zone = viewer.branch_timezone or "Asia/Shanghai"
    with tempfile.TemporaryFile(prefix="reports-", suffix=".zip") as out:
        build_zip(reports, period, lambda r: paths.get(r.id) or fetched.get(r.id), _, zone, out)
        size = out.tell()
        if size > MAX_UPLOAD_BYTES:
            await reply(
                update,
                ctx,
                _(
                    "The export is too large to send through Telegram ({size} MB). The files "
                    "are kept in the bot's storage folder; please ask the administrator."
                ).format(size=f"{size / (1024 * 1024):.1f}"),
            )
            return
        out.seek(0)
        chat = update.effective_chat
        assert chat is not None
        missing = sum(
            1 for r in reports if r.kind != "text" and r.id not in paths and r.id not in fetched
        )
        caption = ctx.ngettext(
            "Thought reports — {period}: {n} report.",
            "Thought reports — {period}: {n} reports.",
            len(reports),
        ).format(period=period_label(period, _), n=len(reports))
        if missing:
            caption += " " + _("{n} file(s) could not be fetched.").format(n=missing)
        await ctx.bot.send_document(
            chat.id,
            out,
            filename=f"thought-reports-{period.key}.zip",
            caption=caption,
            parse_mode=ParseMode.HTML,
        )
