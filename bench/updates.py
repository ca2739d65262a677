"""Per-update cost: the branch bot's ``/points`` and a claim approval (a reviewer pressing
批准 on a review message) against a bare PTB echo bot, on the same local Bot API
emulator in the same run, SQLite in a temporary directory.

    python -m bench.updates [--updates N] [--warmup W] [--members M]

Each update is timed end to end, one at a time, as the user sees it: from sending the
message (or pressing the button) until the bot's answer is in the emulator — for the
approval, until the review message is edited and the claimant is told. Prints median,
p95 and mean per kind, SQL statements per update, and the ratios to the echo bot
(target: ≤ 1.5×). The echo bot runs before and after the branch bot (the machine's
load drifts); the ratio uses both echo runs together.

Both bots run without PTB's rate limiter: a closed loop of updates one after the other
would otherwise measure Telegram's 30 messages/s limit that the limiter enforces, not
the cost of handling an update (see ``bench.broadcast`` for the limiter at work).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

#: Wednesday 20 May 2026, 10:00 in Beijing: the middle of 2026Q2.
NOW = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
ECHO_USER = 3_000_001
TARGET = 1.5


async def _measure(count: int, warmup: int, one: Callable[[int], Awaitable[None]]) -> list[float]:
    samples: list[float] = []
    for n in range(warmup + count):
        started = time.perf_counter()
        await one(n)
        elapsed = (time.perf_counter() - started) * 1000
        if n >= warmup:
            samples.append(elapsed)
    return samples


async def _reply_containing(user: Any, needle: str) -> Any:
    """The user's next bot message containing ``needle`` (skipping anything else the
    running bot sends meanwhile, e.g. a periodic task's message)."""
    while True:
        message = await user.wait_reply(timeout=10)
        if needle in message.text:
            return message


