# i18n-domain: pipeline
"""``/pipeline`` (发展党员): the candidates, each one's file, recording the next procedure
(a note or document, two people, a score, hours, a public notice), opening the votes;
``/export pipeline [YEAR]``; reminders of due procedures and the Monday digest."""

from __future__ import annotations

import logging
import os
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from domain import sheets
from domain.dialogs import Dialog
from domain.errors import Conflict, DomainError
from domain.pipeline import (
    MAX_NOTE_CHARS,
    REVIEWERS_ONLY,
    DueItem,
    RecordResult,
    StepRefused,
)
from domain.pipeline_export import documents_zip, pipeline_workbook
from domain.pipeline_polls import EXTENSION_CHOICES
from domain.pipeline_rules import STEP_BY_CODE, Input, PollKind, parse_hours, parse_score
from domain.reader import Reader
from domain.reports import ALLOWED_TYPES
from domain.roles import Audience
from domain.services import Services
from handlers.callbacks import Callback, pattern
from handlers.common import (
    answer_callback,
    button,
    button_router,
    esc,
    keyboard,
    notify,
    paged_rows,
    queue_broadcast,
    render_error,
    reply,
    send_file,
)
from handlers.dialog import DialogRouter
from handlers.pipeline_views import (
    PREFIX,
    ballot_view,
    dossier_view,
    notice_text,
    pipeline_error,
)
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.deliveries import drain

log = logging.getLogger(__name__)

FLOW = "pipeline"
STEP = "input"


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("pipeline", pipeline_command, filters=private))
    actions = {
        "list": _on_list,
        "open": _on_open,
        "step": _on_step,
        "rec": _on_record,
        "poll": _on_poll,
        "ext": _on_extend,
        "adopt": _on_adopt,
    }
    app.add_handler(CallbackQueryHandler(button_router(PREFIX, actions), pattern=pattern(PREFIX)))
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(FLOW, STEP, input_step)
    registry.command(
        "pipeline",
        N_("Admission pipeline (发展党员): candidates' files"),
        [Audience.REVIEWER],
        order=35,
    )
    registry.exporter(
        "pipeline",
        N_("Admission files and the year's register (XLSX)"),
        [Audience.REVIEWER],
        export_pipeline,
    )
    registry.periodic(
        "pipeline.reminders", timedelta(minutes=30), remind_due, first=timedelta(minutes=2)
    )


# -- the list and a file -------------------------------------------------------------------
async def _list_view(ctx: BranchContext, page: int = 0) -> tuple[str, Any]:
    _ = ctx.gettext
    people = await ctx.svc.pipeline.candidates(ctx.viewer)
    if not people:
        return _(
            "No one is in the admission pipeline yet. Applicants join with the branch code "
            "(approve them as “applicant”) or come from the roster."
        ), None
    lines = [_("<b>Admission pipeline (发展党员)</b>")]
    for _pid, name, stage, nxt in people:
        step = _(nxt) if nxt else _("complete")
        lines.append(f"• {esc(name)} — {esc(_(stage.label))} · {esc(step)}")
    buttons = [button(name, Callback(PREFIX, pid, "open")) for pid, name, _s, _n in people]
    rows, _page = paged_rows(_, buttons, page, lambda p: Callback(PREFIX, 0, "list", str(p)))
    return "\n".join(lines), keyboard(rows)


async def pipeline_command(update: Update, ctx: BranchContext) -> None:
    try:
        text, markup = await _list_view(ctx)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(update, ctx, text, markup)


async def _on_list(update: Update, ctx: BranchContext, cb: Callback) -> None:
    page = int(cb.arg) if cb.arg and cb.arg.isdigit() else 0
    text, markup = await _list_view(ctx, page)
    await answer_callback(update)
    await reply(update, ctx, text, markup)


async def _on_open(update: Update, ctx: BranchContext, cb: Callback) -> None:
    dossier = await ctx.svc.pipeline.dossier(ctx.viewer, cb.id)
    await answer_callback(update)
    await reply(update, ctx, *dossier_view(ctx.gettext, dossier))


async def _on_adopt(update: Update, ctx: BranchContext, cb: Callback) -> None:
    try:
        dossier = await ctx.svc.pipeline.adopt(ctx.viewer, cb.id)
    except DomainError as exc:  # a double tap: the file has its procedures
        await answer_callback(update, pipeline_error(ctx, exc), alert=True)
        return
    await answer_callback(update, ctx.gettext("Done."))
    await reply(update, ctx, *dossier_view(ctx.gettext, dossier))


