"""The reminder dispatcher: one plain async function, ``dispatch_due(runtime, app_or_bot,
now)``, that PTB's job queue calls every few seconds with ``runtime.clock.now()`` and that
tests call directly with any ``now``.

The database is the source of truth (no pickled APScheduler jobs):

1. **Materialise** (``scheduler.materialise``): for every enabled calendar rule and
   reminder, the reminders due in ``[now - grace, now]`` become one
   ``reminder_occurrences`` row and one ``reminder_outbox`` row per recipient (both
   UNIQUE). A reminder whose time passed longer ago than the grace window (the bot was
   down) is recorded as ``skipped`` and logged, never sent late.
2. **Claim** a batch sized to the rate (about a second of sending) atomically:
   ``UPDATE … SET status='claimed', claim_token=… WHERE id IN (…) AND status='pending'``;
   only rows carrying our token are ours. A claimed row has not been handed to Telegram:
   whoever finds it abandoned puts it back to ``pending``.
3. **Send** paced by the :class:`~scheduler.pacing.Pacer` (``BRANCHBOT_BROADCAST_RATE``
   messages/s, 1/s per chat), concurrently, in small groups (``group_seconds`` of
   sending, e.g. 50 rows at 1,000/s): when a group's pacer slot has come, one UPDATE
   marks just that group ``sending`` (claimed → sending), then its requests go out.
   Above 30/s the messages are paid broadcasts (``allow_paid_broadcast``).
4. **Record** the results in batches: the results that came back are written with one
   executemany UPDATE, in the same transaction that marks the next group ``sending``:
   ``sent``; ``blocked`` (403: the account is marked, never retried); ``pending`` again
   after a 429 that PTB's rate limiter could not wait out (the pause is honoured);
   ``failed`` (400); ``unknown`` when Telegram may have accepted the message but we
   cannot know (time-out, dropped connection, 5xx).

The one window the Bot API cannot close — Telegram accepted, the process died before
recording — is handled by an explicit policy: a row still ``sending`` from another
process (at start-up, when this process takes over the scheduler lease, or claimed longer
than ``stale_after`` ago) becomes ``unknown``, is **never resent** and is listed for the
secretary (``/calendar``, ``/reminders_unknown``); rows another process left
``claimed`` go back to ``pending`` at once (they were never sent). So a killed leader
leaves ambiguous only the group whose requests were in flight. A graceful stop finishes
the group in flight and leaves the rest ``pending`` for the next start: no duplicate, no
loss.

Several instances: exactly one runs this function (the scheduler lease,
``scheduler.leader``). The holder is **fenced**: marking a group ``sending`` is one
UPDATE conditional on the lease row still naming this process and not expired, so a
leader that lost its lease (stalled, cut off) sends nothing more; claims are atomic
anyway.
"""

# i18n-domain: reminders

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, or_, select, update
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ExtBot

from bot.aiohttp_request import AiohttpRequest
from bot.runtime import Runtime
from bot.settings import Settings
from locales.i18n import negotiate_locale
from scheduler.leader import LeaderLease
from scheduler.materialise import materialise
from scheduler.pacing import Pacer, wait_until
from scheduler.rendering import Claimed as _Claimed
from scheduler.rendering import SendResult as _Result
from scheduler.rendering import render, render_batch
from store.models import (
    CalendarRule,
    Lease,
    ReminderOutbox,
    ReminderRule,
    TelegramAccount,
)

log = logging.getLogger(__name__)

Gettext = Callable[[str], str]

#: Telegram's free broadcast ceiling (messages/s); above it, paid broadcasts.
FREE_BROADCAST_RATE = 30.0

__all__ = [
    "DispatchReport",
    "ReminderConfig",
    "claim",
    "dispatch_due",
    "materialise",
    "recover_in_flight",
    "render",
    "reserve",
    "tick",
]


