"""Organisational life in chat: ``/meeting_new`` (the secretary schedules a meeting),
``/meetings`` (upcoming meetings and my attendance; the secretary's compliance view),
``/meeting ID`` (the record), the notice's 参加 / 请假 / 签到 buttons, leave decided by
the secretary, the chair's roll call, closing a meeting (attendance points), and the
periodic notices and overdue alerts. Minutes: ``handlers.meetings_minutes``."""

# i18n-domain: meetings

from __future__ import annotations

import logging
import re
from datetime import datetime

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BranchApp, BranchContext
from domain import meetings_rules as rules
from domain.dialogs import Dialog
from domain.errors import DomainError
from domain.meetings import AttendeeInfo, MeetingInfo, PeriodStatus
from domain.periods import local_today
from domain.reader import Reader
from domain.roles import Audience
from handlers.callbacks import Callback, pattern
from handlers.common import (
    LIST_PAGE_SIZE,
    BroadcastMarkup,
    BroadcastRender,
    Gettext,
    Render,
    answer_callback,
    button,
    button_router,
    esc,
    keyboard,
    message_text,
    notify,
    page_rows,
    paged_rows,
    queue_broadcast,
    render_error,
    reply,
)
from handlers.dialog import DialogRouter
from handlers.meetings_minutes import save_minutes, start_minutes
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.deliveries import drain

log = logging.getLogger(__name__)

PREFIX = "mt"
LEAVE_FLOW = "mt_leave"
ROLL_PER_PAGE = 20
#: ``/meeting_12``: the tappable form of ``/meeting 12`` in lists.
MEETING_LINK = re.compile(r"^/meeting_([0-9]{1,18})(?:@\w+)?$")


def register(app: BranchApp, registry: Registry) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("meeting_new", new_command, filters=private))
    app.add_handler(CommandHandler("meetings", meetings_command, filters=private))
    app.add_handler(CommandHandler("meeting", meeting_command, filters=private))
    app.add_handler(MessageHandler(private & filters.Regex(MEETING_LINK), meeting_link))
    app.add_handler(CallbackQueryHandler(button_router(PREFIX, ACTIONS), pattern=pattern(PREFIX)))
    registry.command(
        "meetings", N_("Meetings: upcoming, my attendance, compliance"), [Audience.MEMBER], order=45
    )
    registry.command("meeting_new", N_("Schedule a meeting"), [Audience.SECRETARY], order=46)
    router: DialogRouter = app.bot_data["dialogs"]
    router.add(LEAVE_FLOW, "reason", _leave_reason)


# ---------------------------------------------------------------------------- rendering
def kind_label(t: Gettext, kind: str) -> str:
    return t(rules.KIND_LABELS.get(kind, rules.KIND_LABELS[rules.PARTY_CONGRESS]))


def when_text(m: MeetingInfo) -> str:
    return m.local_start.strftime("%Y-%m-%d %H:%M")


def meeting_head(t: Gettext, m: MeetingInfo) -> str:
    lines = [
        f"<b>{esc(kind_label(t, m.kind))}</b> · {esc(m.title)} (#{m.id})",
        t("When: {when}").format(when=when_text(m)),
    ]
    if m.place:
        lines.append(t("Where: {place}").format(place=esc(m.place)))
    if m.party_group:
        lines.append(t("Party group: {group}").format(group=esc(m.party_group)))
    if m.chair_name:
        lines.append(t("Chair: {name}").format(name=esc(m.chair_name)))
    if m.minutes_name:
        lines.append(t("Minutes: {name}").format(name=esc(m.minutes_name)))
    if m.kind == rules.LECTURE and m.lecturer_name:
        lines.append(t("Lecturer: {name}").format(name=esc(m.lecturer_name)))
    if m.appraisal_year is not None and m.appraisal_deadline is not None:
        lines.append(
            t(
                "Agenda: the democratic appraisal of {year} (民主评议党员); grading in "
                "/appraisal until {deadline}."
            ).format(
                year=m.appraisal_year, deadline=m.appraisal_deadline.strftime("%Y-%m-%d %H:%M")
            )
        )
    return "\n".join(lines)