# -- recording a procedure -------------------------------------------------------------
_ASK = {
    Input.NOTE: N_(
        "<b>{step}</b>\nSend a note (at most {limit} characters) or the document (PDF, Word, "
        "image), or tap <b>Record</b> to record it today without one. /cancel stops."
    ),
    Input.PEOPLE: N_(
        "<b>{step}</b>\nSend the names of the two people, as on the roster, separated by "
        "a space or 、. /cancel stops."
    ),
    Input.SCORE: N_("<b>{step}</b>\nSend the score (0–100; the pass mark is 80). /cancel stops."),
    Input.HOURS: N_(
        "<b>{step}</b>\nSend the hours of study (e.g. 24) or the days (e.g. 3天). /cancel stops."
    ),
}


async def _on_step(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    code = cb.arg or ""
    try:
        step = await ctx.svc.pipeline.check(ctx.viewer, cb.id, code)
    except DomainError as exc:
        await answer_callback(update, pipeline_error(ctx, exc), alert=True)
        return
    await answer_callback(update)
    if step.input is Input.NOTICE:
        await _record(update, ctx, cb.id, code)
        return
    if step.input is Input.POLL:
        await reply(
            update, ctx, _("This procedure is a vote: open it with “Open the vote” in the file.")
        )
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, FLOW, STEP, {"person": cb.id, "code": code}
    )
    markup = None
    if step.input is Input.NOTE:
        markup = keyboard([[button("✅ " + _("Record"), Callback(PREFIX, cb.id, "rec", code))]])
    await reply(
        update,
        ctx,
        _(_ASK[step.input]).format(step=esc(_(step.label)), limit=MAX_NOTE_CHARS),
        markup,
    )


async def _on_record(update: Update, ctx: BranchContext, cb: Callback) -> None:
    code = cb.arg or ""
    step = STEP_BY_CODE.get(code)
    if step is None or step.input not in (Input.NOTE, Input.NOTICE):
        await answer_callback(update, ctx.gettext("This button is no longer valid."), alert=True)
        return
    try:
        await ctx.svc.pipeline.check(ctx.viewer, cb.id, code)
    except DomainError as exc:  # a double tap, a stale or forged button: an alert
        await answer_callback(update, pipeline_error(ctx, exc), alert=True)
        return
    await answer_callback(update)
    await _record(update, ctx, cb.id, code)


async def _record(
    update: Update, ctx: BranchContext, person_id: int, code: str, **kwargs: Any
) -> bool:
    """Record the procedure and answer; True when the input was refused and may be sent
    again (the dialog stays open: a score below the pass mark, a wrong name…)."""
    try:
        result = await ctx.svc.pipeline.record(ctx.viewer, person_id, code, **kwargs)
    except DomainError as exc:
        await reply(update, ctx, pipeline_error(ctx, exc))
        return isinstance(exc, Conflict) and not isinstance(exc, StepRefused)
    dialog = await ctx.svc.dialogs.get(ctx.viewer.telegram_user_id)
    if dialog is not None and dialog.flow == FLOW:
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await after_record(update, ctx, result)
    return False


async def after_record(update: Update, ctx: BranchContext, result: RecordResult) -> None:
    """Tell the secretary, the candidate (a new status) and the members (a notice)."""
    _ = ctx.gettext
    step_label = result.step.label
    await reply(
        update,
        ctx,
        "✅ "
        + _("Recorded: {step} ({date}).").format(
            step=esc(_(step_label)), date=result.dossier.today.isoformat()
        ),
    )
    await reply(update, ctx, *dossier_view(_, result.dossier))
    await _announce_status(ctx, result)
    await _post_notice(ctx, result)


async def _announce_status(ctx: BranchContext, result: RecordResult) -> None:
    """The candidate learns their new status (in their own language)."""
    status = result.status
    candidate = await ctx.svc.pipeline.telegram_of(result.dossier.person_id)
    if status is None or candidate is None:
        return

    def status_text(r: Reader) -> tuple[str, None]:
        return r.gettext("Your status in the branch is now: <b>{status}</b>.").format(
            status=esc(r.label(status.label))
        ), None

    await notify(ctx, candidate, status_text)


async def _post_notice(ctx: BranchContext, result: RecordResult) -> None:
    """A public notice (公示) to every member, through the deliveries outbox (a branch
    may have hundreds), each in their language."""
    notice = result.notice
    if notice is None or not notice.members:
        return
    branch = ctx.viewer.branch_name or ""

    def render(r: Reader, _tid: int) -> list[tuple[str, int | None]]:
        return [(notice_text(r, branch, notice), None)]

    await queue_broadcast(ctx.svc, notice.members, render)
    app = ctx.application
    ctx.after_commit(lambda: _background(app, drain(app)))


