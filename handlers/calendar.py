"""The branch calendar in chat: ``/calendar`` (upcoming events; the secretary edits
rules), ``/mute`` (mute or pause optional reminders), ``/reminders_unknown`` (deliveries
whose outcome is unknown), and the reminder dispatcher on PTB's job queue."""

# i18n-domain: reminders

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain import calendar as cal
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.reminders import Preference, RuleInfo
from domain.roles import Audience
from domain.viewer import Viewer
from handlers.callbacks import Callback, parse, pattern
from handlers.common import (
    Gettext,
    answer_callback,
    button,
    esc,
    keyboard,
    paged_rows,
    render_error,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from locales.i18n import N_
from scheduler import dispatcher
from scheduler.leader import LeaderLease

log = logging.getLogger(__name__)

PREFIX = "rm"
UPCOMING_DAYS = 45

REMINDER_CHOICES: dict[str, tuple[tuple[int, str], ...]] = {
    "both": cal.DAY_BEFORE_AND_DAY,
    "eve": ((1, "18:00"),),
    "day": ((0, "09:00"),),
    "none": (),
}
REMINDER_CHOICE_LABELS = {
    "both": N_("The day before at 18:00 and on the day at 09:00"),
    "eve": N_("The day before at 18:00"),
    "day": N_("On the day at 09:00"),
    "none": N_("No reminder"),
}


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("calendar", calendar_command, filters=private))
    app.add_handler(CommandHandler("mute", mute_command, filters=private))
    app.add_handler(CommandHandler("reminders_unknown", unknown_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(PREFIX)))
    registry.command("calendar", N_("Branch calendar and reminders"), [Audience.MEMBER], order=40)
    registry.command("mute", N_("Mute or pause optional reminders"), [Audience.MEMBER], order=41)
    registry.command(
        "reminders_unknown",
        N_("Reminders whose delivery is uncertain"),
        [Audience.SECRETARY],
        order=42,
    )
    registry.badge(_unknown_badge)
    router: DialogRouter = app.bot_data["dialogs"]
    router.add("rm_when", "text", _when_text)
    router.add("rm_rems", "text", _rems_text)
    router.add("rm_add", "text", _add_text)
    router.add("rm_pause", "date", _pause_text)
    schedule_dispatcher(app)


def schedule_dispatcher(app: BranchApp) -> None:
    """Every few seconds, ``dispatch_due(runtime, app, clock.now())``. The misfire policy
    is explicit: a late tick still runs (no grace limit), missed ticks coalesce into one,
    and a tick finding the previous one still broadcasting returns at once."""
    runtime: Runtime = app.bot_data["runtime"]
    config = dispatcher.ReminderConfig.from_settings(runtime.settings)
    app.bot_data[dispatcher.CONFIG_KEY] = config
    if app.job_queue is None:
        log.warning("no job queue: reminders are not sent")
        return
    if config.tick_seconds <= 0:
        log.info("reminder tick disabled (BRANCHBOT_REMINDER_TICK_SECONDS=0)")
        return

    async def run(ctx: BranchContext) -> None:
        # Only the instance holding the scheduler lease dispatches (scheduler.leader).
        leader: LeaderLease = ctx.application.bot_data["leader"]
        if await leader.ensure():
            await dispatcher.tick(ctx.application)

    app.job_queue.run_repeating(
        run,
        interval=config.tick_seconds,
        first=min(2.0, config.tick_seconds),
        name="reminders.dispatch",
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 2},
    )


async def _unknown_badge(ctx: BranchContext) -> str | None:
    viewer = ctx.viewer
    if not viewer.is_secretary or viewer.branch_id is None:
        return None
    count = await ctx.svc.reminders.unknown_count(viewer.branch_id)
    if not count:
        return None
    return ctx.ngettext(
        "{n} reminder may not have arrived: /reminders_unknown",
        "{n} reminders may not have arrived: /reminders_unknown",
        count,
    ).format(n=count)


# ------------------------------------------------------------------------ rendering
def date_text(t: Gettext, day: date) -> str:
    return t("{date} ({weekday})").format(
        date=day.isoformat(), weekday=t(cal.WEEKDAY_LABELS[day.weekday()])
    )


def plain_title(t: Gettext, kind: str, title: str | None) -> str:
    """The entry's title as plain text (button labels are not HTML)."""
    return title or t(cal.KIND_LABELS.get(kind, cal.KIND_LABELS[cal.ONE_OFF]))