@dataclass
class ReminderConfig:
    """Dispatcher settings; the first three come from :class:`bot.settings.Settings`
    (``BRANCHBOT_REMINDER_GRACE_HOURS``, ``BRANCHBOT_REMINDER_TICK_SECONDS`` with 0 = no
    automatic tick, ``BRANCHBOT_BROADCAST_RATE``)."""

    grace: timedelta = timedelta(hours=6)
    lookback: timedelta = timedelta(days=7)
    tick_seconds: float = 15.0
    rate_per_second: float = 30.0
    #: The smallest claim; a claim holds about a second of sending at the rate.
    batch_size: int = 30
    #: Rows marked ``sending`` at once: this many seconds of sending (at least one row).
    group_seconds: float = 0.05
    stale_after: timedelta = timedelta(minutes=10)
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderConfig:
        return cls(
            grace=timedelta(hours=settings.reminder_grace_hours),
            tick_seconds=settings.reminder_tick_seconds,
            rate_per_second=settings.broadcast_rate,
        )

    @property
    def paid(self) -> bool:
        """Above Telegram's free 30/s: sent with ``allow_paid_broadcast``."""
        return self.rate_per_second > FREE_BROADCAST_RATE

    @property
    def claim_size(self) -> int:
        return max(self.batch_size, math.ceil(self.rate_per_second))

    @property
    def group_size(self) -> int:
        return max(1, math.ceil(self.rate_per_second * self.group_seconds))


@dataclass
class DispatchReport:
    queued: int = 0  # outbox rows created
    skipped_occurrences: int = 0  # beyond the grace window
    skipped_rows: int = 0  # pending rows that grew too old
    recovered_unknown: int = 0
    reclaimed: int = 0  # claimed, never sent, by a process that stopped: pending again
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0
    retry: int = 0
    stopped_early: bool = False
    fenced: bool = False  # the lease was lost during the broadcast

    def add(self, other: DispatchReport) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(other, name)
            if isinstance(value, bool):
                setattr(self, name, getattr(self, name) or value)
            else:
                setattr(self, name, getattr(self, name) + value)


@dataclass
class _State:
    """Per bot process: the claim-token prefix, the pacer, and which lease term the
    recovery ran for."""

    config: ReminderConfig
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    process: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    seq: int = 0
    recovered_term: int | None = None
    pacer: Pacer | None = None
    _in_flight: asyncio.Semaphore | None = None
    fast_bot: Bot | None = None
    _in_flight_limit: int = 0

    def next_token(self) -> str:
        self.seq += 1
        return f"{self.process}-{self.seq}"

    @staticmethod
    def in_flight_limit(config: ReminderConfig) -> int:
        return max(4, math.ceil(config.rate_per_second * 0.05))

    def in_flight(self, config: ReminderConfig) -> asyncio.Semaphore:
        """Requests in flight at once: enough for the rate at ~50 ms per request, and
        few enough that the HTTP client's pool stays small (httpcore scans every
        pooled connection for each request: 256 open connections cost more CPU than
        the requests themselves at 1,000/s)."""
        limit = self.in_flight_limit(config)
        if self._in_flight is None or self._in_flight_limit != limit:
            self._in_flight = asyncio.Semaphore(limit)
            self._in_flight_limit = limit
        return self._in_flight

    async def broadcast_bot(self, runtime: Runtime, bot: Bot) -> Bot:
        """The bot the reminders go out through: the application's; for a paid
        broadcast a second one with the same token, limiter and defaults on the aiohttp
        backend (``bot.aiohttp_request``: a tenth of httpx's CPU per request)."""
        if not self.config.paid:
            return bot
        if self.fast_bot is None:
            settings = runtime.settings
            fast: Bot = ExtBot(
                bot.token,
                base_url=settings.telegram_api_base_url,
                base_file_url=settings.telegram_api_base_file_url,
                request=AiohttpRequest(self.in_flight_limit(self.config) + 8),
                defaults=bot.defaults if isinstance(bot, ExtBot) else None,
                rate_limiter=bot.rate_limiter if isinstance(bot, ExtBot) else None,
            )
            await fast.initialize()
            self.fast_bot = fast
        return self.fast_bot

    async def close(self) -> None:
        if self.fast_bot is not None:
            await self.fast_bot.shutdown()
            self.fast_bot = None

    def get_pacer(self) -> Pacer:
        if self.pacer is None or self.pacer.rate != self.config.rate_per_second:
            # A paid broadcast may catch up a few slots lost to a database round trip
            # (Telegram's paid ceiling is a per-second budget); the free one stays strict.
            catch_up = 2 * self.config.group_seconds if self.config.paid else 0.0
            self.pacer = Pacer(self.config.rate_per_second, catch_up=catch_up)
        return self.pacer


_BOT_STATES: dict[int, _State] = {}
STATE_KEY = "reminders_dispatcher"
CONFIG_KEY = "reminders_config"