async def _background(app: Any, work: Coroutine[Any, Any, object]) -> None:
    app.create_task(work, name="pipeline-notice")


_DOC_EXTENSIONS = frozenset(ALLOWED_TYPES)


async def input_step(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    message = update.effective_message
    assert message is not None
    person_id = int(dialog.data.get("person", 0))
    code = str(dialog.data.get("code", ""))
    step = STEP_BY_CODE.get(code)
    if step is None or not ctx.viewer.is_reviewer:
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        await reply(update, ctx, render_error(ctx, DomainError(REVIEWERS_ONLY)))
        return
    kwargs: dict[str, Any] = {}
    text = message.text
    if step.input is Input.NOTE:
        document = _document(message)
        if document is not None:
            file_id, name = document
            if os.path.splitext(name)[1].lower() not in _DOC_EXTENSIONS:
                await reply(
                    update,
                    ctx,
                    _("I cannot accept {name}: send a PDF, Word (DOC, DOCX) or image file.").format(
                        name=esc(name)
                    ),
                )
                return
            kwargs = {"file_id": file_id, "file_name": name[:255], "note": message.caption}
        elif text is not None:
            if len(text) > MAX_NOTE_CHARS:
                await reply(
                    update,
                    ctx,
                    _("A note can be at most {n} characters.").format(n=MAX_NOTE_CHARS),
                )
                return
            kwargs = {"note": text}
    elif text is None:
        pass
    elif step.input is Input.PEOPLE:
        try:
            kwargs = {"people": await ctx.svc.pipeline.people_by_names(ctx.viewer, text)}
        except DomainError as exc:
            await reply(update, ctx, pipeline_error(ctx, exc))
            return
    elif step.input is Input.SCORE:
        kwargs = {"number": parse_score(text)}
    elif step.input is Input.HOURS:
        kwargs = {"number": parse_hours(text)}
    if not kwargs:
        await reply(
            update,
            ctx,
            _(_ASK.get(step.input, _ASK[Input.NOTE])).format(
                step=esc(_(step.label)), limit=MAX_NOTE_CHARS
            ),
        )
        return
    if not await _record(update, ctx, person_id, code, **kwargs):
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)


def _document(message: Message) -> tuple[str, str] | None:
    if message.document is not None:
        return message.document.file_id, message.document.file_name or "document"
    if message.photo:
        return message.photo[-1].file_id, "photo.jpg"
    return None


# -- votes -------------------------------------------------------------------------------
async def _on_poll(update: Update, ctx: BranchContext, cb: Callback) -> None:
    step = STEP_BY_CODE.get(cb.arg or "")
    if step is None or step.poll is None:
        await answer_callback(update, ctx.gettext("This button is no longer valid."), alert=True)
        return
    await _open_poll(update, ctx, cb.id, step.poll, None)


async def _on_extend(update: Update, ctx: BranchContext, cb: Callback) -> None:
    months = int(cb.arg) if cb.arg and cb.arg.isdigit() else 0
    if months not in EXTENSION_CHOICES:
        await answer_callback(update, ctx.gettext("This button is no longer valid."), alert=True)
        return
    await _open_poll(update, ctx, cb.id, PollKind.EXTEND, months)


async def _open_poll(
    update: Update, ctx: BranchContext, person_id: int, kind: PollKind, months: int | None
) -> None:
    _ = ctx.gettext
    try:
        opened = await ctx.svc.pipeline_polls.open(ctx.viewer, person_id, kind, months)
    except DomainError as exc:
        await answer_callback(update, pipeline_error(ctx, exc), alert=True)
        return
    await answer_callback(update)
    poll = opened.poll
    await reply(
        update,
        ctx,
        _(
            "🗳 The vote is open: {n} entitled voters were sent a ballot. Close it with "
            "the button in the file or in /vote to count."
        ).format(n=poll.entitled),
    )
    for voter in opened.voters:
        await notify(ctx, voter, lambda r: ballot_view(r, poll))


