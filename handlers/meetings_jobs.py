"""Organisational life's exports and periodic tasks: ``/export meetings YEAR`` (the
register), the notices (every minute) and the secretary's overdue alerts (hourly), which
also reach the organisation's administrators above the branch."""

# i18n-domain: meetings

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update

from bot.context import BranchApp, BranchContext
from bot.runtime import Runtime
from domain.errors import DomainError
from domain.meetings import Alert, MeetingInfo
from domain.meetings_export import meetings_workbook, year_title
from domain.periods import local_today
from domain.reader import Reader
from domain.roles import Audience
from handlers.common import (
    BroadcastRender,
    esc,
    queue_broadcast,
    render_error,
    reply,
    send_file,
)
from handlers.meetings import kind_label, notice_broadcast, notice_markup
from handlers.registry import Registry
from locales.i18n import N_
from scheduler.deliveries import drain


def register(app: BranchApp, registry: Registry) -> None:
    registry.exporter(
        "meetings",
        N_("Meetings: the year's register with attendance (YEAR)"),
        [Audience.REVIEWER],
        export_meetings,
    )
    registry.periodic("meetings.notices", timedelta(minutes=1), run_notices)
    registry.periodic(
        "meetings.overdue", timedelta(hours=1), run_overdue, first=timedelta(minutes=3)
    )


async def export_meetings(update: Update, ctx: BranchContext, args: list[str]) -> None:
    _ = ctx.gettext
    viewer = ctx.viewer
    if args and not (args[0].isascii() and args[0].isdigit() and len(args[0]) == 4):
        await reply(update, ctx, _("Send /export meetings YEAR, e.g. /export meetings 2026."))
        return
    if not viewer.is_member or viewer.branch_timezone is None:
        await reply(update, ctx, _("Only members of a branch can do this."))
        return
    year = int(args[0]) if args else local_today(ctx.svc.clock.now(), viewer.branch_timezone).year
    try:
        rows, people = await ctx.svc.meeting_compliance.year_register(viewer, year)
    except DomainError as exc:
        await reply(update, ctx, render_error(ctx, exc))
        return
    data = meetings_workbook(year, rows, people, _)
    await send_file(update, ctx, data, f"meetings-{year}.xlsx", year_title(_, year))


# ---------------------------------------------------------------------------- periodic
async def run_notices(app: Any) -> int:
    """Queue every notice that is due (with its buttons, in each recipient's language)
    and mark it sent, in one transaction: a restart never sends a notice twice. Then
    send them. Returns how many were queued."""
    runtime: Runtime = app.bot_data["runtime"]
    queued = 0
    async with runtime.unit_of_work() as svc:
        notices = await svc.meetings.due_notices()
        by_meeting: dict[int, tuple[MeetingInfo, list[int]]] = {}
        for n in notices:
            if await svc.meetings.mark_notified(n.attendance_id):
                by_meeting.setdefault(n.meeting.id, (n.meeting, []))[1].append(n.telegram_user_id)
        for meeting, recipients in by_meeting.values():
            queued += await queue_broadcast(
                svc, recipients, notice_broadcast(meeting), markup=notice_markup(meeting)
            )
    if queued:
        await drain(app)
    return queued


def overdue_render(alert: Alert) -> BroadcastRender:
    def render(r: Reader, _telegram_id: int) -> list[tuple[str, int | None]]:
        t = r.gettext
        text = t(
            "⏰ {period}: no {kind} has been held yet, and the period ends on {end}. "
            "Schedule one with /meeting_new."
        ).format(
            period=alert.period.key,
            kind=esc(kind_label(t, alert.kind)),
            end=r.date(alert.period.end),
        )
        return [(text, None)]

    return render


def admin_overdue_render(branch: str, alert: Alert) -> BroadcastRender:
    """The same alert for the administrators above the branch, naming the branch."""

    def render(r: Reader, _telegram_id: int) -> list[tuple[str, int | None]]:
        t = r.gettext
        text = t(
            "⏰ {branch} · {period}: no {kind} has been held yet, and the period ends on {end}."
        ).format(
            branch=esc(branch),
            period=alert.period.key,
            kind=esc(kind_label(t, alert.kind)),
            end=r.date(alert.period.end),
        )
        return [(text, None)]

    return render


async def run_overdue(app: Any) -> int:
    """Alert secretaries, once per kind and period, of a meeting not held as its period
    is about to end; and the organisation's administrators above the branch (once too:
    with the same alerts, recorded once per branch, kind and period)."""
    runtime: Runtime = app.bot_data["runtime"]
    sent = 0
    async with runtime.unit_of_work() as svc:
        branches = await svc.meeting_compliance.branch_ids()
    for branch_id in branches:
        async with runtime.unit_of_work() as svc:
            alerts = await svc.meeting_compliance.due_alerts(branch_id)
            for alert in alerts:
                sent += await queue_broadcast(svc, [alert.telegram_user_id], overdue_render(alert))
            if not alerts:
                continue
            name, admins = await svc.organisation.admins_of_branch(branch_id)
            secretaries = {a.telegram_user_id for a in alerts}
            admins = [tid for tid in admins if tid not in secretaries]
            if not admins:
                continue
            periods = list(dict.fromkeys((a.kind, a.period) for a in alerts))
            for kind, period in periods:
                alert = Alert(branch_id, kind, period, 0)
                sent += await queue_broadcast(svc, admins, admin_overdue_render(name, alert))
    if sent:
        await drain(app)
    return sent
