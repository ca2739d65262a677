"""The reminder dispatcher: one plain async function, ``dispatch_due(runtime, app_or_bot,
now)``, that PTB's job queue calls every few seconds with ``runtime.clock.now()`` and that
tests call directly with any ``now``.

The database is the source of truth (no pickled APScheduler jobs):

1. **Materialise**: for every enabled calendar rule and reminder, the reminders due in
   ``[now - grace, now]`` become one ``reminder_occurrences`` row (UNIQUE per reminder
   and occurrence) and one ``reminder_outbox`` row per recipient (UNIQUE per reminder,
   occurrence and person). A reminder whose time passed longer ago than the grace
   window (the bot was down) is recorded as ``skipped`` and logged, never sent late.
2. **Claim** a batch atomically: ``UPDATE … SET status='sending', claim_token=…
   WHERE id IN (…) AND status='pending'``; only rows carrying our token are sent.
3. **Send** paced (≈30/s overall, 1/s per chat) and record each result in its own
   transaction: ``sent``; ``blocked`` (403: the account is marked, never retried);
   ``pending`` again after a 429 that PTB's rate limiter could not wait out (the pause
   is honoured); ``failed`` (400); ``unknown`` when Telegram may have accepted the
   message but we cannot know (time-out, dropped connection, 5xx).

The one window the Bot API cannot close — Telegram accepted, the process died before
recording — is handled by an explicit policy: a row still ``sending`` from another
process (at start-up, or claimed longer than ``stale_after`` ago) becomes ``unknown``,
is **never resent** and is listed for the secretary (``/calendar``,
``/reminders_unknown``). A graceful stop finishes the batch in flight and leaves the rest
``pending`` for the next start: no duplicate, no loss.

Several instances: exactly one may run this function at a time (a leader lock can wrap
it); claims are atomic anyway.
"""

# i18n-domain: reminders

from __future__ import annotations

import asyncio
import html
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.runtime import Runtime
from bot.settings import Settings
from domain import calendar as cal
from domain.reader import Reader
from domain.reminders import in_audience, schedule_of
from domain.services import Services
from locales.i18n import negotiate_locale
from scheduler import hooks
from scheduler.pacing import Pacer
from store.models import (
    Branch,
    CalendarRule,
    ReminderOccurrence,
    ReminderOutbox,
    ReminderPreference,
    ReminderRule,
    TelegramAccount,
)
from store.repositories import branch_members

log = logging.getLogger(__name__)

Gettext = Callable[[str], str]


@dataclass
class ReminderConfig:
    """Dispatcher settings; the first three come from :class:`bot.settings.Settings`
    (``BRANCHBOT_REMINDER_GRACE_HOURS``, ``BRANCHBOT_REMINDER_TICK_SECONDS`` with 0 = no
    automatic tick, ``BRANCHBOT_BROADCAST_RATE``)."""

    grace: timedelta = timedelta(hours=6)
    lookback: timedelta = timedelta(days=7)
    tick_seconds: float = 15.0
    rate_per_second: float = 30.0
    batch_size: int = 30
    stale_after: timedelta = timedelta(minutes=10)
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderConfig:
        return cls(
            grace=timedelta(hours=settings.reminder_grace_hours),
            tick_seconds=settings.reminder_tick_seconds,
            rate_per_second=settings.broadcast_rate,
        )


@dataclass
class DispatchReport:
    queued: int = 0  # outbox rows created
    skipped_occurrences: int = 0  # beyond the grace window
    skipped_rows: int = 0  # pending rows that grew too old
    recovered_unknown: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0
    retry: int = 0
    stopped_early: bool = False

    def add(self, other: DispatchReport) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(other, name)
            if isinstance(value, bool):
                setattr(self, name, getattr(self, name) or value)
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass
class _State:
    """Per bot process: the claim-token prefix, the pacer, and whether the start-up
    recovery ran."""

    config: ReminderConfig
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    process: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    seq: int = 0
    recovered: bool = False
    pacer: Pacer | None = None

    def next_token(self) -> str:
        self.seq += 1
        return f"{self.process}-{self.seq}"

    def get_pacer(self) -> Pacer:
        if self.pacer is None or self.pacer.rate != self.config.rate_per_second:
            self.pacer = Pacer(self.config.rate_per_second)
        return self.pacer