# -- export --------------------------------------------------------------------------------
async def export_pipeline(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    try:
        dossiers = await ctx.svc.pipeline.export_rows(ctx.viewer)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    today = ctx.svc.clock.now().date()
    year = today.year
    if args:
        if not (args[0].isascii() and args[0].isdigit() and 2000 <= int(args[0]) <= 2100):
            await reply(update, ctx, _("Send the year as four digits, e.g. /export pipeline 2026."))
            return
        year = int(args[0])
    ids = {p for d in dossiers for s in d.steps for p in s.value.get("people", [])}
    names = await ctx.svc.pipeline.names(ids)
    data = pipeline_workbook(dossiers, year, _, names)
    await ctx.svc.pipeline.audit(
        "pipeline.export", actor=ctx.viewer, subject_type="year", subject_id=year
    )
    await send_file(
        update,
        ctx,
        data,
        f"pipeline-{year}.xlsx",
        _("Admission files and the register of {year}.").format(year=year),
    )
    files: list[tuple[str, bytes]] = []
    missing = 0
    for d in dossiers:
        for s in d.steps:
            if s.file_id is None:
                continue
            content = await _download(ctx, s.file_id)
            if content is None:
                missing += 1
                continue
            day = s.done_on.isoformat() if s.done_on else ""
            name = sheets.zip_name(f"{day}-{s.code}-{s.file_name}", 255)
            files.append((f"{sheets.zip_name(d.name, default='candidate')}/{name}", content))
    if files:
        await send_file(
            update,
            ctx,
            documents_zip(files),
            f"pipeline-documents-{year}.zip",
            _("The documents of the admission files ({n}).").format(n=len(files)),
        )
    if missing:
        await reply(
            update,
            ctx,
            _("{n} document(s) could not be fetched from Telegram and are not in the ZIP.").format(
                n=missing
            ),
        )


async def _download(ctx: BranchContext, file_id: str) -> bytes | None:
    try:
        tg_file = await ctx.bot.get_file(file_id)
        return bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download pipeline document %s: %s", file_id, exc)
        return None


# -- reminders and the Monday digest ------------------------------------------------------
async def remind_due(app: BranchApp) -> None:
    """Reminders to the branch's reviewers (and the candidate's training contacts) of
    procedures due within a week (once per procedure and latest date), and on Mondays a
    digest of every open file (once per week). Idempotent: each is recorded in
    ``pipeline_notices`` in the transaction that queues the messages in the deliveries
    outbox."""
    runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        branch_ids = await svc.pipeline.branch_ids()
    for branch_id in branch_ids:
        async with runtime.unit_of_work() as svc:
            await _remind_branch(svc, branch_id)


async def _remind_branch(svc: Services, branch_id: int) -> None:
    reviewers = await svc.pipeline.reviewer_telegram_ids(branch_id)
    today = await svc.pipeline.today(branch_id)
    for item in await svc.pipeline.due(branch_id):
        key = f"due:{item.person_id}:{item.step.code}:{item.latest.isoformat()}"
        if not await svc.pipeline.mark_sent(branch_id, key):
            continue
        recipients = list(dict.fromkeys([*reviewers, *item.contacts]))  # the contacts too

        def reminder(r: Reader, _tid: int, item: DueItem = item) -> list[tuple[str, int | None]]:
            if item.overdue:
                text = r.gettext("⏰ Overdue: {step} for {name} (latest date {date}). /pipeline")
            else:
                text = r.gettext("⏰ Due soon: {step} for {name} (latest date {date}). /pipeline")
            step = esc(r.label(item.step.label))
            return [(text.format(step=step, name=esc(item.name), date=r.date(item.latest)), None)]

        await queue_broadcast(svc, recipients, reminder)
    if today.weekday() != 0 or not reviewers:
        return
    year, week, _day = today.isocalendar()
    rows = await svc.pipeline.digest(branch_id)
    if not rows or not await svc.pipeline.mark_sent(branch_id, f"digest:{year}W{week:02d}"):
        return

    def digest(r: Reader, _tid: int) -> list[tuple[str, int | None]]:
        lines = [
            r.gettext("<b>Admission pipeline this week</b> ({date})").format(date=r.date(today))
        ]
        for name, stage, step, window in rows[:60]:
            line = f"• {esc(name)} — {esc(r.label(stage.label))}"
            if step is not None:
                line += " · " + esc(r.label(step.label))
                if window.earliest is not None and window.earliest > today:
                    line += " " + r.gettext("from {date}").format(date=r.date(window.earliest))
                if window.latest is not None:
                    line += " " + r.gettext("by {date}").format(date=r.date(window.latest))
            lines.append(line)
        return [("\n".join(lines), None)]

    await queue_broadcast(svc, reviewers, digest)