def title_of(t: Gettext, kind: str, title: str | None) -> str:
    """The entry's title for an HTML message."""
    return esc(plain_title(t, kind, title))


def describe_schedule(t: Gettext, s: cal.Schedule) -> str:
    if s.freq == "once":
        assert s.on_date is not None
        return date_text(t, s.on_date)
    if s.anchor == "period_end":
        base = {
            "monthly": t("end of each month"),
            "quarterly": t("end of each quarter"),
            "half_yearly": t("end of each half-year"),
        }[s.freq]
        if s.offset_days:
            return t("{base} + {n} days").format(base=base, n=s.offset_days)
        return base
    if s.anchor == "nth_weekday":
        assert s.weekday is not None
        weekday = t(cal.WEEKDAY_LABELS[s.weekday])
        if s.nth == -1:
            day = t("last {weekday}").format(weekday=weekday)
        else:
            day = t("{weekday} of week {n}").format(weekday=weekday, n=s.nth)
    else:
        day = t("day {n}").format(n=s.day)
    if s.freq == "monthly":
        return t("monthly, {day}").format(day=day)
    if s.freq == "quarterly":
        return t("quarterly, month {m} of the quarter, {day}").format(m=s.month_in_period, day=day)
    return t("half-yearly, month {m} of the half-year, {day}").format(m=s.month_in_period, day=day)


def describe_reminders(t: Gettext, reminders: tuple[tuple[int, str], ...]) -> str:
    if not reminders:
        return t("none")
    parts = []
    for days, at in reminders:
        if days == 0:
            parts.append(t("on the day at {time}").format(time=at))
        elif days == 1:
            parts.append(t("the day before at {time}").format(time=at))
        else:
            parts.append(t("{n} days before at {time}").format(n=days, time=at))
    return t(", ").join(parts)


def rule_text(t: Gettext, rule: RuleInfo) -> str:
    lines = [
        f"<b>{title_of(t, rule.kind, rule.title)}</b>",
        t("When: {when}").format(when=describe_schedule(t, rule.schedule))
        + (f" {rule.event_time}" if rule.event_time else ""),
        t("For: {audience}").format(audience=t(cal.AUDIENCE_LABELS.get(rule.audience, "?"))),
        t("Reminders: {list}").format(list=describe_reminders(t, rule.reminders)),
    ]
    if rule.kind in cal.DEADLINE_KINDS:
        lines.append(t("Only those who still owe it are reminded."))
    if rule.mandatory:
        lines.append(t("Members cannot mute this reminder."))
    if not rule.reminders_on:
        lines.append(t("🔕 Reminders for this entry are switched off."))
    return "\n".join(lines)


def rule_markup(t: Gettext, rule: RuleInfo) -> InlineKeyboardMarkup:
    rows = [
        [
            button("🗓 " + t("Change day/time"), Callback(PREFIX, rule.id, "when")),
            button("⏰ " + t("Reminder times"), Callback(PREFIX, rule.id, "rems")),
        ],
        [
            button(
                ("🔕 " + t("Switch reminders off"))
                if rule.reminders_on
                else ("🔔 " + t("Switch reminders on")),
                Callback(PREFIX, rule.id, "toggle"),
            )
        ],
    ]
    if rule.kind == cal.ONE_OFF:
        rows.append([button("🗑 " + t("Remove this event"), Callback(PREFIX, rule.id, "del"))])
    rows.append([button("⬅️ " + t("All entries"), Callback(PREFIX, 0, "rules"))])
    return keyboard(rows)


# ------------------------------------------------------------------------ /calendar
async def calendar_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if not viewer.is_member:
        await reply(update, ctx, _("Only members of a branch can see its calendar."))
        return
    events = await ctx.svc.reminders.upcoming(viewer, UPCOMING_DAYS)
    lines = [
        _("<b>Branch calendar</b> — the next {n} days").format(n=UPCOMING_DAYS),
    ]
    if not events:
        lines.append(_("Nothing planned."))
    for e in events:
        time_part = f" {e.event_time}" if e.event_time else ""
        lines.append(f"• {date_text(_, e.day)}{time_part} {title_of(_, e.kind, e.title)}")
    markup = None
    if viewer.is_secretary:
        assert viewer.branch_id is not None
        unknown = await ctx.svc.reminders.unknown_count(viewer.branch_id)
        if unknown:
            lines.append("")
            lines.append(
                ctx.ngettext(
                    "⚠️ {n} reminder may not have arrived (the bot stopped while sending "
                    "it). See /reminders_unknown",
                    "⚠️ {n} reminders may not have arrived (the bot stopped while sending "
                    "them). See /reminders_unknown",
                    unknown,
                ).format(n=unknown)
            )
        markup = keyboard(
            [
                [button("⚙️ " + _("Edit the calendar"), Callback(PREFIX, 0, "rules"))],
                [button("➕ " + _("Add a one-off event"), Callback(PREFIX, 0, "add"))],
            ]
        )
    else:
        lines.append("")
        lines.append(_("Send /mute to mute or pause optional reminders."))
    await reply(update, ctx, "\n".join(lines), markup)


