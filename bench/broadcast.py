"""Broadcast benchmark: one reminder to N members (default 5,000) through the real
dispatcher and PTB's AIORateLimiter, against the local Bot API emulator enforcing
Telegram's limits (30 messages/s overall, 1/s per chat, 20/min per group).

    python -m bench.broadcast [--members N]

Prints messages/s, the ratio to 30/s, the time the 30/s limit allows, 429 answers and
lost or duplicated messages. Target: within 10% of what 30/s allows, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert, text

from bench._targets import Target

LIMIT_PER_SECOND = 30.0
#: 09:00 Beijing on Friday 22 May 2026.
NOW = datetime(2026, 5, 22, 1, 0, tzinfo=UTC)


async def run(members: int, rate: float) -> dict[str, float]:
    os.environ["BRANCHBOT_REMINDER_TICK_SECONDS"] = "0"  # we call the dispatcher ourselves
    from bot.app import LOCAL_TOKEN, build_application
    from bot.runtime import Runtime
    from bot.settings import Settings
    from domain.clock import FrozenClock
    from domain.reminders import RemindersService
    from domain.roles import PersonStatus, Role
    from domain.services import Services
    from domain.viewer import Viewer
    from emulator import BotAPIEmulator, RateLimits
    from scheduler.dispatcher import ReminderConfig, dispatch_due
    from store.db import Database
    from store.models import Membership, Person, TelegramAccount

    emu = BotAPIEmulator(
        token=LOCAL_TOKEN,
        rate_limits=RateLimits(
            global_per_second=30, per_chat_per_second=1.0, per_group_per_minute=20
        ),
    )
    await emu.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        db = Database(url)
        await db.upgrade()
        clock = FrozenClock(datetime(2026, 5, 1, tzinfo=UTC))
        settings = Settings(
            TELEGRAM_BOT_TOKEN=LOCAL_TOKEN,
            TELEGRAM_API_BASE_URL=emu.base_url,
            TELEGRAM_API_BASE_FILE_URL=emu.base_file_url,
            DATABASE_URL=url,
            BRANCHBOT_STORAGE_DIR=Path(tmp) / "storage",
        )
        runtime = Runtime(settings=settings, db=db, clock=clock)
        first_id = 10_000_000
        async with db.session() as session:
            svc = Services(session, clock)
            branch = await svc.membership.create_branch("基准测试党支部", 1001)
            now = clock.now()
            persons = [
                {
                    "full_name": f"党员{i:05d}",
                    "status": "member",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(members)
            ]
            await session.execute(insert(Person), persons)
            rows = (
                await session.execute(
                    text("SELECT id FROM persons WHERE full_name LIKE '党员%' ORDER BY id")
                )
            ).all()
            ids = [r[0] for r in rows]
            await session.execute(
                insert(Membership),
                [
                    {
                        "person_id": pid,
                        "branch_id": branch.id,
                        "role": "member",
                        "can_review": False,
                        "started_at": now,
                    }
                    for pid in ids
                ],
            )
            await session.execute(
                insert(TelegramAccount),
                [
                    {
                        "telegram_user_id": first_id + n,
                        "person_id": pid,
                        "first_name": f"党员{n:05d}",
                        "language_code": "zh-hans",
                        "started_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, pid in enumerate(ids)
                ],
            )
            # One broadcast: a one-off event today, reminded on the day at 09:00, to all.
            await session.execute(text("UPDATE calendar_rules SET enabled = 0"))
            await session.execute(
                text(
                    "UPDATE telegram_accounts SET started_at = created_at WHERE started_at IS NULL"
                )
            )
            await session.commit()
        async with db.session() as session:
            viewer = Viewer(
                telegram_user_id=1001,
                display_name="书记",
                locale="zh_Hans",
                person_id=1,
                status=PersonStatus.MEMBER,
                branch_id=branch.id,
                branch_timezone="Asia/Shanghai",
                role=Role.SECRETARY,
            )
            await RemindersService(session, clock).add_one_off(
                viewer,
                on_date=date(2026, 5, 22),
                event_time="15:00",
                title="全体党员大会",
                audience="all",
                reminders=[(0, "09:00")],
            )
            await session.commit()
        for n in range(members):
            emu.user(first_id + n, f"党员{n:05d}").started = True
        emu.user(1001, "书记").started = True

        app = build_application(runtime)
        await app.initialize()
        await app.start()
        try:
            clock.set(NOW)
            config = ReminderConfig(rate_per_second=rate)
            started = time.perf_counter()
            report = await dispatch_due(runtime, app, NOW, config=config)
            elapsed = time.perf_counter() - started
        finally:
            await app.stop()
            await app.shutdown()
        sends = [r for r in emu.requests if r.method == "sendMessage"]
        ok = Counter(r.params.get("chat_id") for r in sends if r.status == 200)
        too_many = sum(1 for r in sends if r.status == 429)
        expected = members + 1  # and the secretary
    await emu.stop()
    delivered = len(ok)
    return {
        "members": members,
        "expected": expected,
        "delivered": delivered,
        "sent": report.sent,
        "lost": expected - delivered,
        "duplicates": sum(c - 1 for c in ok.values() if c > 1),
        "answers_429": too_many,
        "elapsed": elapsed,
        "rate": delivered / elapsed if elapsed else 0.0,
        "ideal": expected / LIMIT_PER_SECOND,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=LIMIT_PER_SECOND, help="pacing, msg/s")
    args = parser.parse_args(argv)
    r = asyncio.run(run(args.members, args.rate))
    ratio = r["rate"] / LIMIT_PER_SECOND
    over = r["elapsed"] / r["ideal"] - 1
    print(f"members              {r['members']:.0f} (+ the secretary)")
    print(f"delivered            {r['delivered']:.0f} of {r['expected']:.0f}")
    print(f"lost                 {r['lost']:.0f}")
    print(f"duplicates           {r['duplicates']:.0f}")
    print(f"429 answers          {r['answers_429']:.0f}")
    print(f"elapsed              {r['elapsed']:.1f} s (30/s allows {r['ideal']:.1f} s)")
    print(f"messages/s           {r['rate']:.2f}")
    print(f"ratio to 30/s        {ratio:.3f}")
    print(f"time over the limit  {over * 100:+.1f}% (target: within 10%)")
    ok = r["lost"] == 0 and r["duplicates"] == 0 and over <= 0.10
    print("RESULT               " + ("OK" if ok else "NOT MET"))
    return 0 if ok else 1


def targets(quick: bool) -> list[Target]:
    """``python -m bench all``: 5,000 members (quick: 300) at the free 30/s."""
    members = 300 if quick else 5000
    r = asyncio.run(run(members, LIMIT_PER_SECOND))
    ratio = r["rate"] / LIMIT_PER_SECOND
    print(f"members {members}: {r['delivered']:.0f} delivered, {r['rate']:.2f} msg/s")
    return [
        Target(
            "broadcast",
            f"reminder to {members} members vs 30/s (free)",
            ">= 0.90",
            f"{ratio:.3f} ({r['rate']:.2f} msg/s)",
            ratio >= 0.90,
        ),
        Target(
            "broadcast",
            "lost / duplicated at 30/s",
            "0 / 0",
            f"{r['lost']:.0f} / {r['duplicates']:.0f}",
            r["lost"] == 0 and r["duplicates"] == 0,
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