_BOT_STATES: dict[int, _State] = {}
STATE_KEY = "reminders_dispatcher"
CONFIG_KEY = "reminders_config"


def _split(app_or_bot: Any) -> tuple[Application[Any, Any, Any, Any, Any, Any] | None, Bot]:
    if isinstance(app_or_bot, Application):
        return app_or_bot, app_or_bot.bot
    return None, app_or_bot


def dispatcher_state(app_or_bot: Any, config: ReminderConfig | None = None) -> _State:
    app, bot = _split(app_or_bot)
    if app is not None:
        state = app.bot_data.get(STATE_KEY)
        if state is None:
            cfg = config or app.bot_data.get(CONFIG_KEY) or ReminderConfig()
            state = app.bot_data[STATE_KEY] = _State(cfg)
    else:
        state = _BOT_STATES.get(id(bot))
        if state is None:
            state = _BOT_STATES[id(bot)] = _State(config or ReminderConfig())
    if config is not None:
        state.config = config
    assert isinstance(state, _State)
    return state


# ------------------------------------------------------------------------ entry points
async def dispatch_due(
    runtime: Runtime,
    app_or_bot: Any,
    now: datetime,
    *,
    config: ReminderConfig | None = None,
) -> DispatchReport:
    """Materialise the reminders due at ``now``, then claim and send them until none are
    left (or the application is stopping). Safe to call at any time, any number of
    times: every step is idempotent."""
    app, bot = _split(app_or_bot)
    state = dispatcher_state(app_or_bot, config)
    cfg = state.config
    report = DispatchReport()
    async with state.lock:
        if not state.recovered:
            report.recovered_unknown += await recover_in_flight(runtime, state.process, now)
            state.recovered = True
        await _sweep(runtime, state, now, report)
        await materialise(runtime, now, cfg, report)
        while True:
            if app is not None and not app.running:
                report.stopped_early = True
                break
            batch = await claim(runtime, state.next_token(), now, cfg.batch_size)
            if not batch:
                break
            await _send_batch(runtime, app, bot, state, batch, now, report)
    if report.sent or report.queued or report.unknown or report.skipped_occurrences:
        log.info("reminders: %s", report)
    return report


async def tick(app: Any) -> None:
    """The job-queue callback: one dispatch with the runtime's clock. A tick that finds
    the previous one still sending (a long broadcast) returns at once."""
    runtime: Runtime = app.bot_data["runtime"]
    state = dispatcher_state(app)
    if state.lock.locked():
        return
    try:
        await dispatch_due(runtime, app, runtime.clock.now())
    except Exception:
        log.exception("reminder dispatch failed")


# ------------------------------------------------------------------------ recovery
async def recover_in_flight(runtime: Runtime, process: str, now: datetime) -> int:
    """Start-up: rows another process left in ``sending`` may or may not have reached
    Telegram. They become ``unknown``: never resent, listed for the secretary."""
    async with runtime.db.session() as session:
        ids = (
            await session.scalars(
                select(ReminderOutbox.id).where(
                    ReminderOutbox.status == "sending",
                    ~ReminderOutbox.claim_token.startswith(f"{process}-"),
                )
            )
        ).all()
        if not ids:
            return 0
        await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.id.in_(ids), ReminderOutbox.status == "sending")
            .values(status="unknown", error="interrupted while sending (restart)")
        )
        await session.commit()
    log.warning(
        "reminders: %d message(s) were being sent when the bot stopped; recorded as "
        "'unknown' and not resent (see /reminders_unknown)",
        len(ids),
    )
    return len(ids)