def _split(app_or_bot: Any) -> tuple[Application[Any, Any, Any, Any, Any, Any] | None, Bot]:
    if isinstance(app_or_bot, Application):
        return app_or_bot, app_or_bot.bot
    return None, app_or_bot


async def close(app_or_bot: Any) -> None:
    """At shutdown: close the paid-broadcast bot's HTTP session, if one was opened."""
    app, bot = _split(app_or_bot)
    state = app.bot_data.get(STATE_KEY) if app is not None else _BOT_STATES.get(id(bot))
    if isinstance(state, _State):
        await state.close()


def dispatcher_state(app_or_bot: Any, config: ReminderConfig | None = None) -> _State:
    app, bot = _split(app_or_bot)
    if app is not None:
        state = app.bot_data.get(STATE_KEY)
        if state is None:
            cfg = config or app.bot_data.get(CONFIG_KEY) or ReminderConfig()
            state = app.bot_data[STATE_KEY] = _State(cfg)
            leader = app.bot_data.get("leader")
            if isinstance(leader, LeaderLease):
                # Claim tokens name the instance (its /healthz "instance" begins so).
                state.process = leader.holder[:12]
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
    lease: LeaderLease | None = None,
) -> DispatchReport:
    """Materialise the reminders due at ``now``, then claim and send them until none are
    left (or the application is stopping, or ``lease`` is lost). Safe to call at any
    time, any number of times: every step is idempotent. ``lease``: the scheduler lease
    this process holds (the job queue's tick passes it): sends are fenced by it, and
    what a previous holder left is recovered once per term."""
    app, bot = _split(app_or_bot)
    state = dispatcher_state(app_or_bot, config)
    cfg = state.config
    report = DispatchReport()
    async with state.lock:
        term = lease.terms if lease is not None else 0
        if state.recovered_term != term:
            unknown, reclaimed = await recover_in_flight(runtime, state.process, now)
            report.recovered_unknown += unknown
            report.reclaimed += reclaimed
            state.recovered_term = term
        await _sweep(runtime, state, now, report)
        await materialise(runtime, now, cfg, report)
        await _broadcast(runtime, app, bot, state, now, report, lease)
    if report.sent or report.queued or report.unknown or report.skipped_occurrences:
        log.info("reminders: %s", report)
    return report


async def tick(app: Any) -> None:
    """The job-queue callback: one dispatch with the runtime's clock, fenced by the
    scheduler lease. A tick that finds the previous one still sending (a long
    broadcast) returns at once."""
    runtime: Runtime = app.bot_data["runtime"]
    state = dispatcher_state(app)
    if state.lock.locked():
        return
    lease = app.bot_data.get("leader")
    try:
        await dispatch_due(
            runtime,
            app,
            runtime.clock.now(),
            lease=lease if isinstance(lease, LeaderLease) else None,
        )
    except Exception:
        log.exception("reminder dispatch failed")


# ------------------------------------------------------------------------ recovery
async def recover_in_flight(runtime: Runtime, process: str, now: datetime) -> tuple[int, int]:
    """At start-up and when this process takes the lease over: rows another process left
    ``claimed`` were never handed to Telegram and go back to ``pending``; rows it left
    ``sending`` may or may not have reached Telegram and become ``unknown`` (never
    resent, listed for the secretary). Returns (unknown, pending again)."""
    mine = ReminderOutbox.claim_token.startswith(f"{process}-")
    async with runtime.db.session() as session:
        # Claimed rows first: a holder still marking a group ``sending`` then either
        # finds the group back in ``pending`` (and sends nothing) or has marked it before
        # the next statement, which makes it ``unknown``.
        reclaimed = await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.status == "claimed", ~mine)
            .values(status="pending", claim_token=None, error=None)
        )
        unknown = await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.status == "sending", ~mine)
            .values(status="unknown", error="interrupted while sending (restart)")
        )
        await session.commit()
    n_unknown = int(unknown.rowcount or 0)  # type: ignore[attr-defined]
    n_reclaimed = int(reclaimed.rowcount or 0)  # type: ignore[attr-defined]
    if n_unknown:
        log.warning(
            "reminders: %d message(s) were being sent when the previous holder stopped; "
            "recorded as 'unknown' and not resent (see /reminders_unknown)",
            n_unknown,
        )
    if n_reclaimed:
        log.info("reminders: %d claimed message(s) of a stopped process queued again", n_reclaimed)
    return n_unknown, n_reclaimed