def notice_render(m: MeetingInfo) -> Render:
    """The meeting notice with its buttons, in the recipient's language."""

    def render(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        t = r.gettext
        text = (
            t("📣 <b>Meeting notice</b>")
            + "\n"
            + meeting_head(t, m)
            + "\n\n"
            + t("Will you attend? Check in with the button when you arrive.")
        )
        return text, notice_keyboard(t, m.id)

    return render


def notice_broadcast(m: MeetingInfo) -> BroadcastRender:
    """The notice as a broadcast (``queue_broadcast``); its buttons: ``notice_markup``."""

    def render(r: Reader, _telegram_id: int) -> list[tuple[str, int | None]]:
        text, _markup = notice_render(m)(r)
        return [(text, None)]

    return render


def notice_markup(m: MeetingInfo) -> BroadcastMarkup:
    def markup(r: Reader, _telegram_id: int) -> InlineKeyboardMarkup | None:
        return notice_keyboard(r.gettext, m.id)

    return markup


def called_off_render(m: MeetingInfo) -> BroadcastRender:
    def render(r: Reader, _telegram_id: int) -> list[tuple[str, int | None]]:
        t = r.gettext
        what = f"{esc(kind_label(t, m.kind))} · {esc(m.title)} ({when_text(m)})"
        return [(t("❎ Called off: {meeting}").format(meeting=what), None)]

    return render


def notice_keyboard(t: Gettext, meeting_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [
                button(t("Attend"), Callback(PREFIX, meeting_id, "go")),
                button(t("Ask for leave"), Callback(PREFIX, meeting_id, "lv")),
            ],
            [button(t("Check in"), Callback(PREFIX, meeting_id, "in"))],
        ]
    )


OUTCOME_LABELS = {
    rules.PRESENT: N_("Present"),
    rules.ON_LEAVE: N_("On leave"),
    rules.ABSENT: N_("Absent"),
}


def attendee_line(t: Gettext, a: AttendeeInfo, held: bool) -> str:
    if a.checked_in_at is not None:
        state = t("present, late") if a.late else t("present")
    elif a.leave_status == "approved":
        state = t("on leave")
    elif a.leave_status == "pending":
        state = t("leave requested")
    elif held:
        state = t("absent")
    elif a.response == "attend":
        state = t("will attend")
    else:
        state = t("no answer yet")
    return f"• {esc(a.name)}: {state}"


def record_text(t: Gettext, m: MeetingInfo, people: list[AttendeeInfo], minutes: int) -> str:
    held = m.status == "held"
    counts = {k: sum(a.outcome == k for a in people) for k in OUTCOME_LABELS}
    lines = [meeting_head(t, m), ""]
    status = {
        "scheduled": t("Status: scheduled"),
        "held": t("Status: held"),
        "cancelled": t("Status: cancelled"),
    }
    lines.append(status.get(m.status, m.status))
    lines.append(
        t("Attendance: {present} present, {leave} on leave, {absent} absent of {total}").format(
            present=counts[rules.PRESENT],
            leave=counts[rules.ON_LEAVE],
            absent=counts[rules.ABSENT],
            total=len(people),
        )
    )
    lines.extend(attendee_line(t, a, held) for a in people)
    lines.append("")
    lines.append(
        t("Minutes: {n} version(s)").format(n=minutes) if minutes else t("No minutes yet.")
    )
    return "\n".join(lines)


