"""Heart-to-heart talks in chat: ``/talks`` (my talks; record one or plan one with
another member; the secretary's coverage and party group tables), the planned talk's
"record" button, ``/export talks PERIOD``, and the daily reminders (planned talks, the
group leaders' quarter alert)."""

# i18n-domain: meetings

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain import talks_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.periods import Quarter, local_today
from domain.reader import Reader
from domain.roles import Audience
from domain.talks import GroupAlert, TalkReminder
from domain.talks_export import talks_workbook
from handlers.callbacks import Callback, pattern
from handlers.common import (
    LIST_PAGE_SIZE,
    BroadcastRender,
    Gettext,
    answer_callback,
    button,
    button_router,
    esc,
    keyboard,
    message_text,
    notify,
    page_rows,
    queue_broadcast,
    render_error,
    reply,
    send_file,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.deliveries import drain

PREFIX = "tk"
RECORD, PLAN, DONE = "tk_rec", "tk_plan", "tk_done"
SHOWN = 15
SUMMARY_PROMPT = N_(
    "Send a short summary of the talk (private to the two of you, the secretary and reviewers)."
)


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("talks", talks_command, filters=private))
    app.add_handler(CallbackQueryHandler(button_router(PREFIX, ACTIONS), pattern=pattern(PREFIX)))
    registry.command("talks", N_("Heart-to-heart talks"), [Audience.MEMBER], order=47)
    registry.exporter(
        "talks",
        N_("Talks: the party groups' talk tables of a quarter (PERIOD)"),
        [Audience.REVIEWER],
        export_talks,
    )
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(RECORD, "date", _record_date)
    router.add(RECORD, "summary", _record_summary)
    router.add(PLAN, "date", _plan_date)
    router.add(DONE, "summary", _done_summary)
    registry.periodic("talks.daily", timedelta(hours=1), run_talk_tasks, first=timedelta(minutes=4))


def talk_line(t: Gettext, talk: Any, me: int | None) -> str:
    other = talk.b_name if talk.a_id == me else talk.a_name
    state = t("took place") if talk.status == "held" else t("planned")
    return t("• {date} with {name} ({state})").format(
        date=talk.talk_on.isoformat(), name=esc(other), state=state
    )


async def talks_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_member or viewer.branch_timezone is None:
        await reply(update, ctx, _("Only members of a branch can do this."))
        return
    today = local_today(ctx.svc.clock.now(), viewer.branch_timezone)
    talks = await ctx.svc.talks.mine(viewer, today.year)
    lines = [_("<b>My heart-to-heart talks in {year}</b>").format(year=today.year)]
    if not talks:
        lines.append(_("None yet."))
    lines.extend(talk_line(_, talk, viewer.person_id) for talk in talks[-SHOWN:])
    rows = [
        [
            button(_("Record a talk"), Callback(PREFIX, 0, "rec", "0")),
            button(_("Plan a talk"), Callback(PREFIX, 0, "plan", "0")),
        ]
    ]
    for talk in talks[-SHOWN:]:
        if talk.status == "planned":
            other = talk.b_name if talk.a_id == viewer.person_id else talk.a_name
            rows.append(
                [
                    button(
                        _("Record the talk with {name}").format(name=other),
                        Callback(PREFIX, talk.id, "done"),
                    )
                ]
            )
    if viewer.is_reviewer:
        missing = await ctx.svc.talks.coverage(viewer, today.year)
        lines += [
            "",
            _("<b>No talk with a committee member in {year}:</b>").format(year=today.year),
        ]
        lines.append(_(", ").join(esc(n) for n in missing) if missing else _("Nobody."))
        quarter = Quarter.of(today)
        tables = await ctx.svc.talks.group_tables(viewer, quarter)
        lines += ["", _("<b>Party groups' talk tables {quarter}</b>").format(quarter=quarter.key)]
        for table in tables:
            name = esc(table.group or _("No party group"))
            lines.append(
                _("{group}: {talks} talks, without a talk: {missing}").format(
                    group=name,
                    talks=len(table.talks),
                    missing=_(", ").join(esc(n) for n in table.missing) or _("nobody"),
                )
            )
        lines.append(_("Download: /export talks {quarter}").format(quarter=quarter.key))
    await reply(update, ctx, "\n".join(lines), keyboard(rows))


# ------------------------------------------------------------------------- buttons
async def _people(update: Update, ctx: BranchContext, cb: Callback, pick: str) -> None:
    _ = ctx.gettext
    page = int(cb.arg) if cb.arg and cb.arg.isdigit() else 0
    people = await ctx.svc.talks.people(ctx.viewer, page, LIST_PAGE_SIZE)
    buttons = [button(p.name, Callback(PREFIX, p.person_id, pick)) for p in people.rows]
    rows = page_rows(
        _, buttons, people.page, people.pages, lambda p: Callback(PREFIX, 0, cb.action, str(p))
    )
    await answer_callback(update)
    await reply(update, ctx, _("With whom?"), keyboard(rows))