async def _sweep(runtime: Runtime, state: _State, now: datetime, report: DispatchReport) -> None:
    cfg = state.config
    not_mine = ~ReminderOutbox.claim_token.startswith(f"{state.process}-")
    old_claim = ReminderOutbox.claimed_at < now - cfg.stale_after
    async with runtime.db.session() as session:
        stale = await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.status == "sending", old_claim, not_mine)
            .values(status="unknown", error="claimed by a process that stopped")
        )
        # Claimed and never sent: another process's once it is stale; ours at once
        # (the dispatcher's lock is held, so none of our batches is in flight).
        abandoned = await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.status == "claimed", or_(old_claim, ~not_mine))
            .values(status="pending", claim_token=None)
        )
        old = await session.execute(
            update(ReminderOutbox)
            .where(ReminderOutbox.status == "pending", ReminderOutbox.due_at < now - cfg.grace)
            .values(status="skipped", error="older than the grace window")
        )
        await session.commit()
    report.recovered_unknown += int(stale.rowcount or 0)  # type: ignore[attr-defined]
    report.reclaimed += int(abandoned.rowcount or 0)  # type: ignore[attr-defined]
    skipped = int(old.rowcount or 0)  # type: ignore[attr-defined]
    report.skipped_rows += skipped
    if skipped:
        log.warning("reminders: %d queued message(s) too old to send late; skipped", skipped)


# ------------------------------------------------------------------------ claim & send
async def reserve(runtime: Runtime, token: str, now: datetime, limit: int) -> list[_Claimed]:
    """Atomically take up to ``limit`` due rows: pending → claimed with our token (not
    yet handed to Telegram: whoever finds them abandoned queues them again)."""
    return await _take(runtime, token, now, limit, "claimed")


async def claim(runtime: Runtime, token: str, now: datetime, limit: int) -> list[_Claimed]:
    """Take up to ``limit`` due rows to send at once: pending → sending with our token
    (a process that dies now leaves them ``unknown``)."""
    return await _take(runtime, token, now, limit, "sending")


async def _take(
    runtime: Runtime, token: str, now: datetime, limit: int, status: str
) -> list[_Claimed]:
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
                status=status,
                claim_token=token,
                claimed_at=now,
                attempts=ReminderOutbox.attempts + 1,
            )
        )
        await session.commit()
        rows = (
            await session.execute(
                select(
                    ReminderOutbox.id,
                    ReminderOutbox.person_id,
                    ReminderOutbox.telegram_user_id,
                    ReminderOutbox.occurrence,
                    ReminderOutbox.due_at,
                    ReminderOutbox.attempts,
                    ReminderRule.days_before,
                    CalendarRule.kind,
                    CalendarRule.title,
                    CalendarRule.event_time,
                    TelegramAccount.locale,
                    TelegramAccount.language_code,
                )
                .join(ReminderRule, ReminderRule.id == ReminderOutbox.reminder_id)
                .join(CalendarRule, CalendarRule.id == ReminderRule.calendar_rule_id)
                .outerjoin(
                    TelegramAccount,
                    TelegramAccount.telegram_user_id == ReminderOutbox.telegram_user_id,
                )
                .where(ReminderOutbox.claim_token == token, ReminderOutbox.status == status)
                .order_by(ReminderOutbox.due_at, ReminderOutbox.id)
            )
        ).all()
    return [
        _Claimed(
            id=rid,
            token=token,
            person_id=person_id,
            telegram_user_id=tid,
            occurrence=occurrence,
            due_at=due_at,
            attempts=attempts,
            days_before=days_before,
            kind=kind,
            title=title,
            event_time=event_time,
            locale=locale or negotiate_locale(language_code),
        )
        for (
            rid,
            person_id,
            tid,
            occurrence,
            due_at,
            attempts,
            days_before,
            kind,
            title,
            event_time,
            locale,
            language_code,
        ) in rows
    ]


