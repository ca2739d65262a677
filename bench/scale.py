"""Scale benchmark: a branch of N members (default 10,000) with M ledger entries each
(default 40, all in the quarter under test), on SQLite in a temporary directory; or,
with ``--postgres``, the province on PostgreSQL (``bench/_province_run.py``).

    python -m bench.scale [--members N] [--entries M] [--samples S] [--updates U]
    python -m bench.scale --postgres [--members 100000 --branches 5000 --orgs 50
                                      --entries 40] [--quick] [--reuse] [--no-broadcast]

``--postgres`` then runs ``bench.fleet`` on the same province database: the fee-day
reminder to every member at 1,000 msg/s from two instances, plain and with the leader
SIGKILLed halfway (``python -m bench all`` runs ``fleet`` after ``scale`` instead).

Prints, with the targets of issue #7:

* the ranking computation (``PointsService.member_scores``) of the open quarter and of the
  closed quarter, and the quarter close (``close_due_quarter``: final scores stored), each
  through ``Services`` in one unit of work — target under 2 s;
* the server time of a ``/points`` answer: the domain calls of an update (resolve the
  viewer, ``MembershipService.touch``) and of the handler (``PointsService.overview``)
  for S random members, each in its own session — target under 20 ms;
* the resident memory (VmRSS) of a running bot Application (polling the local emulator)
  on that database after handling U updates, measured in a fresh child process so the
  benchmark's own data does not count — target under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._targets import Target

#: Branch created on 5 Jan 2026; the quarter under test is 2026Q1, closed on 15 April
#: (after its 10-day declaration window), when /points shows 2026Q2 and the year so far.
CREATED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 15, 1, 0, tzinfo=UTC)

RANKING_TARGET = 2.0
POINTS_TARGET_MS = 20.0
RSS_TARGET_MB = 200.0


async def _timed(coro: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await coro
    return result, time.perf_counter() - started


async def measure(url: str, members: int, entries: int, samples: int) -> dict[str, Any]:
    from bench._data import median, member_viewer, percentile, populate
    from domain.clock import FrozenClock
    from domain.periods import Quarter
    from domain.services import Services
    from domain.viewer import TelegramUserInfo
    from store.db import Database

    quarter = Quarter(2026, 1)
    out: dict[str, Any] = {"members": members, "entries": entries}
    db = Database(url)
    await db.upgrade()
    clock = FrozenClock(CREATED)
    started = time.perf_counter()
    population = await populate(
        db, clock, members=members, entries_per_member=entries, quarter=quarter
    )
    out["populate_s"] = time.perf_counter() - started
    out["ledger_rows"] = population.ledger_rows
    clock.set(NOW)

    async def ranking() -> float:
        async with db.session() as session:
            svc = Services(session, clock)
            scores, seconds = await _timed(svc.points.member_scores(population.branch_id, quarter))
            assert len(scores) == members + 1  # and the secretary
            return seconds

    out["ranking_open_s"] = median([await ranking() for _ in range(3)])
    async with db.session() as session:
        svc = Services(session, clock)
        started = time.perf_counter()
        result = await svc.points.close_due_quarter(population.branch_id)
        await session.commit()
        out["close_s"] = time.perf_counter() - started
    assert result is not None and result.quarter == quarter
    out["below_60"] = len(result.below)
    out["ranking_closed_s"] = median([await ranking() for _ in range(3)])

    rng = random.Random(7)
    picks = [rng.randrange(members) for _ in range(samples)]
    touch_ms: list[float] = []
    overview_ms: list[float] = []
    for index in picks:
        viewer = member_viewer(population, index)
        async with db.session() as session:
            svc = Services(session, clock)
            started = time.perf_counter()
            info = TelegramUserInfo(
                viewer.telegram_user_id, viewer.display_name, language_code="zh-hans"
            )
            resolved = await svc.membership.touch(info)
            middle = time.perf_counter()
            overview = await svc.points.overview(resolved)
            ended = time.perf_counter()
            await session.rollback()
        assert resolved.person_id == viewer.person_id and overview.recent
        touch_ms.append((middle - started) * 1000)
        overview_ms.append((ended - middle) * 1000)
    total_ms = [a + b for a, b in zip(touch_ms, overview_ms, strict=True)]
    out["touch_ms"] = median(touch_ms)
    out["overview_ms"] = median(overview_ms)
    out["points_ms"] = median(total_ms)
    out["points_p95_ms"] = percentile(total_ms, 0.95)
    await db.dispose()

    return out


def run(members: int, entries: int, samples: int, updates: int) -> dict[str, Any]:
    """The measurements in this process, then the RSS of a bot in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scale.sqlite3'}"
        out = asyncio.run(measure(url, members, entries, samples))
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.scale",
                "--child-rss",
                url,
                "--updates",
                str(updates),
                "--members",
                str(members),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "BRANCHBOT_LOG_LEVEL": "WARNING"},
        )
        if child.returncode != 0:
            raise RuntimeError(f"RSS child failed:\n{child.stdout}\n{child.stderr}")
        out.update(json.loads(child.stdout.strip().splitlines()[-1]))
    return out


