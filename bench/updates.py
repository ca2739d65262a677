"""Per-update overhead: each kind of update the branch bot handles, timed against a bare
PTB bot making exactly the same Bot API calls (``bench._mirror``), side by side on the
same local Bot API emulator, 3 repetitions.

    python -m bench.updates [--updates N] [--warmup W] [--members M] [--reps R]
                            [--postgres | --database-url URL] [--profile FILE]

The kinds: ``/start`` from a member, ``/points``, the six steps of the ``/claim`` dialog
(the command, the indicator button, the item button, the date, the description, the
submit button), a claim approval (the secretary presses 批准 on the review message the
dialog's last step sent) and a fee payment confirmed by the secretary (✅ Confirm on a
member's reported payment: the update that enters a payment in the register).

One iteration makes one update of every kind in that order (a member declares a claim,
the secretary approves it and confirms a fee payment), first by the branch bot, then by
the mirror, which answers the same updates from the same users with the branch bot's
recorded calls of that iteration (the two alternate, so the machine's drift hits both
alike; only one of them polls at a time). A repetition is ``warmup + updates``
iterations, the warm-up ones not timed; the ratio is computed per repetition.
Each update is timed from sending it (or pressing the button) until the
emulator received the update's last Bot API call. Printed per kind: median of the bot
and of the mirror, their ratio, min/median/max of the ratio over the repetitions, SQL
statements (a ``before_cursor_execute`` listener) and Bot API calls per update. Targets:
ratio <= 1.3x on SQLite, <= 1.5x on PostgreSQL, ``/points`` in at most 4 statements.

Both bots run without PTB's rate limiter (a closed loop of updates would measure the
30 messages/s limit, see ``bench.broadcast``), and the bot's periodic tasks are not
scheduled (they are not part of handling an update, and they would run SQL in the
middle of the counts). A bare echo bot is timed once before and once after, as extra
information.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench._mirror import Record, Script, bot_calls, mirror_bot, polling, wait_calls, wait_quiet
from bench._targets import Target

#: Wednesday 20 May 2026, 10:00 in Beijing: the middle of 2026Q2.
NOW = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
ECHO_USER = 3_000_001
GOALS = {"SQLite": 1.3, "PostgreSQL": 1.5}
POINTS_SQL_GOAL = 4
#: (key, label) of each update kind, in the order one iteration makes them.
KINDS: list[tuple[str, str]] = [
    ("start", "/start (member)"),
    ("points", "/points"),
    ("claim1", "claim 1: /claim"),
    ("claim2", "claim 2: indicator"),
    ("claim3", "claim 3: item"),
    ("claim4", "claim 4: date"),
    ("claim5", "claim 5: description"),
    ("claim6", "claim 6: submit"),
    ("approve", "approve a claim"),
    ("fee", "confirm a fee payment"),
]
LABELS = dict(KINDS)


@dataclass(frozen=True)
class ClaimPlan:
    """What the member of one iteration declares (distinct per iteration: no duplicate)."""

    user_index: int
    indicator: str
    item_id: int
    day: date


@dataclass
class Phase:
    times: dict[str, list[float]] = field(default_factory=dict)
    sql: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    updates: int = 0
    records: dict[str, list[Record]] = field(default_factory=dict)


class Bench:
    """The branch bot, its mirror and the scripted users on one emulator."""

    def __init__(self, emu: Any, app: Any, mirror: Any, script: Script) -> None:
        self.emu, self.app, self.mirror, self.script = emu, app, mirror, script
        self.users: list[Any] = []
        self.secretary: Any = None
        self.plans: list[ClaimPlan] = []
        #: (submission id, text, markup) of the payments the secretary confirms.
        self.fees: list[tuple[int, str, Any]] = []
        self.expected: dict[str, int] = {}
        self.sql: dict[str, int] = {}
        self.kind = "idle"
        self.profile: cProfile.Profile | None = None
        #: wall time (what a user waits), or this process's CPU time (``--clock cpu``:
        #: the bot, the emulator and the users all run here, so it is the work done,
        #: and other processes on the machine do not count).
        self.clock: Callable[[], float] = time.perf_counter

    def count_statement(self, *_args: Any) -> None:
        self.sql[self.kind] = self.sql.get(self.kind, 0) + 1

    async def _trigger(self, kind: str, g: int, bot: Any) -> tuple[int, int] | None:
        """Send update ``kind`` of iteration ``g``; the pressed message, for buttons."""
        plan = self.plans[g]
        user = self.users[plan.user_index]
        if kind in ("start", "points", "claim1"):
            await user.send({"start": "/start", "points": "/points", "claim1": "/claim"}[kind])
            return None
        if kind == "claim4":
            await user.send(plan.day.isoformat())
            return None
        if kind == "claim5":
            await user.send(f"基准申报 {g}：参加志愿服务")
            return None
        if kind == "approve":
            return await _press(self.secretary, lambda d: d.startswith("pt:") and d.endswith(":ap"))
        if kind == "fee":
            sid, text, markup = self.fees[g]
            await bot.send_message(self.secretary.id, text, parse_mode="HTML", reply_markup=markup)
            await self.emu.wait_until(
                lambda: _has_button(self.secretary, f"fee:{sid}:ok"), timeout=10
            )
            return await _press(self.secretary, lambda d: d == f"fee:{sid}:ok")
        data = {
            "claim2": f"pt:0:ind:{plan.indicator}",
            "claim3": f"pt:{plan.item_id}:item",
            "claim6": "pt:0:ok",
        }[kind]
        return await _press(user, lambda d: d == data)

    async def repetition(self, first: int, count: int) -> tuple[Phase, Phase]:
        """``count`` iterations from plan ``first``, each made by the bot and then by the
        bare bot replaying the bot's records of that iteration (interleaved, so the
        machine's drift hits both alike)."""
        mine, bare = Phase(updates=count), Phase(updates=count)
        for phase in (mine, bare):
            for key, _label in KINDS:
                phase.times[key], phase.records[key] = [], []
        for n in range(count):
            await self._iteration(first + n, mine, None)
            await self._iteration(first + n, bare, {k: mine.records[k][n] for k, _ in KINDS})
        return mine, bare

    async def _iteration(self, g: int, result: Phase, source: dict[str, Record] | None) -> None:
        """Every kind of update once, by the bot (``source`` None) or by the mirror."""
        mirror = source is not None
        app = self.mirror if mirror else self.app
        if self.profile is not None and not mirror:
            self.profile.enable()
        async with polling(app):
            for key, _label in KINDS:
                if source is not None:
                    self.script.record = source[key]
                since = len(self.emu.requests)
                started = self.clock()
                self.kind = key if not mirror else "mirror"
                pressed = await self._trigger(key, g, app.bot)
                if key == "fee":  # the decision message the bench sent is not timed
                    since = len(self.emu.requests)
                    started = self.clock()
                if key in self.expected:
                    await wait_calls(self.emu, since, self.expected[key])
                else:  # the first update of a kind: how many calls it makes
                    self.expected[key] = await wait_quiet(self.emu, since)
                elapsed = (self.clock() - started) * 1000
                await app.update_queue.join()  # its transaction is over (not timed)
                self.kind = "idle"
                result.times[key].append(elapsed)
                record = Record(bot_calls(self.emu, since), pressed)
                result.records[key].append(record)
                result.calls[key] = result.calls.get(key, 0) + len(record.calls)
                if source is not None and record.methods != source[key].methods:
                    raise AssertionError(
                        f"{key}: the bare bot made {record.methods}, the bot {source[key].methods}"
                    )
        if self.profile is not None and not mirror:
            self.profile.disable()
        if not mirror:
            for key, n in self.sql.items():
                if key in LABELS:
                    result.sql[key] = result.sql.get(key, 0) + n
            self.sql = {}