async def _broadcast(
    runtime: Runtime,
    app: Application[Any, Any, Any, Any, Any, Any] | None,
    bot: Bot,
    state: _State,
    now: datetime,
    report: DispatchReport,
    lease: LeaderLease | None,
) -> None:
    """Claim, render and send batch after batch until none is due. The next batch is
    claimed and rendered while the current one goes out (no pause between batches)."""
    run = _Run(runtime, app, state, now, report, lease)

    async def prepare() -> tuple[str, bool, list[_Claimed]]:
        token = state.next_token()
        batch = await reserve(runtime, token, now, state.config.claim_size)
        if not batch:
            return token, False, []
        ready = await render_batch(runtime, batch, run.results)
        report.failed += len(batch) - len(ready)
        return token, True, ready

    upcoming: asyncio.Task[tuple[str, bool, list[_Claimed]]] | None = None
    try:
        if not run.may_go_on():
            return
        upcoming = asyncio.create_task(prepare())
        while True:
            token, found, ready = await upcoming
            upcoming = None
            run.tokens.append(token)
            if not found or not run.may_go_on():
                break
            if run.sender is None:
                run.sender = await state.broadcast_bot(runtime, bot)
            upcoming = asyncio.create_task(prepare())
            if not await run.send(ready):
                break
    finally:
        try:
            if upcoming is not None:
                token, _, _ = await upcoming
                run.tokens.append(token)
        finally:
            await run.finish()


class _Run:
    """One dispatch's sending: groups marked ``sending`` just in time, requests in
    flight, results recorded in batches."""

    def __init__(
        self,
        runtime: Runtime,
        app: Application[Any, Any, Any, Any, Any, Any] | None,
        state: _State,
        now: datetime,
        report: DispatchReport,
        lease: LeaderLease | None,
    ) -> None:
        self.runtime = runtime
        self.app = app
        self.state = state
        self.now = now
        self.report = report
        self.lease = lease
        self.sender: Bot | None = None
        self.results: list[_Result] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.tokens: list[str] = []
        self.write_time = 0.0
        #: Rows marked ``sending`` whose request has not started yet.
        self.unstarted = 0
        self.progress = asyncio.Event()

    def may_go_on(self) -> bool:
        if self.app is not None and not self.app.running:
            self.report.stopped_early = True  # what is not handed to Telegram goes back
            return False
        if self.lease is not None and not self.lease.holds():
            self.report.fenced = True
            log.warning("reminders: the scheduler lease ran out; this instance stops sending")
            return False
        return True

    def take_results(self) -> list[_Result]:
        done, self.results[:] = self.results[:], []
        return done

    async def send(self, ready: list[_Claimed]) -> bool:
        """Send one rendered batch; False when stopping or fenced."""
        cfg = self.state.config
        pacer = self.state.get_pacer()
        start = 0
        while start < len(ready):
            # A group is marked ``sending`` just before its first slot, while the group
            # before it is going out: its size follows the database (``group_seconds``
            # of sending, more when the last write took longer, up to twice that), so a
            # slow commit lowers the rate less, and the rows a killed process leaves
            # ``unknown`` stay few.
            size = min(
                max(cfg.group_size, math.ceil(cfg.rate_per_second * self.write_time * 1.2)),
                2 * cfg.group_size,
            )
            group = ready[start : start + size]
            start += len(group)
            if not self.may_go_on():
                return False
            began = time.monotonic()
            marked = await _write(
                self.runtime, self.take_results(), group, self.lease, self.runtime.clock.now()
            )
            self.write_time = time.monotonic() - began
            if marked is None:
                self.report.fenced = True
                log.warning("reminders: the scheduler lease was lost; this instance stops sending")
                return False
            first: float | None = None
            for row in group:
                if row.id not in marked:
                    continue  # queued again by the instance that took over
                slot = pacer.reserve(row.telegram_user_id)
                first = slot if first is None else first
                self.unstarted += 1
                task = asyncio.create_task(self._send(row, slot))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            if first is not None:
                await wait_until(first)
            # Mark the next group only once this one's requests are going out: when
            # Telegram (or this process) is slower than the pacer, marked rows would
            # otherwise pile up waiting, and a kill would leave them all ``unknown``.
            while self.unstarted > len(group):
                self.progress.clear()
                await self.progress.wait()
        return True

    async def _send(self, row: _Claimed, slot: float) -> None:
        assert self.sender is not None
        await wait_until(slot)
        async with self.state.in_flight(self.state.config):
            self.unstarted -= 1
            self.progress.set()
            self.results.append(
                await _send_one(self.sender, self.state, row, self.now, self.report)
            )

    async def finish(self) -> None:
        """Wait for the requests in flight, record them, and put what this run claimed
        but did not send back to ``pending``."""
        if self.tasks:
            await asyncio.wait(set(self.tasks))
        await _write(
            self.runtime,
            self.take_results(),
            [],
            None,
            self.runtime.clock.now(),
            release=self.tokens,
        )


