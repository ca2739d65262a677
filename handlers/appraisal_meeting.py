# i18n-domain: appraisal
"""The appraisal's 组织生活会 in chat: from the secretary's ``/appraisal`` screen, the
``am`` buttons schedule the year's life meeting (through the meetings feature) or link
one already scheduled, or remove the link; the appraisal's screens name the meeting and
show its attendance beside the results (``meeting_line``, ``attendance_line``,
``attendance_note``). The meeting's own notice and record show the appraisal on its
agenda (``handlers.meetings.meeting_head``)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from bot.context import BranchApp, BranchContext
from domain import meetings_rules as mrules
from domain.appraisal_meeting import MEETING_TIME, LinkedMeeting, proposed_day
from domain.periods import local_today
from handlers.callbacks import Callback, pattern
from handlers.common import Gettext, answer_callback, button, button_router, edit, esc, keyboard
from handlers.meetings import kind_label, scheduled_text, when_text
from handlers.registry import Registry
from locales.i18n import N_

PREFIX = "am"
#: The appraisal's own prefix (``handlers.appraisal``): the "back" button.
HOME = Callback("ap", 0, "home")
CHOICES = 10

STATUS = {
    "scheduled": N_("scheduled"),
    "held": N_("held"),
    "cancelled": N_("called off"),
}
OUTCOMES = {
    mrules.PRESENT: N_("present"),
    mrules.ON_LEAVE: N_("on leave"),
    mrules.ABSENT: N_("absent"),
}


def register(app: BranchApp, registry: Registry) -> None:
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(PREFIX)))


def menu_button(t: Gettext) -> InlineKeyboardButton:
    return button(t("🗓 Organisational life meeting (组织生活会)"), Callback(PREFIX, 0, "menu"))


def meeting_line(t: Gettext, linked: LinkedMeeting | None) -> str | None:
    """The appraisal's meeting, named (None: no meeting linked)."""
    if linked is None:
        return None
    m = linked.meeting
    return t(
        "Organisational life meeting (组织生活会): {title}, {when}, {status} — /meeting_{id}"
    ).format(
        title=esc(m.title), when=when_text(m), status=t(STATUS.get(m.status, m.status)), id=m.id
    )


def attendance_line(t: Gettext, linked: LinkedMeeting | None) -> str | None:
    """The meeting's attendance, for the results (None: no meeting linked)."""
    if linked is None:
        return None
    m = linked.meeting
    if not linked.held:
        return t("组织生活会 No. {id} ({when}) not held yet: {n} people concerned.").format(
            id=m.id, when=when_text(m), n=len(linked.attendees)
        )
    return t(
        "组织生活会 No. {id} ({when}) held: {present} present, {leave} on leave, "
        "{absent} absent of {total}."
    ).format(
        id=m.id,
        when=when_text(m),
        present=linked.count(mrules.PRESENT),
        leave=linked.count(mrules.ON_LEAVE),
        absent=linked.count(mrules.ABSENT),
        total=len(linked.attendees),
    )


def attendance_note(t: Gettext, linked: LinkedMeeting | None, person_id: int) -> str | None:
    """One member's attendance of the held meeting, beside their result."""
    if linked is None or not linked.held:
        return None
    outcome = linked.outcome_of(person_id)
    if outcome is None:
        return None
    return t("组织生活会: {outcome}").format(outcome=t(OUTCOMES[outcome]))


async def menu(ctx: BranchContext) -> tuple[str, InlineKeyboardMarkup]:
    """The secretary's screen: the linked meeting, the year's life meetings to pick,
    the button that schedules one."""
    t = ctx.gettext
    info, choices = await ctx.svc.appraisal_meeting.life_meetings(ctx.viewer)
    linked = await ctx.svc.appraisal_meeting.linked(ctx.viewer)
    lines = [
        t("<b>组织生活会 of the democratic appraisal {year}</b>").format(year=info.year),
        t(
            "The appraisal is held together with the year's organisational life meeting "
            "(seed 002): its notice and record show the appraisal on the agenda, its "
            "attendance is shown beside the results."
        ),
        "",
        meeting_line(t, linked) or t("No meeting linked yet."),
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if info.status == "open":
        for m in choices[:CHOICES]:
            if linked is not None and m.id == linked.meeting.id:
                continue
            rows.append(
                [
                    button(
                        t("Link: {title} {when}").format(title=m.title, when=when_text(m)),
                        Callback(PREFIX, m.id, "pick"),
                    )
                ]
            )
        if linked is None or linked.meeting.status == "cancelled":
            today = local_today(ctx.svc.clock.now(), info.timezone)
            day = proposed_day(info, today)
            rows.append(
                [
                    button(
                        t("➕ Schedule the {kind} on {when}").format(
                            kind=kind_label(t, mrules.LIFE_MEETING),
                            when=f"{day.isoformat()} {MEETING_TIME.strftime('%H:%M')}",
                        ),
                        Callback(PREFIX, 0, "new"),
                    )
                ]
            )
        if linked is not None:
            rows.append([button(t("Remove the link"), Callback(PREFIX, 0, "off"))])
    rows.append([button(t("« Back"), HOME)])
    return "\n".join(lines), keyboard(rows)


async def _menu(update: Update, ctx: BranchContext, cb: Callback) -> None:
    text, markup = await menu(ctx)
    await answer_callback(update)
    await edit(update, text, markup)


async def _new(update: Update, ctx: BranchContext, cb: Callback) -> None:
    meeting, invited = await ctx.svc.appraisal_meeting.schedule(ctx.viewer)
    await answer_callback(
        update, ctx.gettext("Scheduled and linked: meeting No. {id}.").format(id=meeting.id)
    )
    text, markup = await menu(ctx)
    await edit(update, text + "\n\n" + scheduled_text(ctx, meeting, invited), markup)


async def _pick(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    meeting, changed = await ctx.svc.appraisal_meeting.pick(ctx.viewer, cb.id)
    await answer_callback(
        update,
        t("Linked: meeting No. {id}.").format(id=meeting.id)
        if changed
        else t("This meeting is linked already."),
    )
    text, markup = await menu(ctx)
    await edit(update, text, markup)


async def _off(update: Update, ctx: BranchContext, cb: Callback) -> None:
    t = ctx.gettext
    removed = await ctx.svc.appraisal_meeting.unlink(ctx.viewer)
    await answer_callback(update, t("Link removed.") if removed else t("No meeting is linked."))
    text, markup = await menu(ctx)
    await edit(update, text, markup)


on_button = button_router(PREFIX, {"menu": _menu, "new": _new, "pick": _pick, "off": _off})
