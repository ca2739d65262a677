"""Growth: does a member's update cost the same in a 10-member branch as in a 2,000-member
branch of a 100,000-member database, and do the quarter close and the ranking grow at
most linearly with the branch?

    python -m bench.growth [--quick] [--members N] [--small S] [--big B] [--curve 1000,...]
                           [--updates U] [--warmup W] [--repeats R] [--entries E]

Builds one SQLite database of N members (default 100,000; ``--quick`` 5,000) in several
branches, among them a branch of S (10) and one of B (2,000; quick: 200) members, each
member with E ledger entries over a year (40: ten a quarter, 2025Q3…2026Q2), a fee
assessment and twelve paid months (the register ``/fees`` reads). Branches of the curve's
sizes below N are in that database too; a curve size of N or more gets a database of its
own of that one branch (so each curve point sits in a database of ~N members).

Then, with the real bot running against the local Bot API emulator (a real PTB
``Application``, real HTTP, no rate limiter, as ``bench.updates``), for members of the
small and of the big branch in turn: ``/points``, a claim approval (the branch's
secretary presses 批准 on a review message; timed until the message is edited and the
claimant told) and ``/fees`` (a member's own). Each is the median of U updates after W
warm-up, the two branches' updates alternating one by one (small, big, big, small…:
drift on a shared machine falls on both alike); R repetitions; the figure is the
big/small ratio of the medians, min/median/max over the repetitions. Target: the median
ratio within 1.2x. SQL statements are counted per update (a statement belongs to the
update whose scope ran it) and must be equal in both branches: a count that grows with
the branch is a defect.

Last, the quarter close (``PointsService.close_due_quarter``, 2026Q2; all but the last
rolled back) and the ranking (``member_scores``), each the median of 3 (quick: 7; the
sizes are small and the machine's noise is not), the sizes in rotation, of one branch at
each curve size (1k, 10k, 100k; quick: 100, 1k, 5k): seconds and
microseconds per member. Growth counts as at most linear when the per-member cost at the
largest size is at most 1.2x that at the second largest (the smallest is dominated by
fixed costs and only printed). Below 10,000 members the per-member cost still climbs to
its plateau (caches), so with the quick sizes that row is informative, not a verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._targets import Target

if TYPE_CHECKING:
    from bench._data import Population
    from domain.clock import FrozenClock
    from store.db import Database

#: The branches start on 1 July 2025; the bot runs on Monday 20 July 2026, 10:00 in
#: Beijing: 2026Q2's declaration window is over (it is closed before the bot starts) and
#: members claim for days of 2026Q3.
CREATED = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 7, 20, 2, 0, tzinfo=UTC)
RATIO_TARGET = 1.2
LINEAR_TARGET = 1.2
#: Distinct members who send the timed updates, in each branch.
USERS = 10
FILLER = 10_000
KINDS = ("points", "approve", "fees")
LABELS = {"points": "/points", "approve": "claim approval", "fees": "/fees (member)"}


@dataclass(frozen=True)
class Options:
    members: int = 100_000
    small: int = 10
    big: int = 2_000
    curve: tuple[int, ...] = (1_000, 10_000, 100_000)
    updates: int = 100
    warmup: int = 20
    repeats: int = 3
    entries: int = 40
    #: runs of the ranking and of the close per curve size (their medians are the figures)
    curve_runs: int = 3

    @classmethod
    def quick(cls) -> Options:
        return cls(
            members=5_000, big=200, curve=(100, 1_000, 5_000), updates=40, warmup=8, curve_runs=7
        )


@dataclass
class Phase:
    samples: list[float]
    statements: list[int]


@dataclass
class Result:
    options: Options
    populate_s: float = 0.0
    branches: list[int] = field(default_factory=list)
    ledger_rows: int = 0
    fee_rows: int = 0
    #: (repetition, branch "small"/"big", kind) → the phase
    phases: dict[tuple[int, str, str], Phase] = field(default_factory=dict)
    #: members → (ranking seconds, close seconds)
    curve: dict[int, tuple[float, float]] = field(default_factory=dict)
    approved: int = 0


def _year() -> list[Any]:
    from domain.periods import Quarter

    return [Quarter(2025, 3), Quarter(2025, 4), Quarter(2026, 1), Quarter(2026, 2)]


def _months() -> list[Any]:
    from domain.fee_rules import Month

    return [Month(2025, 7) + n for n in range(12)]


def layout(options: Options) -> tuple[list[tuple[str, int]], list[int]]:
    """The branches of the growth database (label, size) and the curve sizes that need a
    database of their own."""
    branches = [("small", options.small), ("big", options.big)]
    own: list[int] = []
    for size in options.curve:
        if size + options.small + options.big < options.members:
            branches.append((f"curve{size}", size))
        else:
            own.append(size)
    left = options.members - sum(size for _label, size in branches)
    n = 0
    while left > 0:
        size = min(FILLER, left)
        branches.append((f"filler{n}", size))
        left -= size
        n += 1
    return branches, own


async def _populate(
    db: Database, clock: FrozenClock, index: int, size: int, entries: int, fees: bool
) -> Population:
    from bench._data import FIRST_MEMBER_TG, SECRETARY_TG, populate

    return await populate(
        db,
        clock,
        members=size,
        entries_per_member=entries,
        quarters=_year(),
        fee_months=_months() if fees else (),
        secretary_tg=SECRETARY_TG + index,
        first_member_tg=FIRST_MEMBER_TG + index * 1_000_000,
        branch_name=f"第{index + 1}党支部",
    )


async def _curve(
    points: list[tuple[Database, FrozenClock, Population]], runs: int = 3
) -> dict[int, tuple[float, float]]:
    """(ranking seconds, quarter close seconds) of each branch, by members: each the
    median of ``runs`` in its own unit of work as the bot runs them, the branches in
    rotation (so the machine's drift falls on every size alike): rankings, then closes
    rolled back, …, the last closes committed."""
    from domain.periods import Quarter
    from domain.services import Services

    quarter = Quarter(2026, 2)
    rankings: dict[int, list[float]] = defaultdict(list)
    closes: dict[int, list[float]] = defaultdict(list)
    for run in range(runs):
        for db, clock, population in points:
            size = len(population.members)
            async with db.session() as session:
                started = time.perf_counter()
                scores = await Services(session, clock).points.member_scores(
                    population.branch_id, quarter
                )
                rankings[size].append(time.perf_counter() - started)
                assert len(scores) == size + 1  # and the secretary
        for db, clock, population in points:
            async with db.session() as session:
                started = time.perf_counter()
                result = await Services(session, clock).points.close_due_quarter(
                    population.branch_id
                )
                if run == runs - 1:
                    await session.commit()
                else:
                    await session.flush()
                    await session.rollback()
                closes[len(population.members)].append(time.perf_counter() - started)
            assert result is not None and result.quarter == quarter
    return {
        size: (statistics.median(rankings[size]), statistics.median(closes[size]))
        for size in rankings
    }


async def _close(db: Database, clock: FrozenClock, branch_id: int) -> None:
    from domain.services import Services

    async with db.session() as session:
        await Services(session, clock).points.close_due_quarter(branch_id)
        await session.commit()


async def _claims(
    db: Database, clock: FrozenClock, population: Population, users: list[int], count: int
) -> list[Any]:
    """``count`` pending claims of the given members (indexes), made through the service as
    a member would: one per (member, item, day of 2026Q3 so far)."""
    from bench._data import member_viewer
    from domain.services import Services

    claimable = [i for i in population.items if i.points > 0 and not i.evidence_required]
    today = date(2026, 7, 20)
    claims = []
    async with db.session() as session:
        svc = Services(session, clock)
        for n in range(count):
            index = users[n % len(users)]
            item = claimable[(n // len(users)) % len(claimable)]
            day = today - timedelta(days=n // (len(users) * len(claimable)))
            assert day.month == 7, "not enough (member, item, day) combinations"
            claims.append(
                await svc.points.submit_claim(
                    member_viewer(population, index),
                    item_id=item.id,
                    occurred_on=day,
                    description=f"基准申报 {n}",
                )
            )
        await session.commit()
    return claims


def _spread(size: int) -> list[int]:
    """USERS member indexes spread over the branch (all of a branch of USERS or fewer)."""
    if size <= USERS:
        return list(range(size))
    return [k * size // USERS for k in range(USERS)]


async def _measure_pair(
    count: int,
    warmup: int,
    small: Callable[[int], Awaitable[None]],
    big: Callable[[int], Awaitable[None]],
    counts: dict[int, int],
) -> tuple[Phase, Phase]:
    """Time the small and the big branch's updates alternately, one at a time (small,
    big, big, small, …: the machine's drift falls on both alike). The SQL statements of
    a timed update are those run in the scope of the update ids that appeared while it
    was handled, summed once the phase is over (an update commits after its reply)."""
    phases = {"small": Phase([], []), "big": Phase([], [])}
    updates: dict[str, list[set[int]]] = {"small": [], "big": []}
    for n in range(warmup + count):
        pair = [("small", small), ("big", big)]
        for label, one in pair if n % 2 == 0 else pair[::-1]:
            before = set(counts)
            started = time.perf_counter()
            await one(n)
            elapsed = (time.perf_counter() - started) * 1000
            if n >= warmup:
                phases[label].samples.append(elapsed)
                updates[label].append(set(counts) - before)
    await asyncio.sleep(0.3)
    for label, phase in phases.items():
        phase.statements = [sum(counts[k] for k in keys) for keys in updates[label]]
    return phases["small"], phases["big"]


async def _reply_containing(user: Any, needle: str) -> Any:
    while True:
        message = await user.wait_reply(timeout=30)
        if needle in message.text:
            return message


def _progress(text: str) -> None:
    print(f"[growth] {text}", file=sys.stderr, flush=True)


async def run(options: Options) -> Result:
    # The reminder dispatcher is not part of handling an update (as in bench.updates).
    os.environ["BRANCHBOT_REMINDER_TICK_SECONDS"] = "0"
    from sqlalchemy import event
    from telegram.constants import ParseMode

    from bench._data import settings_for
    from bot.app import LOCAL_TOKEN, build_application
    from bot.context import CURRENT_SCOPE
    from bot.runtime import Runtime
    from domain.clock import FrozenClock
    from domain.reader import Reader
    from emulator import BotAPIEmulator
    from handlers.points_review import review_markup, review_text
    from store.db import Database

    result = Result(options)
    branches, own = layout(options)
    per_kind = options.repeats * (options.warmup + options.updates)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'growth.sqlite3'}"
        db = Database(url)
        await db.upgrade()
        clock = FrozenClock(CREATED)
        started = time.perf_counter()
        populations: dict[str, Population] = {}
        for index, (label, size) in enumerate(branches):
            population = await _populate(db, clock, index, size, options.entries, fees=True)
            populations[label] = population
            result.ledger_rows += population.ledger_rows
            result.fee_rows += population.fee_rows
        result.populate_s = time.perf_counter() - started
        _progress(
            f"growth database: {options.members:,} members in {len(branches)} branches, "
            f"{result.ledger_rows:,} ledger entries ({result.populate_s:.0f} s)"
        )
        result.branches = [size for _label, size in branches]
        clock.set(NOW)
        curve_points = [
            (db, clock, p) for label, p in populations.items() if label.startswith("curve")
        ]
        owned: list[Database] = []
        for size in own:
            _progress(f"a database of one {size:,}-member branch for the curve")
            own_db = Database(f"sqlite:///{Path(tmp) / f'curve{size}.sqlite3'}")
            await own_db.upgrade()
            own_clock = FrozenClock(CREATED)
            population = await _populate(own_db, own_clock, 0, size, options.entries, fees=False)
            own_clock.set(NOW)
            curve_points.append((own_db, own_clock, population))
            owned.append(own_db)
        _progress("the close/ranking curve")
        result.curve = await _curve(curve_points, options.curve_runs)
        for own_db in owned:
            await own_db.dispose()
        for label, population in populations.items():
            if not label.startswith("curve"):
                await _close(db, clock, population.branch_id)

        users = {label: _spread(len(populations[label].members)) for label in ("small", "big")}
        claims = {
            label: await _claims(db, clock, populations[label], users[label], per_kind)
            for label in ("small", "big")
        }

        _progress("quarters closed, claims made; the bot starts")
        emu = BotAPIEmulator(token=LOCAL_TOKEN)
        await emu.start()
        settings = settings_for(url, emu.base_url, emu.base_file_url, Path(tmp) / "storage")
        runtime = Runtime(settings=settings, db=db, clock=clock)
        #: statements per update id (what ran inside that update's scope)
        counts: dict[int, int] = defaultdict(int)

        def count(*_args: Any) -> None:
            scope = CURRENT_SCOPE.get(None)
            if scope is not None and scope.update_id is not None:
                counts[scope.update_id] += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        app = build_application(runtime, rate_limiter=False)
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            reader = Reader.of("zh_Hans")
            people: dict[str, list[Any]] = {}
            reviews: dict[str, list[Any]] = {}
            secretaries: dict[str, Any] = {}
            for label in ("small", "big"):
                population = populations[label]
                people[label] = []
                for index in users[label]:
                    _pid, tg, name = population.members[index]
                    user = emu.user(tg, name)
                    user.started = True
                    people[label].append(user)
                secretary = emu.user(population.secretary.telegram_user_id, "王书记")
                secretary.started = True
                secretaries[label] = secretary
                reviews[label] = []
                for claim in claims[label]:
                    sent = await app.bot.send_message(
                        secretary.id,
                        review_text(reader, claim),
                        parse_mode=ParseMode.HTML,
                        reply_markup=review_markup(reader.gettext, claim.id),
                    )
                    reviews[label].append(emu.message(secretary.id, sent.message_id))
            used = {"small": 0, "big": 0}
            order = ["small", "big"]
            kinds: dict[str, dict[str, Callable[[int], Awaitable[None]]]] = {}
            for label in order:
                members = people[label]
                by_tg = {u.id: u for u in members}
                secretary = secretaries[label]

                async def points(n: int, members: list[Any] = members) -> None:
                    user = members[n % len(members)]
                    await user.send("/points")
                    await _reply_containing(user, "我的积分")

                async def fees(n: int, members: list[Any] = members) -> None:
                    user = members[n % len(members)]
                    await user.send("/fees")
                    await _reply_containing(user, "我的党费")

                async def approve(
                    n: int,
                    label: str = label,
                    secretary: Any = secretary,
                    by_tg: dict[int, Any] = by_tg,
                ) -> None:
                    k = used[label]
                    used[label] += 1
                    claim, message = claims[label][k], reviews[label][k]
                    assert claim.telegram_user_id is not None  # members have accounts
                    await secretary.press(message, "批准")
                    await secretary.wait_edit(message, timeout=30)
                    told = await _reply_containing(
                        by_tg[claim.telegram_user_id], f"第 {claim.id} 号申报"
                    )
                    assert "审核通过" in told.text, told.text

                kinds[label] = {"points": points, "approve": approve, "fees": fees}
            for rep in range(options.repeats):
                for kind in KINDS:
                    small, big = await _measure_pair(
                        options.updates,
                        options.warmup,
                        kinds["small"][kind],
                        kinds["big"][kind],
                        counts,
                    )
                    result.phases[(rep, "small", kind)] = small
                    result.phases[(rep, "big", kind)] = big
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
            await emu.stop()
        async with db.session() as session:
            from sqlalchemy import text

            result.approved = (
                await session.execute(
                    text("SELECT count(*) FROM point_claims WHERE status = 'approved'")
                )
            ).scalar_one()
        await db.dispose()

        _progress(f"updates measured; claims approved: {result.approved}")
    return result


# -- the report -------------------------------------------------------------------------
def _ratios(r: Result, kind: str) -> list[float]:
    out = []
    for rep in range(r.options.repeats):
        small = statistics.median(r.phases[(rep, "small", kind)].samples)
        big = statistics.median(r.phases[(rep, "big", kind)].samples)
        out.append(big / small if small else 0.0)
    return out


def _statements(r: Result, label: str, kind: str) -> list[int]:
    return [s for rep in range(r.options.repeats) for s in r.phases[(rep, label, kind)].statements]


def _sql_text(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi} (median {statistics.median(values):g})"


def _linear(r: Result) -> tuple[list[tuple[int, float, float, float, float]], float, float]:
    """Curve rows (members, ranking s, ranking µs/member, close s, close µs/member) and the
    per-member growth of ranking and close from the second largest to the largest."""
    rows = []
    for size in sorted(r.curve):
        ranking, close = r.curve[size]
        members = size + 1
        rows.append((size, ranking, ranking / members * 1e6, close, close / members * 1e6))
    if len(rows) < 2:
        return rows, 0.0, 0.0
    a, b = rows[-2], rows[-1]
    return rows, b[2] / a[2], b[4] / a[4]


#: Below this size the per-member cost of the ranking and the close is still climbing to
#: its plateau (the sums and the score objects outgrow the CPU caches and SQLite's 2 MB
#: page cache between ~1,000 and ~10,000 members: 35 µs → 70 µs per member, then flat to
#: 100,000), so a curve that ends below it says nothing about growth: informative only.
LINEAR_FROM = 10_000


def targets_of(r: Result) -> list[Target]:
    out = []
    for kind in KINDS:
        ratios = _ratios(r, kind)
        small = _statements(r, "small", kind)
        big = _statements(r, "big", kind)
        flat = statistics.median(ratios) <= RATIO_TARGET
        equal = sorted(set(small)) == sorted(set(big))
        out.append(
            Target(
                "growth",
                f"{LABELS[kind]} {r.options.big:,} vs {r.options.small} members",
                f"<= {RATIO_TARGET}x",
                f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})",
                flat,
            )
        )
        out.append(
            Target(
                "growth",
                f"{LABELS[kind]} SQL statements, big = small",
                "equal",
                f"{_sql_text(big)} vs {_sql_text(small)}",
                equal,
            )
        )
    rows, ranking_growth, close_growth = _linear(r)
    if len(rows) >= 2:
        a, b = rows[-2][0], rows[-1][0]
        out.append(
            Target(
                "growth",
                f"ranking per member {b:,} vs {a:,}",
                f"<= {LINEAR_TARGET}x",
                f"{ranking_growth:.2f}x ({rows[-1][2]:.1f} vs {rows[-2][2]:.1f} µs/member)",
                ranking_growth <= LINEAR_TARGET if rows[-2][0] >= LINEAR_FROM else None,
            )
        )
        out.append(
            Target(
                "growth",
                f"quarter close per member {b:,} vs {a:,}",
                f"<= {LINEAR_TARGET}x",
                f"{close_growth:.2f}x ({rows[-1][4]:.1f} vs {rows[-2][4]:.1f} µs/member)",
                close_growth <= LINEAR_TARGET if rows[-2][0] >= LINEAR_FROM else None,
            )
        )
    return out


def report(r: Result) -> str:
    from bench._data import table

    o = r.options
    lines = [
        f"Growth: {o.members:,} members in {len(r.branches)} branches (SQLite), "
        f"{r.ledger_rows:,} ledger entries, {r.fee_rows:,} fee rows; "
        f"set-up {r.populate_s:.0f} s",
        f"{o.updates} timed updates per kind and branch after {o.warmup} warm-up, "
        f"{o.repeats} repetitions, small and big alternating update by update; "
        f"{USERS} members of each branch in turn; claims approved: {r.approved}",
        "",
    ]
    rows: list[tuple[str, str, str]] = []
    for kind in KINDS:
        for rep in range(o.repeats):
            small = statistics.median(r.phases[(rep, "small", kind)].samples)
            big = statistics.median(r.phases[(rep, "big", kind)].samples)
            rows.append(
                (
                    f"{LABELS[kind]} #{rep + 1}",
                    f"{small:6.2f} ms / {big:6.2f} ms",
                    f"big/small {big / small if small else 0:.2f}x",
                )
            )
        ratios = _ratios(r, kind)
        rows.append(
            (
                f"{LABELS[kind]} ratio",
                f"{statistics.median(ratios):.2f}x",
                f"min {min(ratios):.2f} max {max(ratios):.2f} — target: median <= "
                f"{RATIO_TARGET}x: "
                + ("OK" if statistics.median(ratios) <= RATIO_TARGET else "over"),
            )
        )
        small_sql, big_sql = _statements(r, "small", kind), _statements(r, "big", kind)
        rows.append(
            (
                f"{LABELS[kind]} SQL/update",
                f"{_sql_text(small_sql)} / {_sql_text(big_sql)}",
                "equal" if sorted(set(small_sql)) == sorted(set(big_sql)) else "DIFFERENT",
            )
        )
    lines.append(
        table(f"Per update, median: {o.small}-member branch / {o.big:,}-member branch", rows)
    )
    curve, ranking_growth, close_growth = _linear(r)
    lines.append("")
    title = "Quarter close and ranking of one branch (2026Q2, 10 entries per member)"
    lines.append(title)
    lines.append("-" * len(title))
    lines.append(
        f"{'members':>9}  {'ranking':>9}  {'µs/member':>9}  {'close':>9}  {'µs/member':>9}"
    )
    for size, ranking, ranking_us, close, close_us in curve:
        lines.append(
            f"{size:>9,}  {ranking:>8.3f}s  {ranking_us:>9.1f}  {close:>8.3f}s  {close_us:>9.1f}"
        )
    if len(curve) >= 2:
        a, b = curve[-2][0], curve[-1][0]
        verdict = "OK" if max(ranking_growth, close_growth) <= LINEAR_TARGET else "over"
        if a < LINEAR_FROM:
            verdict += f" (informative: below {LINEAR_FROM:,} members the cost is still rising)"
        lines.append(
            f"per-member cost {b:,} vs {a:,}: ranking {ranking_growth:.2f}x, close "
            f"{close_growth:.2f}x — at most linear when <= {LINEAR_TARGET}x: {verdict}"
        )
    return "\n".join(lines)


def targets(quick: bool) -> list[Target]:
    """``python -m bench all``: run with full (or quick) sizes, print, return the targets."""
    result = asyncio.run(run(Options.quick() if quick else Options()))
    print(report(result), flush=True)
    return targets_of(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (5,000 members)")
    parser.add_argument("--members", type=int, help="members in the database (100,000)")
    parser.add_argument("--small", type=int, help="the small branch (10)")
    parser.add_argument("--big", type=int, help="the big branch (2,000)")
    parser.add_argument(
        "--curve", help="branch sizes of the close/ranking curve (1000,10000,100000)"
    )
    parser.add_argument("--updates", type=int, help="timed updates per kind and branch (100)")
    parser.add_argument("--warmup", type=int, help="warm-up updates per kind and branch (20)")
    parser.add_argument("--repeats", type=int, help="repetitions (3)")
    parser.add_argument("--entries", type=int, help="ledger entries per member and year (40)")
    args = parser.parse_args(argv)
    base = Options.quick() if args.quick else Options()
    changes: dict[str, Any] = {
        k: getattr(args, k)
        for k in ("members", "small", "big", "updates", "warmup", "repeats", "entries")
        if getattr(args, k) is not None
    }
    if args.curve:
        changes["curve"] = tuple(int(x) for x in args.curve.split(","))
    options = Options(**{**base.__dict__, **changes})
    result = asyncio.run(run(options))
    print(report(result))
    for t in targets_of(result):
        verdict = "-" if t.met is None else ("met" if t.met else "NOT MET")
        print(f"TARGET  {t.name}: {t.measured} (goal {t.goal}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