def _has_button(user: Any, data: str) -> bool:
    message = user.last_message
    return message is not None and any(
        b.callback_data == data for row in message.buttons for b in row
    )


async def _press(user: Any, match: Callable[[str], bool]) -> tuple[int, int]:
    """Press the button of the user's last bot message whose data ``match`` accepts."""
    message = user.last_message
    assert message is not None, f"no message for {user!r}"
    found = [b.callback_data for row in message.buttons for b in row if b.callback_data]
    data = next((d for d in found if match(d)), None)
    assert data is not None, f"no matching button in {found} ({message.text[:80]!r})"
    await user.press(message, data=data)
    return message.chat_id, message.message_id


async def _echo_phase(emu: Any, count: int, warmup: int, run: int) -> list[float]:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    user = emu.user(ECHO_USER + run, "回声")
    samples: list[float] = []
    async with app:
        await app.start()
        async with polling(app):
            for n in range(warmup + count):
                started = time.perf_counter()
                await user.send(f"你好 {n}")
                reply = await user.wait_reply(timeout=10)
                assert reply.text == f"你好 {n}", reply.text
                if n >= warmup:
                    samples.append((time.perf_counter() - started) * 1000)
        await app.stop()
    return samples


async def _set_up(db: Any, members: int, needed: int) -> tuple[Any, list[ClaimPlan], list[Any]]:
    """The branch, a plan per iteration, and a reported fee payment per iteration."""
    from sqlalchemy import insert, update

    from bench._data import member_viewer, populate
    from domain.clock import FrozenClock
    from domain.fee_rules import FeeBasis, Month
    from domain.periods import Quarter
    from domain.services import Services
    from store.models import FeeAssessment, Membership

    clock = FrozenClock(NOW - timedelta(days=60))
    population = await populate(
        db, clock, members=members, entries_per_member=10, quarter=Quarter(2026, 2)
    )
    clock.set(NOW)
    claimable = [i for i in population.items if i.points > 0 and not i.evidence_required]
    plans = []
    days = (NOW.date() - date(2026, 4, 1)).days
    for g in range(needed):
        item = claimable[g % len(claimable)]
        user_index = (g // len(claimable)) % members
        back = g // (len(claimable) * members)
        assert back < days, "too many iterations for distinct claims: add --members"
        plans.append(ClaimPlan(user_index, item.indicator, item.id, NOW.date() - timedelta(back)))
    async with db.session() as session:
        # Members since 2015 owe a fee for every month since: one report per iteration.
        await session.execute(
            update(Membership).values(started_at=datetime(2015, 1, 1, 2, tzinfo=UTC))
        )
        await session.execute(
            insert(FeeAssessment),
            [
                {
                    "branch_id": population.branch_id,
                    "person_id": pid,
                    "basis": FeeBasis.STUDENT,
                    "amount": Decimal("0.20"),
                    "effective_month": "2015-01",
                    "source": "roster",
                    "created_at": NOW,
                }
                for pid, _tg, _name in population.members
            ],
        )
        svc = Services(session, clock)
        first = Month(2015, 1).index
        reports = []
        for g in range(needed):
            month = Month.from_index(first + g // members)
            reports.append(await svc.fees.submit(member_viewer(population, g % members), [month]))
        await session.commit()
    return population, plans, reports


async def run(
    updates: int,
    warmup: int,
    members: int,
    database_url: str | None = None,
    *,
    reps: int = 3,
    profile: str | None = None,
    clock: str = "wall",
) -> dict[str, Any]:
    os.environ["BRANCHBOT_REMINDER_TICK_SECONDS"] = "0"
    from sqlalchemy import event

    from bench._data import SECRETARY_TG, settings_for
    from bot.app import LOCAL_TOKEN, build_application
    from bot.menus import publish_commands
    from bot.runtime import Runtime
    from domain.clock import FrozenClock
    from domain.reader import Reader
    from emulator import BotAPIEmulator
    from handlers.fees import decision_buttons, submission_text
    from store.db import Database

    emu = BotAPIEmulator(token=LOCAL_TOKEN)
    await emu.start()
    per_phase = warmup + updates
    results: dict[str, Any] = {"updates": updates, "warmup": warmup, "members": members}
    results["reps"] = reps
    results["clock"] = clock
    try:
        results["echo1"] = await _echo_phase(emu, updates, warmup, 0)
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite:///{Path(tmp) / 'updates.sqlite3'}"
            results["database"] = "PostgreSQL" if url.startswith("postgres") else "SQLite"
            db = Database(url)
            await db.upgrade()
            population, plans, reports = await _set_up(db, members, reps * per_phase)
            settings = settings_for(url, emu.base_url, emu.base_file_url, Path(tmp) / "storage")
            runtime = Runtime(settings=settings, db=db, clock=FrozenClock(NOW))
            app = build_application(runtime, rate_limiter=False)
            script = Script()
            await app.initialize()
            await publish_commands(app)  # post_init without the periodic tasks
            await app.start()
            async with mirror_bot(emu, script) as mirror:
                bench = Bench(emu, app, mirror, script)
                bench.plans = plans
                reader = Reader.of("zh_Hans")
                t = reader.gettext
                bench.fees = [
                    (r.id, submission_text(t, r), decision_buttons(t, r.id)) for r in reports
                ]
                bench.users = [emu.user(tg, name) for _pid, tg, name in population.members]
                for user in bench.users:
                    user.started = True
                bench.secretary = emu.user(SECRETARY_TG, "王书记")
                bench.secretary.started = True
                if profile:
                    bench.profile = cProfile.Profile()
                if clock == "cpu":
                    bench.clock = time.process_time
                event.listen(db.engine.sync_engine, "before_cursor_execute", bench.count_statement)
                phases: list[tuple[Phase, Phase]] = []
                try:
                    for rep in range(reps):
                        phases.append(await bench.repetition(rep * per_phase, per_phase))
                finally:
                    event.remove(
                        db.engine.sync_engine, "before_cursor_execute", bench.count_statement
                    )
                    await app.stop()
                    await app.shutdown()
                    await runtime.db.dispose()
                if bench.profile is not None and profile:
                    bench.profile.dump_stats(profile)
            results["phases"] = phases
            results["approved_rows"] = await _scalar(
                url, "SELECT count(*) FROM point_claims WHERE status = 'approved'"
            )
            results["confirmed_rows"] = await _scalar(
                url, "SELECT count(*) FROM fee_submissions WHERE status = 'confirmed'"
            )
            results["expected_rows"] = reps * per_phase
        results["echo2"] = await _echo_phase(emu, updates, warmup, 1)
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


@dataclass(frozen=True)
class KindFigures:
    key: str
    bot: float
    bare: float
    ratios: list[float]
    sql: float
    calls: float

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def figures(r: dict[str, Any]) -> list[KindFigures]:
    """Per kind: medians over the timed updates of every repetition, the ratio of each
    repetition's medians, statements and calls per update (warm-up included)."""
    warmup = r["warmup"]
    out = []
    for key, _label in KINDS:
        bot_all: list[float] = []
        bare_all: list[float] = []
        ratios = []
        sql = calls = updates = 0
        for mine, bare in r["phases"]:
            b, m = mine.times[key][warmup:], bare.times[key][warmup:]
            bot_all += b
            bare_all += m
            ratios.append(statistics.median(b) / statistics.median(m))
            sql += mine.sql.get(key, 0)
            calls += mine.calls.get(key, 0)
            updates += mine.updates
        out.append(
            KindFigures(
                key,
                statistics.median(bot_all),
                statistics.median(bare_all),
                ratios,
                sql / updates,
                calls / updates,
            )
        )
    return out


def report(r: dict[str, Any]) -> str:
    from bench._data import median

    database = r.get("database", "SQLite")
    goal = GOALS[database]
    rows = []
    for f in figures(r):
        verdict = "OK" if f.ratio <= goal else "over"
        rows.append(
            (
                LABELS[f.key],
                f"{f.bot:6.2f} ms",
                f"{f.bare:6.2f} ms",
                f"{f.ratio:5.2f}x",
                f"{min(f.ratios):.2f}/{f.ratio:.2f}/{max(f.ratios):.2f}",
                f"{f.sql:4.1f}",
                f"{f.calls:3.1f}",
                verdict,
            )
        )
    head = ("update kind", "bot", "bare PTB", "ratio", "min/med/max", "SQL", "calls", "")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    title = f"Per-update cost vs a bare PTB bot making the same Bot API calls ({database})"
    lines = [title, "-" * len(title)]
    for line in [head, *rows]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    echo = r["echo1"] + r["echo2"]
    lines.append(
        f"echo bot (before, after): {median(r['echo1']):.2f} ms, {median(r['echo2']):.2f} ms "
        "median (one reply per message; information only)"
    )
    lines.append(
        f"{r['reps']} repetitions (bot, then bare PTB) of {r['updates']} timed iterations "
        f"({r.get('clock', 'wall')} clock) "
        f"after {r['warmup']} warm-up; {r['members']} members; ratio goal <= {goal}x, "
        f"/points <= {POINTS_SQL_GOAL} SQL statements; SQL and calls per update"
    )
    lines.append(
        f"claims approved: {r['approved_rows']} of {r['expected_rows']}; "
        f"fee payments confirmed: {r['confirmed_rows']} of {r['expected_rows']}"
    )
    del echo
    return "\n".join(lines)


def target_rows(r: dict[str, Any]) -> list[Target]:
    database = r.get("database", "SQLite")
    goal = GOALS[database]
    out = []
    for f in figures(r):
        out.append(
            Target(
                "updates",
                f"{LABELS[f.key]} vs bare PTB ({database})",
                f"<= {goal}x",
                f"{f.ratio:.2f}x (min {min(f.ratios):.2f}, max {max(f.ratios):.2f})",
                f.ratio <= goal,
            )
        )
        if f.key == "points":
            points_sql = f.sql
    out.append(
        Target(
            "updates",
            f"/points SQL statements ({database})",
            f"<= {POINTS_SQL_GOAL}",
            f"{points_sql:.1f}",
            points_sql <= POINTS_SQL_GOAL,
        )
    )
    ok = r["approved_rows"] == r["expected_rows"] == r["confirmed_rows"]
    out.append(
        Target(
            "updates",
            f"every claim approved, every payment confirmed ({database})",
            "all",
            f"{r['approved_rows']}+{r['confirmed_rows']} of {2 * r['expected_rows']}",
            ok,
        )
    )
    return out


async def _postgres_run(
    updates: int, warmup: int, members: int, reps: int, **options: Any
) -> dict[str, Any]:
    from bench._pg import drop_database, fresh_database

    url = await fresh_database("perf_updates")
    try:
        return await run(updates, warmup, members, url, reps=reps, **options)
    finally:
        await drop_database("perf_updates")


def targets(quick: bool) -> list[Target]:
    """``python -m bench all``: SQLite, then PostgreSQL (the local server, started if
    needed)."""
    updates, warmup = (15, 3) if quick else (100, 10)
    out: list[Target] = []
    for postgres in (False, True):
        runner = _postgres_run(updates, warmup, 20, 3) if postgres else run(updates, warmup, 20)
        result = asyncio.run(runner)
        print(report(result), flush=True)
        out.extend(target_rows(result))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=100, help="timed iterations per phase")
    parser.add_argument("--warmup", type=int, default=10, help="untimed iterations first")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3, help="bot/bare PTB repetitions")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY PostgreSQL database (postgresql://…); default: SQLite in a temp dir",
    )
    where.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh database perf_updates on the local PostgreSQL (started if needed)",
    )
    parser.add_argument("--profile", default=None, help="write cProfile stats of the bot here")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time updates by the wall clock (default) or by this process's CPU time "
        "(everything runs in it: robust when other processes load the machine)",
    )
    args = parser.parse_args(argv)
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the first update of a kind is learnt)")
    runner: Awaitable[dict[str, Any]]
    if args.postgres:
        runner = _postgres_run(
            args.updates,
            args.warmup,
            args.members,
            args.reps,
            profile=args.profile,
            clock=args.clock,
        )
    else:
        runner = run(
            args.updates,
            args.warmup,
            args.members,
            args.database_url,
            reps=args.reps,
            profile=args.profile,
            clock=args.clock,
        )
    result = asyncio.run(runner)
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