async def _send_one(
    bot: Bot, state: _State, row: _Claimed, now: datetime, report: DispatchReport
) -> _Result:
    """One request to Telegram; its outcome, to be recorded with the group's."""
    try:
        message = await bot.send_message(
            row.telegram_user_id,
            row.text,
            parse_mode=ParseMode.HTML,
            reply_markup=row.markup,
            allow_paid_broadcast=True if state.config.paid else None,
        )
    except Forbidden as exc:
        report.blocked += 1
        return _Result(row, "blocked", error=str(exc)[:200], blocked_at=now)
    except RetryAfter as exc:
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        state.get_pacer().pause(seconds)
        if row.attempts >= state.config.max_attempts:
            report.failed += 1
            return _Result(row, "failed", error="rate limited too often")
        report.retry += 1
        return _Result(row, "pending", error=f"429, retry after {seconds:.0f}s")
    except BadRequest as exc:
        report.failed += 1
        return _Result(row, "failed", error=str(exc)[:200])
    except TelegramError as exc:
        # Time-out, dropped connection, server error: Telegram may have delivered it.
        log.warning("reminder %s to %s: unknown outcome (%s)", row.id, row.telegram_user_id, exc)
        report.unknown += 1
        return _Result(row, "unknown", error=str(exc)[:200])
    report.sent += 1
    return _Result(row, "sent", sent_at=now, message_id=message.message_id)


_OUTBOX = cast(Table, ReminderOutbox.__table__)
_RECORD = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.claim_token == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at"),
        message_id=bindparam("b_message_id"),
        claim_token=bindparam("b_new_token"),
    )
)


async def _write(
    runtime: Runtime,
    results: list[_Result],
    group: list[_Claimed],
    lease: LeaderLease | None,
    now: datetime,
    *,
    release: list[str] | None = None,
) -> set[int] | None:
    """One transaction: record ``results`` (one executemany UPDATE), mark ``group``
    ``sending`` — fenced by ``lease``: only while the lease row names us and has not
    expired — and, with ``release``, put that claim's rows not sent back to
    ``pending``. Returns the ids marked, or None when the lease was lost."""
    marked: set[int] = set()
    async with runtime.db.session() as session:
        if results:
            await session.execute(
                _RECORD,
                [
                    {
                        "b_id": r.row.id,
                        "b_token": r.row.token,
                        "b_status": r.status,
                        "b_error": r.error,
                        "b_sent_at": r.sent_at,
                        "b_message_id": r.message_id,
                        "b_new_token": None if r.status == "pending" else r.row.token,
                    }
                    for r in results
                ],
            )
            blocked = [r.row.telegram_user_id for r in results if r.blocked_at is not None]
            if blocked:
                await session.execute(
                    update(TelegramAccount)
                    .where(
                        TelegramAccount.telegram_user_id.in_(blocked),
                        TelegramAccount.blocked_at.is_(None),
                    )
                    .values(blocked_at=next(r.blocked_at for r in results if r.blocked_at))
                )
        if group:
            condition = and_(
                ReminderOutbox.id.in_([row.id for row in group]),
                ReminderOutbox.status == "claimed",
                ReminderOutbox.claim_token == group[0].token,
            )
            if lease is not None:
                condition = and_(
                    condition,
                    exists().where(
                        Lease.name == lease.name,
                        Lease.holder == lease.holder,
                        Lease.expires_at > now,
                    ),
                )
            marked = set(
                (
                    await session.scalars(
                        update(ReminderOutbox)
                        .where(condition)
                        .values(status="sending", claimed_at=now)
                        .returning(ReminderOutbox.id)
                    )
                ).all()
            )
        if release:
            await session.execute(
                update(ReminderOutbox)
                .where(ReminderOutbox.claim_token.in_(release), ReminderOutbox.status == "claimed")
                .values(status="pending", claim_token=None)
            )
        await session.commit()
    if group and not marked and lease is not None:
        return None  # the lease row no longer names us (or it expired): fenced
    return marked