@asynccontextmanager
async def _bare_bot(emu: Any, handler: Any) -> AsyncIterator[Any]:
    """A bare PTB Application with one handler, polling the emulator."""
    from telegram.ext import ApplicationBuilder

    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def _echo_phase(emu: Any, count: int, warmup: int, run: int) -> list[float]:
    from telegram import Update
    from telegram.ext import ContextTypes, MessageHandler, filters

    async def echo(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    user = emu.user(ECHO_USER + run, "回声")
    async with _bare_bot(emu, MessageHandler(filters.TEXT, echo)):

        async def one(n: int) -> None:
            await user.send(f"你好 {n}")
            reply = await user.wait_reply(timeout=10)
            assert reply.text == f"你好 {n}", reply.text

        return await _measure(count, warmup, one)


async def _bare_approval_phase(emu: Any, count: int, warmup: int) -> list[float]:
    """The floor for an approval: a bare PTB bot that, for a button press, makes the
    same three Bot API calls as the branch bot (answer the press, edit the review
    message, message the claimant) and nothing else: no database, no domain."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import CallbackQueryHandler, ContextTypes

    reviewer_id, claimant_id = ECHO_USER + 10, ECHO_USER + 11

    async def decide(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer()
        await query.edit_message_text(f"第 {query.data} 号申报：已批准")
        await ctx.bot.send_message(claimant_id, f"第 {query.data} 号申报审核通过")

    reviewer = emu.user(reviewer_id, "书记")
    claimant = emu.user(claimant_id, "申报人")
    reviewer.started = claimant.started = True
    async with _bare_bot(emu, CallbackQueryHandler(decide)) as app:
        messages = []
        for n in range(warmup + count):
            sent = await app.bot.send_message(
                reviewer_id,
                f"第 {n} 号申报",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("批准", callback_data=str(n))]]
                ),
            )
            messages.append(emu.message(reviewer_id, sent.message_id))

        async def one(n: int) -> None:
            await reviewer.press(messages[n], "批准")
            await reviewer.wait_edit(messages[n], timeout=10)
            told = await claimant.wait_reply(timeout=10)
            assert told.text == f"第 {n} 号申报审核通过", told.text

        return await _measure(count, warmup, one)


async def run(
    updates: int, warmup: int, members: int, database_url: str | None = None
) -> dict[str, Any]:
    # The reminder dispatcher is not part of handling an update; it would also message
    # the benchmark's users in the middle of a measurement. Other periodic tasks run.
    os.environ["BRANCHBOT_REMINDER_TICK_SECONDS"] = "0"
    from sqlalchemy import event

    from bench._data import SECRETARY_TG, member_viewer, populate, settings_for
    from bot.app import LOCAL_TOKEN, build_application
    from bot.runtime import Runtime
    from domain.clock import FrozenClock
    from domain.periods import Quarter
    from domain.points import ClaimInfo
    from domain.services import Services
    from emulator import BotAPIEmulator
    from handlers.points_review import review_markup, review_text

    emu = BotAPIEmulator(token=LOCAL_TOKEN)
    await emu.start()
    results: dict[str, Any] = {"updates": updates, "warmup": warmup, "members": members}
    try:
        results["echo1"] = await _echo_phase(emu, updates, warmup, 0)
        with tempfile.TemporaryDirectory() as tmp:
            from store.db import Database

            url = database_url or f"sqlite:///{Path(tmp) / 'updates.sqlite3'}"
            results["database"] = "PostgreSQL" if url.startswith("postgres") else "SQLite"
            db = Database(url)
            await db.upgrade()
            clock = FrozenClock(NOW - timedelta(days=60))
            population = await populate(
                db, clock, members=members, entries_per_member=10, quarter=Quarter(2026, 2)
            )
            clock.set(NOW)
            # Pending claims to approve: one per (member, item, day), made through the
            # service as the member would (no per-claim round trips through the chat).
            claimable = [i for i in population.items if i.points > 0 and not i.evidence_required]
            claims: list[ClaimInfo] = []
            async with db.session() as session:
                svc = Services(session, clock)
                n = 0
                day = date(2026, 5, 20)
                while len(claims) < warmup + updates:
                    index = n % members
                    item = claimable[(n // members) % len(claimable)]
                    when = day - timedelta(days=n // (members * len(claimable)))
                    claims.append(
                        await svc.points.submit_claim(
                            member_viewer(population, index),
                            item_id=item.id,
                            occurred_on=when,
                            description=f"基准申报 {n}",
                        )
                    )
                    n += 1
                await session.commit()

            settings = settings_for(url, emu.base_url, emu.base_file_url, Path(tmp) / "storage")
            runtime = Runtime(settings=settings, db=db, clock=clock)
            statements = [0]

            def count(*_args: Any) -> None:
                statements[0] += 1

            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            app = build_application(runtime, rate_limiter=False)
            await app.initialize()
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            users = [emu.user(tg, name) for _pid, tg, name in population.members[:members]]
            for user in users:
                user.started = True
            secretary = emu.user(SECRETARY_TG, "王书记")
            secretary.started = True
            try:
                # /points, from the members in turn.
                before = statements[0]

                async def points(n: int) -> None:
                    user = users[n % len(users)]
                    await user.send("/points")
                    await _reply_containing(user, "我的积分")

                results["points"] = await _measure(updates, warmup, points)
                results["points_sql"] = (statements[0] - before) / (warmup + updates)

                # The review messages, as the bot sends them to a reviewer.
                from telegram.constants import ParseMode

                from domain.reader import Reader

                reader = Reader.of("zh_Hans")

                messages = []
                for claim in claims:
                    sent = await app.bot.send_message(
                        SECRETARY_TG,
                        review_text(reader, claim),
                        parse_mode=ParseMode.HTML,
                        reply_markup=review_markup(reader.gettext, claim.id),
                    )
                    messages.append(emu.message(SECRETARY_TG, sent.message_id))
                by_telegram = {u.id: u for u in users}
                before = statements[0]

                async def approve(n: int) -> None:
                    claim, message = claims[n], messages[n]
                    assert claim.telegram_user_id is not None  # members have accounts here
                    claimant = by_telegram[claim.telegram_user_id]
                    await secretary.press(message, "批准")
                    await secretary.wait_edit(message, timeout=10)
                    told = await _reply_containing(claimant, f"第 {claim.id} 号申报")
                    assert "审核通过" in told.text, told.text

                results["approve"] = await _measure(updates, warmup, approve)
                results["approve_sql"] = (statements[0] - before) / (warmup + updates)
            finally:
                await app.updater.stop()
                await app.stop()
                await app.shutdown()
                if app.post_shutdown is not None:
                    await app.post_shutdown(app)
            approved = await _scalar(
                url, "SELECT count(*) FROM point_claims WHERE status = 'approved'"
            )
            results["approved_rows"] = approved
        results["echo2"] = await _echo_phase(emu, updates, warmup, 1)
        results["bare_approve"] = await _bare_approval_phase(emu, updates, warmup)
    finally:
        await emu.stop()
    return results


async def _scalar(url: str, sql: str) -> Any:
    from sqlalchemy import text

    from store.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            return (await session.execute(text(sql))).scalar()
    finally:
        await db.dispose()


def report(r: dict[str, Any]) -> str:
    from bench._data import median, percentile, table

    echo = r["echo1"] + r["echo2"]
    echo_median = median(echo)
    echo_p95 = percentile(echo, 0.95)

    def row(name: str, samples: list[float], sql: float | None) -> tuple[str, str, str]:
        m, p = median(samples), percentile(samples, 0.95)
        value = f"{m:6.2f} ms  p95 {p:6.2f} ms  mean {sum(samples) / len(samples):6.2f} ms"
        if sql is None:
            return name, value, ""
        ratio = m / echo_median if echo_median else 0.0
        verdict = "OK" if ratio <= TARGET else "over"
        return (
            name,
            value,
            f"{ratio:.2f}x echo (p95 {p / echo_p95 if echo_p95 else 0:.2f}x), "
            f"{sql:.1f} SQL/update — target <= {TARGET}x: {verdict}",
        )

    rows = [
        row("echo bot (before)", r["echo1"], None),
        row("echo bot (after)", r["echo2"], None),
        row("echo bot (both)", echo, None),
        row("/points", r["points"], r["points_sql"]),
        row("approve a claim", r["approve"], r["approve_sql"]),
        row("bare PTB: the approval's 3 calls", r["bare_approve"], None),
    ]
    head = (
        f"{r['updates']} timed updates per kind after {r['warmup']} warm-up, one at a time; "
        f"{r['members']} members; claims approved: {r['approved_rows']}"
    )
    floor = median(r["bare_approve"]) / echo_median if echo_median else 0.0
    head += (
        f"\nfloor for an approval (3 Bot API calls, no database) = {floor:.2f}x echo: "
        "what any approval costs before it reads or writes anything"
    )
    title = f"Per-update cost vs a bare PTB echo bot ({r.get('database', 'SQLite')})"
    return table(title, rows) + "\n" + head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY PostgreSQL database (postgresql://…); default: SQLite in a temp dir",
    )
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.updates, args.warmup, args.members, args.database_url))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