async def _sweep(runtime: Runtime, state: _State, now: datetime, report: DispatchReport) -> None:
    cfg = state.config
    async with runtime.db.session() as session:
        stale = (
            await session.scalars(
                select(ReminderOutbox.id).where(
                    ReminderOutbox.status == "sending",
                    ReminderOutbox.claimed_at < now - cfg.stale_after,
                    ~ReminderOutbox.claim_token.startswith(f"{state.process}-"),
                )
            )
        ).all()
        old = (
            await session.scalars(
                select(ReminderOutbox.id).where(
                    ReminderOutbox.status == "pending", ReminderOutbox.due_at < now - cfg.grace
                )
            )
        ).all()
        if stale:
            await session.execute(
                update(ReminderOutbox)
                .where(ReminderOutbox.id.in_(stale), ReminderOutbox.status == "sending")
                .values(status="unknown", error="claimed by a process that stopped")
            )
            report.recovered_unknown += len(stale)
        if old:
            await session.execute(
                update(ReminderOutbox)
                .where(ReminderOutbox.id.in_(old), ReminderOutbox.status == "pending")
                .values(status="skipped", error="older than the grace window")
            )
            report.skipped_rows += len(old)
            log.warning("reminders: %d queued message(s) too old to send late; skipped", len(old))
        if stale or old:
            await session.commit()


# ------------------------------------------------------------------------ materialise
async def materialise(
    runtime: Runtime, now: datetime, cfg: ReminderConfig, report: DispatchReport
) -> None:
    async with runtime.db.session() as session:
        svc = Services(session, runtime.clock)
        branches = (await session.scalars(select(Branch))).all()
        for branch in branches:
            await svc.reminders.ensure_defaults(branch.id)
        rows = (
            await session.execute(
                select(CalendarRule, ReminderRule, Branch)
                .join(ReminderRule, ReminderRule.calendar_rule_id == CalendarRule.id)
                .join(Branch, Branch.id == CalendarRule.branch_id)
                .where(
                    CalendarRule.enabled.is_(True),
                    CalendarRule.reminders_on.is_(True),
                    ReminderRule.enabled.is_(True),
                )
                .order_by(CalendarRule.branch_id, CalendarRule.id, ReminderRule.id)
            )
        ).all()
        existing = {
            (rid, occ)
            for rid, occ in (
                await session.execute(
                    select(ReminderOccurrence.reminder_id, ReminderOccurrence.occurrence).where(
                        ReminderOccurrence.due_at >= now - cfg.lookback - timedelta(days=1)
                    )
                )
            ).all()
        }
        for rule, reminder, branch in rows:
            lower = max(now - cfg.lookback, rule.changed_at, reminder.created_at)
            if lower > now:
                continue
            try:
                due = cal.due_between(
                    schedule_of(rule),
                    reminder.days_before,
                    reminder.at_time,
                    branch.timezone,
                    lower,
                    now,
                )
            except ValueError:
                log.exception("calendar rule %s is invalid; ignored", rule.id)
                continue
            for occurrence, due_at in due:
                if (reminder.id, occurrence) in existing:
                    continue
                existing.add((reminder.id, occurrence))
                late = due_at < now - cfg.grace
                occ_row = ReminderOccurrence(
                    reminder_id=reminder.id,
                    branch_id=branch.id,
                    occurrence=occurrence,
                    due_at=due_at,
                    status="skipped" if late else "queued",
                    recipients=0,
                    created_at=now,
                )
                try:
                    async with session.begin_nested():
                        session.add(occ_row)
                        await session.flush()
                except IntegrityError:
                    continue  # another dispatcher got there first
                if late:
                    report.skipped_occurrences += 1
                    log.warning(
                        "reminders: %s of %s (rule %s, due %s) passed beyond the grace "
                        "window while the bot was down; skipped",
                        rule.kind,
                        occurrence,
                        rule.id,
                        due_at.isoformat(),
                    )
                    continue
                values = await _recipients(svc, rule, reminder.id, branch, occurrence, due_at, now)
                if values:
                    await session.execute(insert(ReminderOutbox), values)
                occ_row.recipients = len(values)
                report.queued += len(values)
        await session.commit()