def record_keyboard(
    t: Gettext, m: MeetingInfo, *, runs: bool, secretary: bool = False, files: bool = False
) -> InlineKeyboardMarkup | None:
    rows = []
    if secretary and m.status == "scheduled":
        roles = [
            button(t("Chair…"), Callback(PREFIX, m.id, "who", "c0")),
            button(t("Minute-taker…"), Callback(PREFIX, m.id, "who", "m0")),
        ]
        if m.kind == rules.LECTURE:
            roles.append(button(t("Lecturer…"), Callback(PREFIX, m.id, "who", "l0")))
        rows.append(roles)
        rows.append([button(t("Call the meeting off"), Callback(PREFIX, m.id, "off"))])
    if m.status == "scheduled":
        rows.append([button(t("Check in"), Callback(PREFIX, m.id, "in"))])
    if runs and m.status == "scheduled":
        rows.append(
            [
                button(t("Roll call"), Callback(PREFIX, m.id, "roll", "0")),
                button(t("Close the meeting"), Callback(PREFIX, m.id, "cls")),
            ]
        )
    last = [button(t("Minutes"), Callback(PREFIX, m.id, "min"))]
    if files:
        last.append(button(t("Attached files"), Callback(PREFIX, m.id, "files")))
    rows.append(last)
    return keyboard(rows)


# ---------------------------------------------------------------------------- commands
NEW_HELP = N_(
    "Schedule a meeting: /meeting_new KIND DATE TIME TITLE | PLACE\n"
    "Kinds: 党员大会, 支委会, 党小组会, 党课, 主题党日, 组织生活会.\n"
    "Example: /meeting_new 支委会 2026-06-01 16:00 六月支委会 | 会议室 301\n"
    "A party group meeting may name its group after the time: #第一党小组"
)


async def new_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    if not ctx.viewer.is_secretary:
        await reply(update, ctx, _("Only the branch secretary can do this."))
        return
    spec = message_text(update).partition(" ")[2].strip()
    if not spec:
        await reply(update, ctx, _(NEW_HELP))
        return
    try:
        new = rules.parse_new_meeting(spec)
    except ValueError:
        await reply(update, ctx, _("I could not read that.") + "\n\n" + _(NEW_HELP))
        return
    try:
        info, invited = await ctx.svc.meetings.create(ctx.viewer, new)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    await reply(
        update,
        ctx,
        scheduled_text(ctx, info, invited),
        record_keyboard(_, info, runs=True, secretary=True),
    )


def scheduled_text(ctx: BranchContext, info: MeetingInfo, invited: int) -> str:
    _ = ctx.gettext
    return (
        _("Meeting scheduled.")
        + "\n"
        + meeting_head(_, info)
        + "\n\n"
        + ctx.ngettext(
            "The notice goes to {n} person before the meeting.",
            "The notice goes to {n} people before the meeting.",
            invited,
        ).format(n=invited)
    )


async def meetings_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    try:
        upcoming = await ctx.svc.meetings.upcoming(viewer)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    assert viewer.branch_timezone is not None
    year = local_today(ctx.svc.clock.now(), viewer.branch_timezone).year
    lines = [_("<b>Upcoming meetings</b>")]
    if not upcoming:
        lines.append(_("None scheduled."))
    for m in upcoming:
        lines.append(
            f"• {when_text(m)} {esc(kind_label(_, m.kind))} · {esc(m.title)} — /meeting_{m.id}"
        )
    mine = await ctx.svc.meetings.my_year(viewer, year)
    lines += [
        "",
        _("<b>My attendance in {year}</b>").format(year=year),
        _("{present} present, {leave} on leave, {absent} absent").format(
            present=mine[rules.PRESENT], leave=mine[rules.ON_LEAVE], absent=mine[rules.ABSENT]
        ),
    ]
    rows = []
    if viewer.is_secretary:
        suggestions = await ctx.svc.meeting_calendar.suggestions(viewer)
        for sug in suggestions:
            rows.append(
                [
                    button(
                        _("Schedule {kind} {date}").format(
                            kind=kind_label(_, sug.kind), date=sug.day.isoformat()
                        ),
                        Callback(PREFIX, sug.rule_id, "cal", sug.day.strftime("%Y%m%d")),
                    )
                ]
            )
        if suggestions:
            lines += ["", _("From the branch calendar, not scheduled yet: see the buttons.")]
    if viewer.is_secretary:
        statuses, lectured = await ctx.svc.meeting_compliance.compliance(viewer, year)
        lines += ["", compliance_text(_, year, statuses, lectured)]
        lines += ["", _("Schedule a meeting: /meeting_new")]
    await reply(update, ctx, "\n".join(lines), keyboard(rows) if rows else None)