async def child_rss(url: str, members: int, updates: int) -> dict[str, Any]:
    """A running bot on ``url`` (polling a local emulator), U updates handled: /points
    from U-2 members, /points history and /pending from the secretary; RSS after."""
    from bench._data import FIRST_MEMBER_TG, SECRETARY_TG, median, rss_mb, settings_for
    from bot.app import LOCAL_TOKEN
    from bot.runtime import Runtime
    from domain.clock import FrozenClock
    from emulator import BotAPIEmulator
    from store.db import Database
    from tests.harness import start_app, stop_app

    emu = BotAPIEmulator(token=LOCAL_TOKEN)
    await emu.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(url, emu.base_url, emu.base_file_url, Path(tmp) / "storage")
        runtime = Runtime(settings=settings, db=Database(url), clock=FrozenClock(NOW))
        rss_before, _ = rss_mb()
        app = await start_app(runtime)
        durations: list[float] = []
        original = app.process_update

        async def timed_process_update(update: object) -> None:
            started = time.perf_counter()
            await original(update)
            durations.append((time.perf_counter() - started) * 1000)

        app.process_update = timed_process_update  # type: ignore[method-assign]
        try:
            secretary = emu.user(SECRETARY_TG, "王书记")
            await secretary.send("/points history")
            await secretary.wait_reply(timeout=30)
            await secretary.send("/pending")
            await secretary.wait_reply(timeout=30)
            rng = random.Random(11)
            for _ in range(max(0, updates - 2)):
                n = rng.randrange(members)
                user = emu.user(FIRST_MEMBER_TG + n, f"党员{n:05d}")
                await user.send("/points")
                reply = await user.wait_reply(timeout=30)
                assert reply.text and "积分" in reply.text, reply.text
            rss_after, peak = rss_mb()
        finally:
            await stop_app(app)
    await emu.stop()
    return {
        "rss_before_app_mb": rss_before,
        "rss_mb": rss_after,
        "rss_peak_mb": peak,
        "updates": len(durations),
        "process_update_ms": median(durations),
    }


def report(r: dict[str, Any]) -> tuple[str, bool]:
    from bench._data import table

    ranking_ok = max(r["ranking_open_s"], r["ranking_closed_s"], r["close_s"]) < RANKING_TARGET
    points_ok = r["points_ms"] < POINTS_TARGET_MS
    rss_ok = r["rss_mb"] < RSS_TARGET_MB
    rows = [
        ("members", f"{r['members']:,}", "+ the secretary"),
        ("ledger entries", f"{r['ledger_rows']:,}", f"{r['entries']} per member, one quarter"),
        ("bulk insert", f"{r['populate_s']:.1f} s", "set-up, not a target"),
        ("ranking, open quarter", f"{r['ranking_open_s']:.3f} s", "< 2 s"),
        ("quarter close", f"{r['close_s']:.3f} s", f"< 2 s ({r['below_60']:,} below 60)"),
        ("ranking, closed quarter", f"{r['ranking_closed_s']:.3f} s", "< 2 s"),
        ("/points: touch (median)", f"{r['touch_ms']:.2f} ms", "per-update viewer"),
        ("/points: overview (median)", f"{r['overview_ms']:.2f} ms", "the handler's call"),
        ("/points server time (median)", f"{r['points_ms']:.2f} ms", "< 20 ms"),
        ("/points server time (p95)", f"{r['points_p95_ms']:.2f} ms", ""),
        (
            "process_update, running bot",
            f"{r['process_update_ms']:.2f} ms",
            f"median of {r['updates']} updates, incl. reply over HTTP",
        ),
        ("RSS before the app", f"{r['rss_before_app_mb']:.1f} MB", "interpreter + emulator"),
        ("RSS of the running bot", f"{r['rss_mb']:.1f} MB", "< 200 MB"),
        ("peak RSS (VmHWM)", f"{r['rss_peak_mb']:.1f} MB", ""),
    ]
    ok = ranking_ok and points_ok and rss_ok
    text = table("Scale benchmark (SQLite)", rows)
    return text + "\nRESULT  " + ("OK" if ok else "NOT MET"), ok


#: Sizes of the quick runs (``--quick``, ``python -m bench all --quick``).
QUICK_SQLITE = {"members": 500, "entries": 10, "samples": 20, "updates": 5}
QUICK_PROVINCE = {"members": 2_000, "branches": 100, "orgs": 10, "entries": 8, "updates": 5}
PROVINCE = {"members": 100_000, "branches": 5_000, "orgs": 50, "entries": 40, "updates": 50}


def run_postgres(
    members: int,
    branches: int,
    orgs: int,
    entries: int,
    updates: int,
    reuse: bool = False,
    database: str = "province_bench",
) -> tuple[str, list[Target]]:
    """The province run: its table and its targets. Quick runs use another database
    (``province_quick``) than full ones, so they never drop a built province."""
    from bench._province_run import measure
    from bench._province_run import report as province_report

    result = asyncio.run(measure(members, branches, orgs, entries, updates, reuse, database))
    text, rows = province_report(result)
    return text, [Target("scale", name, goal, measured, met) for name, goal, measured, met in rows]