async def _rec(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _people(update, ctx, cb, "rp")


async def _plan(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _people(update, ctx, cb, "pp")


async def _start(update: Update, ctx: BranchContext, cb: Callback, flow: str) -> None:
    _ = ctx.gettext
    name = await ctx.svc.talks.partner(ctx.viewer, cb.id)
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, flow, "date", {"p": cb.id})
    await answer_callback(update)
    ask = (
        _("When did you talk with {name}? Send 今天 or a date like 2026-06-03.")
        if flow == RECORD
        else _("When do you plan to talk with {name}? Send a date like 2026-06-03.")
    )
    await reply(update, ctx, ask.format(name=esc(name)))


async def _record_person(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _start(update, ctx, cb, RECORD)


async def _plan_person(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _start(update, ctx, cb, PLAN)


async def _done(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    talk = await ctx.svc.talks.check_complete(ctx.viewer, cb.id)
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, DONE, "summary", {"t": talk.id})
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(SUMMARY_PROMPT),
    )


ACTIONS = {
    "rec": _rec,
    "plan": _plan,
    "rp": _record_person,
    "pp": _plan_person,
    "done": _done,
}


# ------------------------------------------------------------------------- dialogs
async def _day(update: Update, ctx: BranchContext) -> Any:
    assert ctx.viewer.branch_timezone is not None
    today = local_today(ctx.svc.clock.now(), ctx.viewer.branch_timezone)
    try:
        return rules.parse_day(message_text(update), today)
    except ValueError:
        await reply(update, ctx, ctx.gettext("Please send 今天 or a date like 2026-06-03."))
        return None


async def _record_date(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    day = await _day(update, ctx)
    if day is None:
        return
    try:
        await ctx.svc.talks.check_held_day(ctx.viewer, day)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id, RECORD, "summary", {**dialog.data, "d": day.isoformat()}
    )
    await reply(
        update,
        ctx,
        ctx.gettext(SUMMARY_PROMPT),
    )


async def _record_summary(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    try:
        day = date.fromisoformat(str(dialog.data.get("d")))
    except ValueError:  # a dialog from an older build, or damaged: start again
        await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        await reply(update, ctx, _("This is no longer open. Send /talks to start again."))
        return
    try:
        talk = await ctx.svc.talks.record(
            ctx.viewer, int(dialog.data.get("p", 0)), day, message_text(update)
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update,
        ctx,
        _("Talk with {name} on {date} recorded.").format(
            name=esc(talk.b_name), date=talk.talk_on.isoformat()
        ),
    )


async def _plan_date(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    day = await _day(update, ctx)
    if day is None:
        return
    try:
        talk = await ctx.svc.talks.plan(ctx.viewer, int(dialog.data.get("p", 0)), day)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update,
        ctx,
        _("Talk with {name} planned for {date}: you will both be reminded that day.").format(
            name=esc(talk.b_name), date=talk.talk_on.isoformat()
        ),
    )
    rows = await ctx.svc.talks.telegram_ids({talk.b_id})
    if talk.b_id in rows:

        def render(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
            return (
                r.gettext("🤝 {name} plans a heart-to-heart talk with you on {date}.").format(
                    name=esc(talk.a_name), date=r.date(talk.talk_on)
                ),
                None,
            )

        await notify(ctx, rows[talk.b_id], render)


async def _done_summary(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    try:
        talk = await ctx.svc.talks.complete(
            ctx.viewer, int(dialog.data.get("t", 0)), message_text(update)
        )
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        if "summary" not in exc.msgid:
            await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update,
        ctx,
        _("Talk of {date} recorded.").format(date=talk.talk_on.isoformat()),
    )


# ------------------------------------------------------------------------- export
async def export_talks(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_member or viewer.branch_timezone is None:
        await reply(update, ctx, _("Only members of a branch can do this."))
        return
    try:
        quarter = (
            Quarter.parse(args[0])
            if args
            else Quarter.of(local_today(ctx.svc.clock.now(), viewer.branch_timezone))
        )
    except ValueError:
        await reply(update, ctx, _("Send /export talks PERIOD, e.g. /export talks 2026Q2."))
        return
    try:
        tables = await ctx.svc.talks.group_tables(viewer, quarter, export=True)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await send_file(
        update,
        ctx,
        talks_workbook(quarter.key, tables, _),
        f"talks-{quarter.key}.xlsx",
        _("Talk record tables {quarter}").format(quarter=quarter.key),
    )


# ------------------------------------------------------------------------- periodic
def reminder_render(reminder: TalkReminder) -> BroadcastRender:
    def render(r: Reader, _telegram_id: int) -> list[tuple[str, int | None]]:
        text = r.gettext(
            "🤝 Today: your planned heart-to-heart talk between {a} and {b}. "
            "Record it in /talks afterwards."
        ).format(a=esc(reminder.talk.a_name), b=esc(reminder.talk.b_name))
        return [(text, None)]

    return render


def group_alert_render(alert: GroupAlert) -> BroadcastRender:
    def render(r: Reader, _telegram_id: int) -> list[tuple[str, int | None]]:
        t = r.gettext
        text = t(
            "⏰ {quarter} ends on {end}: the talk table of {group} is incomplete. "
            "No talk yet: {missing}."
        ).format(
            quarter=alert.quarter.key,
            end=r.date(alert.quarter.end),
            group=esc(alert.group),
            missing=t(", ").join(esc(n) for n in alert.missing),
        )
        return [(text, None)]

    return render


async def run_talk_tasks(app: Any) -> int:
    """Remind both people of a planned talk on its day, and party group leaders once a
    quarter when their table is incomplete (7 days before the quarter ends). Each is
    marked in the database in the transaction that queues it."""
    runtime: Runtime = app.bot_data["runtime"]
    sent = 0
    async with runtime.unit_of_work() as svc:
        branches = await svc.talks.branch_ids()
    for branch_id in branches:
        async with runtime.unit_of_work() as svc:
            for reminder in await svc.talks.due_reminders(branch_id):
                sent += await queue_broadcast(
                    svc, reminder.telegram_user_ids, reminder_render(reminder)
                )
            for alert in await svc.talks.due_group_alerts(branch_id):
                sent += await queue_broadcast(
                    svc, alert.telegram_user_ids, group_alert_render(alert)
                )
    if sent:
        await drain(app)
    return sent