def compliance_text(t: Gettext, year: int, statuses: list[PeriodStatus], lectured: bool) -> str:
    lines = [t("<b>Compliance {year}</b>").format(year=year)]
    for s in statuses:
        label = esc(kind_label(t, s.kind))
        if s.state == rules.HELD:
            state = t("held, {present}/{invited} present").format(
                present=s.present, invited=s.invited
            )
            mark = "✅"
        elif s.state == rules.NOT_HELD:
            state, mark = t("not held"), "❌"
        else:
            state, mark = t("not held yet"), "⏳"
        lines.append(f"{mark} {s.period.key} {label}: {state}")
    lines.append(
        t("✅ The secretary gave a Party lecture this year.")
        if lectured
        else t("❌ The secretary has not given a Party lecture this year.")
    )
    return "\n".join(lines)


async def meeting_command(update: Update, ctx: BranchContext) -> None:
    _ = ctx.gettext
    arg = message_text(update).partition(" ")[2].strip()
    if not arg.isascii() or not arg.isdigit() or len(arg) > 18:
        await reply(
            update, ctx, _("Send /meeting followed by the meeting's number, e.g. /meeting 3.")
        )
        return
    await show_record(update, ctx, int(arg))


async def meeting_link(update: Update, ctx: BranchContext) -> None:
    match = MEETING_LINK.match(message_text(update))
    if match is not None:
        await show_record(update, ctx, int(match[1]))


async def show_record(update: Update, ctx: BranchContext, meeting_id: int) -> None:
    _ = ctx.gettext
    try:
        info, people = await ctx.svc.meetings.record(ctx.viewer, meeting_id)
        versions = await ctx.svc.minutes.versions(ctx.viewer, meeting_id)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    runs = ctx.viewer.is_secretary or ctx.viewer.person_id == info.chair_person_id
    text = record_text(_, info, people, len(versions))
    if versions:
        last = versions[-1]
        text += "\n" + _("Latest minutes (version {n}):").format(n=last.version)
        if last.text:
            text += "\n" + esc(last.text)
        if last.files:
            text += "\n" + ctx.ngettext(
                "{n} file attached", "{n} files attached", len(last.files)
            ).format(n=len(last.files))
    await reply(
        update,
        ctx,
        text,
        record_keyboard(
            _,
            info,
            runs=runs,
            secretary=ctx.viewer.is_secretary,
            files=bool(versions and versions[-1].files),
        ),
    )


