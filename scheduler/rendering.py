"""Rendering reminders: the claimed outbox rows a broadcast batch sends, and each one's
text in its recipient's language with the extras of other features (the fee amount
and a "Paid" button), what those need read ahead for the whole batch."""

# i18n-domain: reminders

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.runtime import Runtime
from domain import calendar as cal
from domain.reader import Reader
from domain.services import Services
from scheduler import hooks

log = logging.getLogger(__name__)

Gettext = Callable[[str], str]


@dataclass
class Claimed:
    id: int
    token: str
    person_id: int
    telegram_user_id: int
    occurrence: date
    due_at: datetime
    days_before: int
    kind: str
    title: str | None
    event_time: str | None
    locale: str
    attempts: int = 1
    text: str = ""
    markup: InlineKeyboardMarkup | None = None


@dataclass
class SendResult:
    row: Claimed
    status: str
    error: str | None = None
    sent_at: datetime | None = None
    message_id: int | None = None
    blocked_at: datetime | None = None


async def render_batch(
    runtime: Runtime, batch: list[Claimed], results: list[SendResult]
) -> list[Claimed]:
    """Every row's text in its recipient's language, in one unit of work; what the
    extras need is read ahead for the whole batch (``hooks.EXTRA_PREFETCH``)."""
    ready: list[Claimed] = []
    async with runtime.db.session() as session:
        svc = Services(session, runtime.clock)
        for kind in sorted({row.kind for row in batch}):
            items = [(row.person_id, row.occurrence) for row in batch if row.kind == kind]
            for extra_fn in hooks.REMINDER_EXTRAS.get(kind, []):
                prefetch = hooks.EXTRA_PREFETCH.get(extra_fn)
                if prefetch is not None:
                    try:
                        await prefetch(svc, items)
                    except Exception:
                        log.exception("prefetch for %s reminders failed", kind)
        for row in batch:
            try:
                row.text, row.markup = await render(svc, row)
                ready.append(row)
            except Exception:
                log.exception("reminder %s could not be rendered", row.id)
                results.append(SendResult(row, "failed", error="render error"))
    return ready


def date_text(t: Gettext, day: date) -> str:
    return t("{date} ({weekday})").format(
        date=day.isoformat(), weekday=t(cal.WEEKDAY_LABELS[day.weekday()])
    )


def event_title(t: Gettext, kind: str, title: str | None) -> str:
    return (
        html.escape(title, quote=False)
        if title
        else t(cal.KIND_LABELS.get(kind, cal.KIND_LABELS[cal.ONE_OFF]))
    )


async def render(svc: Services, row: Claimed) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reminder as one recipient reads it (their language, extras of other
    features such as the fee amount and a "Paid" button)."""
    reader = Reader.of(row.locale)  # the recipient's, read with the claimed row
    t = reader.gettext
    title = event_title(t, row.kind, row.title)
    when = date_text(t, row.occurrence)
    if row.kind in cal.DEADLINE_KINDS:
        if row.days_before == 0:
            lead = t("⏰ <b>{title}</b>: the deadline is today, {date}.")
        else:
            lead = t("⏰ <b>{title}</b>: the deadline is {date}, in {n} days.")
        lines = [lead.format(title=title, date=when, n=row.days_before)]
        lines.append(t("Please hand it in on time. If you already have, thank you!"))
    else:
        if row.days_before == 0:
            lead = t("📅 <b>{title}</b> is today, {date}.")
        elif row.days_before == 1:
            lead = t("📅 <b>{title}</b> is tomorrow, {date}.")
        else:
            lead = t("📅 <b>{title}</b> is in {n} days, on {date}.")
        lines = [lead.format(title=title, date=when, n=row.days_before)]
        if row.event_time:
            lines.append(t("Time: {time}").format(time=row.event_time))
    buttons: list[list[InlineKeyboardButton]] = []
    for extra_fn in hooks.REMINDER_EXTRAS.get(row.kind, []):
        extra = await extra_fn(svc, row.person_id, row.occurrence, reader)
        if extra is not None:
            lines.extend(extra.lines)
            buttons.extend(extra.buttons)
    if row.kind not in cal.MANDATORY_KINDS:
        lines.append("")
        lines.append(t("<i>Send /mute to mute or pause optional reminders.</i>"))
    return "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None