async def _recipients(
    svc: Services,
    rule: CalendarRule,
    reminder_id: int,
    branch: Branch,
    occurrence: date,
    due_at: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    members = await branch_members(svc.session, branch.id)
    owed: set[int] | None = None
    if rule.kind in cal.DEADLINE_KINDS and rule.kind in hooks.AUDIENCE_FILTERS:
        owed = await hooks.AUDIENCE_FILTERS[rule.kind](svc, branch.id, occurrence)
    prefs = {
        p.person_id: p
        for p in (
            await svc.session.scalars(
                select(ReminderPreference).where(
                    ReminderPreference.person_id.in_([m.person.id for m in members])
                )
            )
        ).all()
    }
    mandatory = rule.kind in cal.MANDATORY_KINDS
    due_day = due_at.astimezone(ZoneInfo(branch.timezone)).date()
    values: list[dict[str, Any]] = []
    for m in members:
        if not in_audience(rule.audience, m.person.status, m.membership.role):
            continue
        if owed is not None and m.person.id not in owed:
            continue
        account = m.account
        if account is None or account.started_at is None:
            continue  # a bot cannot message someone who never pressed /start
        status = "pending"
        error = None
        pref = prefs.get(m.person.id)
        if account.blocked_at is not None:
            status, error = "blocked", "blocked the bot earlier"
        elif pref is not None and not mandatory:
            if pref.muted:
                status, error = "muted", "muted optional reminders"
            elif pref.paused_until is not None and due_day <= pref.paused_until:
                status, error = "muted", f"paused until {pref.paused_until.isoformat()}"
        values.append(
            {
                "reminder_id": reminder_id,
                "occurrence": occurrence,
                "person_id": m.person.id,
                "branch_id": branch.id,
                "telegram_user_id": account.telegram_user_id,
                "kind": rule.kind,
                "due_at": due_at,
                "status": status,
                "attempts": 0,
                "error": error,
                "created_at": now,
            }
        )
    return values


# ------------------------------------------------------------------------ claim & send
@dataclass
class _Claimed:
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
    text: str = ""
    markup: InlineKeyboardMarkup | None = None


async def claim(runtime: Runtime, token: str, now: datetime, limit: int) -> list[_Claimed]:
    """Atomically take up to ``limit`` due rows: pending → sending with our token."""
    async with runtime.db.session() as session:
        candidates = (
            await session.scalars(
                select(ReminderOutbox.id)
                .where(ReminderOutbox.status == "pending", ReminderOutbox.due_at <= now)
                .order_by(ReminderOutbox.due_at, ReminderOutbox.id)
                .limit(limit)
            )
        ).all()
        if not candidates:
            return []
        await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.id.in_(candidates), ReminderOutbox.status == "pending")
            .values(
                status="sending",
                claim_token=token,
                claimed_at=now,
                attempts=ReminderOutbox.attempts + 1,
            )
        )
        await session.commit()
        rows = (
            await session.execute(
                select(ReminderOutbox, ReminderRule, CalendarRule, TelegramAccount)
                .join(ReminderRule, ReminderRule.id == ReminderOutbox.reminder_id)
                .join(CalendarRule, CalendarRule.id == ReminderRule.calendar_rule_id)
                .outerjoin(
                    TelegramAccount,
                    TelegramAccount.telegram_user_id == ReminderOutbox.telegram_user_id,
                )
                .where(ReminderOutbox.claim_token == token, ReminderOutbox.status == "sending")
                .order_by(ReminderOutbox.due_at, ReminderOutbox.id)
            )
        ).all()
    return [
        _Claimed(
            id=o.id,
            token=token,
            person_id=o.person_id,
            telegram_user_id=o.telegram_user_id,
            occurrence=o.occurrence,
            due_at=o.due_at,
            days_before=r.days_before,
            kind=c.kind,
            title=c.title,
            event_time=c.event_time,
            locale=(a.locale or negotiate_locale(a.language_code)) if a else negotiate_locale(None),
        )
        for o, r, c, a in rows
    ]