# ---------------------------------------------------------------------------- buttons
async def _attend(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    _info, changed = await ctx.svc.meetings.attend(ctx.viewer, cb.id)
    await answer_callback(
        update, _("Noted: you will attend.") if changed else _("You already said you will attend.")
    )


async def _leave(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    info = await ctx.svc.meetings.check_leave(ctx.viewer, cb.id)
    await ctx.svc.dialogs.set(ctx.viewer.telegram_user_id, LEAVE_FLOW, "reason", {"m": info.id})
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _(
            "Why can you not attend “{title}”? Send the reason in one message (/cancel to stop)."
        ).format(title=esc(info.title)),
    )


async def _leave_reason(update: Update, ctx: BranchContext, dialog: Dialog) -> None:
    _ = ctx.gettext
    text = message_text(update)
    if not text.strip():
        await reply(update, ctx, _("Please send the reason as text."))
        return
    try:
        request = await ctx.svc.meetings.ask_leave(ctx.viewer, int(dialog.data.get("m", 0)), text)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        if "too long" not in exc.msgid and "reason" not in exc.msgid:
            await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
        return
    await ctx.svc.dialogs.clear(ctx.viewer.telegram_user_id)
    await reply(update, ctx, _("Your leave request was sent to the secretary."))
    m = request.meeting

    def render(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        t = r.gettext
        body = t("🙋 <b>{name}</b> asks for leave from {meeting}.\nReason: {reason}").format(
            name=esc(request.person_name),
            meeting=f"{esc(kind_label(t, m.kind))} · {esc(m.title)} ({when_text(m)})",
            reason=esc(request.reason),
        )
        return body, keyboard(
            [
                [
                    button(t("Approve leave"), Callback(PREFIX, request.attendance_id, "lok")),
                    button(t("Refuse leave"), Callback(PREFIX, request.attendance_id, "lno")),
                ]
            ]
        )

    for telegram_id in request.secretaries:
        await notify(ctx, telegram_id, render)


async def _decide(update: Update, ctx: BranchContext, cb: Callback, approve: bool) -> None:
    _ = ctx.gettext
    decision = await ctx.svc.meetings.decide_leave(ctx.viewer, cb.id, approve)
    await answer_callback(update, _("Leave approved.") if approve else _("Leave refused."))
    m = decision.meeting
    await reply(
        update,
        ctx,
        (_("Leave of {name} approved.") if approve else _("Leave of {name} refused.")).format(
            name=esc(decision.person_name)
        ),
    )
    if decision.telegram_user_id is None:
        return

    def render(r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
        t = r.gettext
        what = f"{esc(kind_label(t, m.kind))} · {esc(m.title)} ({when_text(m)})"
        if approve:
            return t("✅ Your leave from {meeting} was approved.").format(meeting=what), None
        return (
            t("❌ Your leave from {meeting} was refused: please attend.").format(meeting=what),
            notice_keyboard(t, m.id),
        )

    await notify(ctx, decision.telegram_user_id, render)


async def _approve(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _decide(update, ctx, cb, True)


async def _refuse(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await _decide(update, ctx, cb, False)


async def _check_in(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    result = await ctx.svc.meetings.check_in(ctx.viewer, cb.id)
    if result.already:
        text = _("You have already checked in.")
    elif result.late:
        text = _("Checked in (late).")
    else:
        text = _("Checked in. Welcome!")
    await answer_callback(update, text)
    if not result.already:
        await reply(update, ctx, text + "\n" + esc(result.meeting.title))


async def _roll(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    info = await ctx.svc.meetings.check_run(ctx.viewer, cb.id)
    page = int(cb.arg) if cb.arg and cb.arg.isdigit() else 0
    people = await ctx.svc.meetings.attendees(info.id)
    buttons = [
        button(
            ("✅ " if a.checked_in_at is not None else "▫️ ") + a.name,
            Callback(PREFIX, info.id, "tk", f"{a.person_id}.{page}"),
        )
        for a in people
    ]
    rows, page = paged_rows(
        _,
        buttons,
        page,
        lambda p: Callback(PREFIX, info.id, "roll", str(p)),
        per_page=ROLL_PER_PAGE,
    )
    await answer_callback(update)
    await reply(
        update,
        ctx,
        _("Roll call of “{title}”: tap a name to mark the person present (again to undo).").format(
            title=esc(info.title)
        ),
        keyboard(rows),
    )


async def _tick(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    person, _dot, _page = (cb.arg or "").partition(".")
    if not person.isdigit():
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    present = await ctx.svc.meetings.tick(ctx.viewer, cb.id, int(person))
    await answer_callback(update, _("Marked present.") if present else _("Marked not present."))


ROLE_PROMPTS = {
    "c": N_("Who chairs “{title}”?"),
    "m": N_("Who takes the minutes of “{title}”?"),
    "l": N_("Who gives the lecture “{title}”?"),
}


async def _who(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    arg = cb.arg or ""
    role, page_text = arg[:1], arg[1:]
    if role not in ROLE_PROMPTS or not page_text.isdigit():
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    people = await ctx.svc.meetings.people(ctx.viewer, int(page_text), LIST_PAGE_SIZE)
    info = await ctx.svc.meetings.info(ctx.viewer, cb.id)
    buttons = [
        button(p.name, Callback(PREFIX, info.id, "set", f"{role}{p.person_id}"))
        for p in people.rows
    ]
    rows = page_rows(
        _,
        buttons,
        people.page,
        people.pages,
        lambda p: Callback(PREFIX, info.id, "who", f"{role}{p}"),
    )
    await answer_callback(update)
    await reply(update, ctx, _(ROLE_PROMPTS[role]).format(title=esc(info.title)), keyboard(rows))


async def _set(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    arg = cb.arg or ""
    role, person = arg[:1], arg[1:]
    if role not in ROLE_PROMPTS or not person.isdigit() or len(person) > 18:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    info = await ctx.svc.meetings.assign(ctx.viewer, cb.id, role, int(person))
    await answer_callback(update, _("Saved."))
    await reply(update, ctx, meeting_head(_, info))


async def _close(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    result = await ctx.svc.meetings.close(ctx.viewer, cb.id)
    await answer_callback(update, _("Meeting closed."))
    await reply(
        update,
        ctx,
        _(
            "“{title}” is recorded as held: {present} present, {leave} on leave, {absent} absent. "
            "{granted} points entries were granted."
        ).format(
            title=esc(result.meeting.title),
            present=result.present,
            leave=result.on_leave,
            absent=result.absent,
            granted=result.granted,
        ),
    )


async def _from_calendar(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    try:
        day = datetime.strptime(cb.arg or "", "%Y%m%d").date()
    except ValueError:
        await answer_callback(update, _("This button is no longer valid."), alert=True)
        return
    info, invited = await ctx.svc.meeting_calendar.schedule(
        ctx.viewer,
        cb.id,
        day,
        lambda kind, when: _("{kind} {date}").format(
            kind=kind_label(_, kind), date=when.isoformat()
        ),
    )
    await answer_callback(update, _("Meeting scheduled."))
    await reply(
        update,
        ctx,
        scheduled_text(ctx, info, invited),
        record_keyboard(_, info, runs=True, secretary=True),
    )


async def _files(update: Update, ctx: BranchContext, cb: Callback) -> None:
    """Send the latest minutes' files again (by Telegram's file id)."""
    _ = ctx.gettext
    versions = await ctx.svc.minutes.versions(ctx.viewer, cb.id)
    files = versions[-1].files if versions else []
    await answer_callback(update, None if files else _("No minutes yet."))
    chat = update.effective_chat
    if chat is None:
        return
    for f in files:
        file_id = str(f.get("file_id", ""))
        try:
            if f.get("kind") == "photo":
                await ctx.bot.send_photo(chat.id, file_id)
            else:
                await ctx.bot.send_document(chat.id, file_id)
        except TelegramError as exc:
            log.warning("could not resend minutes file: %s", exc)


async def _call_off(update: Update, ctx: BranchContext, cb: Callback) -> None:
    _ = ctx.gettext
    info, told = await ctx.svc.meetings.cancel(ctx.viewer, cb.id)
    await answer_callback(update, _("The meeting is called off."))
    await reply(
        update,
        ctx,
        ctx.ngettext(
            "“{title}” is called off; {n} person who had the notice is told.",
            "“{title}” is called off; {n} people who had the notice are told.",
            len(told),
        ).format(title=esc(info.title), n=len(told)),
    )
    await queue_broadcast(ctx.svc, told, called_off_render(info))
    if told:
        app = ctx.application

        async def send() -> None:
            app.create_task(drain(app), name=f"meeting-{info.id}-off")

        ctx.after_commit(send)


async def _record(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await answer_callback(update)
    await show_record(update, ctx, cb.id)


async def _minutes(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await start_minutes(update, ctx, cb.id)


async def _minutes_save(update: Update, ctx: BranchContext, cb: Callback) -> None:
    await save_minutes(update, ctx, cb.id)


ACTIONS = {
    "go": _attend,
    "lv": _leave,
    "lok": _approve,
    "lno": _refuse,
    "in": _check_in,
    "roll": _roll,
    "tk": _tick,
    "cls": _close,
    "off": _call_off,
    "files": _files,
    "cal": _from_calendar,
    "who": _who,
    "set": _set,
    "rec": _record,
    "min": _minutes,
    "msave": _minutes_save,
}