async def _show_rules(update: Update, ctx: BranchContext, page: int = 0) -> None:
    _ = ctx.gettext
    rules = await ctx.svc.reminders.rules(ctx.viewer)
    buttons = [
        button(
            ("" if r.reminders_on else "🔕 ") + plain_title(_, r.kind, r.title)[:40],
            Callback(PREFIX, r.id, "view"),
        )
        for r in rules
    ]
    # One-off events accumulate over the years: a page at a time (Telegram's 100 buttons).
    rows, _shown = paged_rows(_, buttons, page, lambda n: Callback(PREFIX, n, "rules"), columns=1)
    rows.append([button("➕ " + _("Add a one-off event"), Callback(PREFIX, 0, "add"))])
    await _show(update, ctx, _("<b>Calendar entries</b> — choose one to edit:"), keyboard(rows))


async def _show(
    update: Update, ctx: BranchContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message the button was on; fall back to a new message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc):
                return
    await reply(update, ctx, text, markup)


# ------------------------------------------------------------------------ buttons
async def on_button(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    query = update.callback_query
    assert query is not None
    cb = parse(query.data)
    if cb is None or cb.prefix != PREFIX:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    try:
        await _dispatch_button(update, ctx, cb)
    except DomainError as exc:
        await answer_callback(update, render_error(ctx, exc), alert=True)


async def _dispatch_button(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    svc = ctx.svc.reminders
    uid = viewer.telegram_user_id
    action = cb.action
    if action in {"mute", "unmute", "pause", "resume"}:
        if action == "pause":
            await svc.preference(viewer)  # rights: members only (no dialog for strangers)
            await ctx.svc.dialogs.set(uid, "rm_pause", "date")
            await answer_callback(update)
            await reply(
                update,
                ctx,
                _(
                    "Until which date should I pause optional reminders? Send a date like {ex}."
                ).format(ex="2026-08-31")
                + "\n"
                + _("Send /cancel to stop."),
            )
            return
        if action == "resume":
            pref = await svc.pause_until(viewer, None)
        else:
            pref = await svc.set_muted(viewer, action == "mute")
        await _show(update, ctx, mute_text(_, pref), mute_markup(_, pref))
        await answer_callback(update, _("Done."))
        return
    # Everything below is the secretary's; the service re-checks on every call.
    if action == "rules":
        await _show_rules(update, ctx, cb.id)
        await answer_callback(update)
    elif action == "view":
        rule = await svc.rule(viewer, cb.id)
        await _show(update, ctx, rule_text(_, rule), rule_markup(_, rule))
        await answer_callback(update)
    elif action == "toggle":
        rule = await svc.toggle_reminders(viewer, cb.id)
        await _show(update, ctx, rule_text(_, rule), rule_markup(_, rule))
        await answer_callback(update, _("Done."))
    elif action == "del":
        await svc.remove_one_off(viewer, cb.id)
        await _show_rules(update, ctx)
        await answer_callback(update, _("Done."))
    elif action == "when":
        rule = await svc.rule(viewer, cb.id)
        await ctx.svc.dialogs.set(uid, "rm_when", "text", {"rule": rule.id})
        await answer_callback(update)
        await reply(update, ctx, _when_prompt(_, rule))
    elif action == "rems":
        rule = await svc.rule(viewer, cb.id)
        await ctx.svc.dialogs.set(uid, "rm_rems", "text", {"rule": rule.id})
        await answer_callback(update)
        await reply(
            update,
            ctx,
            _(
                "Send the reminder times as <code>days-before time</code>, separated by "
                "commas. Example: <code>1 18:00, 0 09:00</code> = the day before at 18:00 "
                "and on the day at 09:00.\nSend /cancel to stop."
            ),
        )
    elif action == "add":
        await svc.rules(viewer)  # rights check
        await ctx.svc.dialogs.set(uid, "rm_add", "text", {})
        await answer_callback(update)
        await reply(
            update,
            ctx,
            _(
                "Send the event as <code>date [time] title</code>, for example "
                "<code>2026-06-30 15:00 专题党课</code>.\nSend /cancel to stop."
            ),
        )
    elif action in {"aud", "remset"}:
        await _add_choice(update, ctx, cb)
    elif action == "ack":
        count = await svc.acknowledge_unknown(viewer)
        await _show(
            update,
            ctx,
            ctx.ngettext(
                "{n} uncertain delivery marked as checked.",
                "{n} uncertain deliveries marked as checked.",
                count,
            ).format(n=count),
            None,
        )
        await answer_callback(update, _("Done."))
    else:
        await answer_callback(update, _("This button is no longer valid."), alert=True)


def _when_prompt(t: Gettext, rule: RuleInfo) -> str:
    current = describe_schedule(t, rule.schedule) + (
        f" {rule.event_time}" if rule.event_time else ""
    )
    lines = [t("Now: {when}").format(when=current), t("Send the new day and/or time:")]
    if rule.schedule.anchor in ("nth_weekday", "day"):
        lines.append(
            t(
                "<code>4 5 14:30</code> = Friday of week 4 at 14:30 (weekday 1 = Monday … "
                "7 = Sunday, -1 = last); <code>D15 09:00</code> = the 15th at 09:00; or only "
                "<code>14:30</code>."
            )
        )
    elif rule.schedule.anchor == "period_end":
        lines.append(t("<code>+10</code> = 10 days after the period ends."))
    else:
        lines.append(t("<code>2026-06-30 15:00</code>, or only <code>15:00</code>."))
    lines.append(t("Send /cancel to stop."))
    return "\n".join(lines)


# ------------------------------------------------------------------------ dialogs
_Parsed = TypeVar("_Parsed")


async def _when_text(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    await _edit_rule_from_text(
        update,
        ctx,
        dialog,
        limit=100,
        parse=cal.parse_when,
        save=ctx.svc.reminders.change_when,
    )


async def _rems_text(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    await _edit_rule_from_text(
        update,
        ctx,
        dialog,
        limit=200,
        parse=cal.parse_reminder_times,
        save=ctx.svc.reminders.set_reminders,
    )


async def _edit_rule_from_text(
    update: Update,
    ctx: BranchContext,
    dialog: Dialog,
    *,
    limit: int,
    parse: Callable[[str], _Parsed],
    save: Callable[[Viewer, int, _Parsed], Awaitable[RuleInfo]],
) -> None:
    """A rule's time or reminders typed as text: parsed (or asked again), saved, shown."""
    _ = ctx.gettext
    text = (update.effective_message.text if update.effective_message else None) or ""
    try:
        value = parse(text[:limit])
    except ValueError:
        await reply(update, ctx, _("I could not read that. Please try again, or send /cancel."))
        return
    try:
        rule = await save(ctx.viewer, int(dialog.data["rule"]), value)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(
        update,
        ctx,
        _("✅ Saved. It applies from now on.") + "\n\n" + rule_text(_, rule),
        rule_markup(_, rule),
    )


_ADD_RE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})(?:\s+(\d{1,2}[:：]\d{2}))?\s+(.+?)\s*$", re.S)


async def _add_text(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    text = (update.effective_message.text if update.effective_message else None) or ""
    match = _ADD_RE.match(text[:300])
    try:
        if match is None:
            raise ValueError(text)
        y, m, d = (int(p) for p in match[1].split("-"))
        on_date = date(y, m, d)
        at = cal.parse_hhmm(match[2]).strftime("%H:%M") if match[2] else None
    except ValueError:
        await reply(
            update,
            ctx,
            _("I could not read that. Example: <code>2026-06-30 15:00 专题党课</code>."),
        )
        return
    title = " ".join(match[3].split())
    if len(title) > 60:
        await reply(update, ctx, _("A title is 1 to {n} characters.").format(n=60))
        return
    await ctx.svc.dialogs.set(
        ctx.viewer.telegram_user_id,
        "rm_add",
        "aud",
        {"date": on_date.isoformat(), "time": at, "title": title},
    )
    rows = [
        [button(_(label), Callback(PREFIX, 0, "aud", key))]
        for key, label in cal.AUDIENCE_LABELS.items()
    ]
    await reply(
        update,
        ctx,
        _("<b>{title}</b> on {date}. Who is it for?").format(
            title=esc(title), date=date_text(_, on_date)
        ),
        keyboard(rows),
    )


async def _add_choice(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    uid = ctx.viewer.telegram_user_id
    dialog = await ctx.svc.dialogs.get(uid)
    if dialog is None or dialog.flow != "rm_add":
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    data = dict(dialog.data)
    if cb.action == "aud":
        if dialog.step != "aud" or cb.arg not in cal.AUDIENCE_LABELS:
            await answer_callback(update, _("This button is no longer valid."), alert=True)
            return
        data["audience"] = cb.arg
        await ctx.svc.dialogs.set(uid, "rm_add", "rems", data)
        rows = [
            [button(_(label), Callback(PREFIX, 0, "remset", key))]
            for key, label in REMINDER_CHOICE_LABELS.items()
        ]
        await _show(update, ctx, _("When should I remind them?"), keyboard(rows))
        await answer_callback(update)
        return
    if dialog.step != "rems" or cb.arg not in REMINDER_CHOICES:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    rule = await ctx.svc.reminders.add_one_off(
        ctx.viewer,
        on_date=date.fromisoformat(data["date"]),
        event_time=data.get("time"),
        title=data["title"],
        audience=data["audience"],
        reminders=list(REMINDER_CHOICES[cb.arg]),
    )
    await ctx.svc.dialogs.clear(uid)
    await _show(update, ctx, _("✅ Added.") + "\n\n" + rule_text(_, rule), rule_markup(_, rule))
    await answer_callback(update, _("Done."))


# ------------------------------------------------------------------------ /mute
def mute_text(t: Gettext, pref: Preference) -> str:
    lines = [t("<b>Your reminders</b>")]
    if pref.muted:
        lines.append(t("🔕 Optional reminders are muted."))
    elif pref.paused_until is not None:
        lines.append(
            t("⏸ Optional reminders are paused until {date}.").format(
                date=date_text(t, pref.paused_until)
            )
        )
    else:
        lines.append(t("🔔 You get all reminders."))
    lines.append(t("Fee day and reminders of reports or declarations you still owe always arrive."))
    return "\n".join(lines)


def mute_markup(t: Gettext, pref: Preference) -> InlineKeyboardMarkup:
    rows = []
    if pref.muted:
        rows.append([button("🔔 " + t("Unmute"), Callback(PREFIX, 0, "unmute"))])
    else:
        rows.append([button("🔕 " + t("Mute optional reminders"), Callback(PREFIX, 0, "mute"))])
    if pref.paused_until is not None:
        rows.append([button("▶️ " + t("Resume now"), Callback(PREFIX, 0, "resume"))])
    else:
        rows.append([button("⏸ " + t("Pause until a date"), Callback(PREFIX, 0, "pause"))])
    return keyboard(rows)


async def mute_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_member:
        await reply(update, ctx, _("Only members of a branch get reminders."))
        return
    pref = await ctx.svc.reminders.preference(ctx.viewer)
    await reply(update, ctx, mute_text(_, pref), mute_markup(_, pref))


async def _pause_text(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    text = ((update.effective_message.text if update.effective_message else None) or "").strip()
    try:
        until = date.fromisoformat(text[:10]) if len(text) <= 10 else None
        if until is None:
            raise ValueError(text)
    except ValueError:
        await reply(
            update, ctx, _("Please send a date like {ex}, or /cancel.").format(ex="2026-08-31")
        )
        return
    try:
        pref = await ctx.svc.reminders.pause_until(ctx.viewer, until)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(update, ctx, mute_text(_, pref), mute_markup(_, pref))


# ------------------------------------------------------------------------ unknown
async def unknown_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    try:
        items = await ctx.svc.reminders.unknown_deliveries(ctx.viewer)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    if not items:
        await reply(update, ctx, _("No reminder is in doubt. Every delivery is accounted for."))
        return
    lines = [
        _("<b>Reminders that may not have arrived</b>"),
        _(
            "The bot stopped (or Telegram did not answer) while sending these, so it cannot "
            "know whether they arrived. They are not resent automatically, to avoid "
            "duplicates; please check with these members if it matters."
        ),
        "",
    ]
    for item in items:
        lines.append(
            f"• {esc(item.person_name)} — {title_of(_, item.kind, item.title)} "
            f"{item.occurrence.isoformat()}"
        )
    markup = keyboard([[button("✅ " + _("Mark as checked"), Callback(PREFIX, 0, "ack"))]])
    await reply(update, ctx, "\n".join(lines), markup)