def sqlite_targets(r: dict[str, Any]) -> list[Target]:
    def seconds(value: float) -> str:
        return f"{value:.3f} s"

    return [
        Target(
            "scale",
            f"ranking of {r['members']:,} members (SQLite), open quarter",
            "< 2 s",
            seconds(r["ranking_open_s"]),
            r["ranking_open_s"] < RANKING_TARGET,
        ),
        Target(
            "scale",
            f"quarter close of {r['members']:,} members (SQLite)",
            "< 2 s",
            seconds(r["close_s"]),
            r["close_s"] < RANKING_TARGET,
        ),
        Target(
            "scale",
            f"ranking of {r['members']:,} members (SQLite), closed quarter",
            "< 2 s",
            seconds(r["ranking_closed_s"]),
            r["ranking_closed_s"] < RANKING_TARGET,
        ),
        Target(
            "scale",
            "/points server time (SQLite, median)",
            "< 20 ms",
            f"{r['points_ms']:.2f} ms (p95 {r['points_p95_ms']:.2f})",
            r["points_ms"] < POINTS_TARGET_MS,
        ),
        Target(
            "scale",
            "RSS of the running bot (SQLite)",
            "< 200 MB",
            f"{r['rss_mb']:.1f} MB",
            r["rss_mb"] < RSS_TARGET_MB,
        ),
    ]


def targets(quick: bool) -> list[Target]:
    """``python -m bench all``: the SQLite branch of 10,000 members, then the province on
    PostgreSQL (small sizes with ``quick``)."""
    sizes = (
        QUICK_SQLITE if quick else {"members": 10_000, "entries": 40, "samples": 200, "updates": 50}
    )
    result = run(sizes["members"], sizes["entries"], sizes["samples"], sizes["updates"])
    text, _ok = report(result)
    print(text, flush=True)
    found = sqlite_targets(result)
    p = QUICK_PROVINCE if quick else PROVINCE
    text, more = run_postgres(
        p["members"],
        p["branches"],
        p["orgs"],
        p["entries"],
        p["updates"],
        database="province_quick" if quick else "province_bench",
    )
    print(text, flush=True)
    return found + more


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, help="10,000 (SQLite), 100,000 (--postgres)")
    parser.add_argument("--entries", type=int, default=40)
    parser.add_argument("--samples", type=int, default=200, help="/points timings")
    parser.add_argument("--updates", type=int, help="updates before RSS (50)")
    parser.add_argument("--postgres", action="store_true", help="the province on PostgreSQL")
    parser.add_argument("--branches", type=int, default=PROVINCE["branches"], help="--postgres")
    parser.add_argument("--orgs", type=int, default=PROVINCE["orgs"], help="--postgres")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--postgres: keep the database province_bench if it has these sizes (no rebuild)",
    )
    parser.add_argument(
        "--no-broadcast",
        action="store_true",
        help="--postgres: skip the fee-day broadcast on the province (bench.fleet)",
    )
    parser.add_argument("--child-rss", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_rss:
        print(json.dumps(asyncio.run(child_rss(args.child_rss, args.members, args.updates))))
        return 0
    if args.postgres:
        sizes: dict[str, int] = dict(QUICK_PROVINCE if args.quick else PROVINCE)
        given = {
            "members": args.members,
            "branches": None if args.quick else args.branches,
            "orgs": None if args.quick else args.orgs,
            "entries": None if args.quick else args.entries,
            "updates": args.updates,
        }
        sizes.update({k: v for k, v in given.items() if v is not None})
        text, _targets = run_postgres(
            sizes["members"],
            sizes["branches"],
            sizes["orgs"],
            sizes["entries"],
            sizes["updates"],
            reuse=args.reuse,
            database="province_quick" if args.quick else "province_bench",
        )
        print(text, flush=True)
        if args.no_broadcast:
            return 0
        # Target 3's broadcast on the same data set: the fee-day reminder to every member
        # at 1,000 msg/s from two instances, then with the leader SIGKILLed halfway.
        from bench import _pg, fleet

        url = asyncio.run(
            _pg.existing_database("province_quick" if args.quick else "province_bench")
        )
        assert url is not None  # run_postgres keeps the database it built
        print("\nFee-day broadcast on the province (bench.fleet)\n", flush=True)
        return fleet.main(["--database-url", url])
    if args.quick:
        members, entries = QUICK_SQLITE["members"], QUICK_SQLITE["entries"]
        samples, updates = QUICK_SQLITE["samples"], QUICK_SQLITE["updates"]
    else:
        members, entries, samples = args.members or 10_000, args.entries, args.samples
        updates = args.updates or 50
    result = run(members, entries, samples, updates)
    text, _ok = report(result)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