async def _send_batch(
    runtime: Runtime,
    app: Application[Any, Any, Any, Any, Any, Any] | None,
    bot: Bot,
    state: _State,
    batch: list[_Claimed],
    now: datetime,
    report: DispatchReport,
) -> None:
    ready: list[_Claimed] = []
    async with runtime.db.session() as session:
        svc = Services(session, runtime.clock)
        for row in batch:
            try:
                row.text, row.markup = await render(svc, row)
                ready.append(row)
            except Exception:
                log.exception("reminder %s could not be rendered", row.id)
                await _record(runtime, row, "failed", error="render error")
                report.failed += 1
    pacer = state.get_pacer()
    tasks = []
    for index, row in enumerate(ready):
        await pacer.acquire(row.telegram_user_id)
        if app is not None and not app.running:
            # Stopping: what is not yet handed to Telegram goes back to the queue.
            for rest in ready[index:]:
                await _record(runtime, rest, "pending")
            report.stopped_early = True
            break
        tasks.append(asyncio.create_task(_send_one(runtime, bot, state, row, now, report)))
    if tasks:
        await asyncio.wait(tasks)


async def _send_one(
    runtime: Runtime,
    bot: Bot,
    state: _State,
    row: _Claimed,
    now: datetime,
    report: DispatchReport,
) -> None:
    try:
        message = await bot.send_message(
            row.telegram_user_id, row.text, parse_mode=ParseMode.HTML, reply_markup=row.markup
        )
    except Forbidden as exc:
        await _record(runtime, row, "blocked", error=str(exc)[:200], blocked_at=now)
        report.blocked += 1
    except RetryAfter as exc:
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        state.get_pacer().pause(seconds)
        attempts = await _attempts(runtime, row.id)
        if attempts >= state.config.max_attempts:
            await _record(runtime, row, "failed", error="rate limited too often")
            report.failed += 1
        else:
            await _record(runtime, row, "pending", error=f"429, retry after {seconds:.0f}s")
            report.retry += 1
    except BadRequest as exc:
        await _record(runtime, row, "failed", error=str(exc)[:200])
        report.failed += 1
    except TelegramError as exc:
        # Time-out, dropped connection, server error: Telegram may have delivered it.
        await _record(runtime, row, "unknown", error=str(exc)[:200])
        report.unknown += 1
        log.warning("reminder %s to %s: unknown outcome (%s)", row.id, row.telegram_user_id, exc)
    else:
        await _record(runtime, row, "sent", sent_at=now, message_id=message.message_id)
        report.sent += 1


async def _attempts(runtime: Runtime, row_id: int) -> int:
    async with runtime.db.session() as session:
        return int(
            await session.scalar(select(ReminderOutbox.attempts).where(ReminderOutbox.id == row_id))
            or 0
        )


async def _record(
    runtime: Runtime,
    row: _Claimed,
    status: str,
    *,
    error: str | None = None,
    sent_at: datetime | None = None,
    message_id: int | None = None,
    blocked_at: datetime | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "error": error}
    if status == "pending":
        values["claim_token"] = None
    if sent_at is not None:
        values["sent_at"] = sent_at
    if message_id is not None:
        values["message_id"] = message_id
    async with runtime.db.session() as session:
        await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.id == row.id, ReminderOutbox.claim_token == row.token)
            .values(**values)
        )
        if blocked_at is not None:
            await session.execute(
                update(TelegramAccount)
                .where(
                    TelegramAccount.telegram_user_id == row.telegram_user_id,
                    TelegramAccount.blocked_at.is_(None),
                )
                .values(blocked_at=blocked_at)
            )
        await session.commit()


# ------------------------------------------------------------------------ rendering
def _date_text(t: Gettext, day: date) -> str:
    return t("{date} ({weekday})").format(
        date=day.isoformat(), weekday=t(cal.WEEKDAY_LABELS[day.weekday()])
    )


def event_title(t: Gettext, kind: str, title: str | None) -> str:
    return (
        html.escape(title, quote=False)
        if title
        else t(cal.KIND_LABELS.get(kind, cal.KIND_LABELS[cal.ONE_OFF]))
    )


async def render(svc: Services, row: _Claimed) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reminder as one recipient reads it (their language, extras of other
    features such as the fee amount and a "Paid" button)."""
    reader = Reader.of(row.locale)  # the recipient's, read with the claimed row
    t = reader.gettext
    title = event_title(t, row.kind, row.title)
    when = _date_text(t, row.occurrence)
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
