"""Other users' latency while one member floods the bot (issue #17).

    python -m bench.flood [--burst 300] [--others 20] [--samples 20] [--compare]

The real branch bot (its rate limiter on) on the local Bot API emulator with
Telegram's flood limits (30 messages/s overall, about 1/s per chat after a burst of 3),
SQLite in a temporary directory. First the other members each send ``/points`` in turn
on a quiet bot (the normal latency; each member sends at most one message per
phase with the defaults, as a person would); then one member sends ``--burst`` messages at once
and, right behind them, the others send ``/points`` in turn again. Prints the median,
p95 and worst latency of both, how many of the flood's updates the throttle dropped,
and whether the flooder was told (once).

``--compare`` runs the flood again with the throttle off (how the bot behaved before):
the others' first answers are waited for at most ``--patience`` seconds each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
NOTICE = "发送消息太快"


async def _points(user: Any, timeout: float) -> float:  # noqa: ASYNC109
    """Milliseconds from ``/points`` to the answer (inf if none within ``timeout``)."""
    started = time.perf_counter()
    await user.send("/points")
    deadline = started + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return float("inf")
        try:
            message = await user.wait_reply(timeout=left)
        except AssertionError:
            return float("inf")
        if "我的积分" in (message.text or ""):
            return (time.perf_counter() - started) * 1000


async def _phase(
    url: str, tmp: Path, population: Any, *, burst: int, others: int, samples: int,
    throttle: bool, patience: float,
) -> dict[str, Any]:  # fmt: skip
    from bench._data import settings_for
    from bot.app import LOCAL_TOKEN, build_application
    from bot.runtime import Runtime
    from domain.clock import FrozenClock
    from emulator import BotAPIEmulator
    from emulator.models import RateLimits
    from store.db import Database

    emu = BotAPIEmulator(token=LOCAL_TOKEN, rate_limits=RateLimits())
    await emu.start()
    extra: dict[str, Any] = {"BRANCHBOT_RETRY_BACKOFF": 0.01}
    if throttle:
        extra["BRANCHBOT_FLOOD_BURST"] = int(os.environ.get("BRANCHBOT_FLOOD_BURST", "10"))
    settings = settings_for(url, emu.base_url, emu.base_file_url, tmp / "storage", **extra)
    runtime = Runtime(settings=settings, db=Database(url), clock=FrozenClock(NOW))
    app = build_application(runtime)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    result: dict[str, Any] = {}
    try:
        users = [emu.user(tg, name) for _pid, tg, name in population.members[: others + 1]]
        for user in users:
            user.started = True
        flooder, rest = users[0], users[1:]
        quiet = [await _points(rest[n % len(rest)], 10.0) for n in range(samples)]
        for n in range(burst):
            await flooder.send(f"刷屏 {n}")
        loaded = []
        for n in range(samples):
            latency = await _points(rest[n % len(rest)], patience)
            loaded.append(latency)
            if latency == float("inf"):
                break
        result = {"quiet": quiet, "loaded": loaded}
        flood = app.bot_data["flood"]
        result["dropped"] = flood.dropped
        result["notices"] = sum(1 for m in flooder.inbox if NOTICE in (m.text or ""))
        async with runtime.db.session() as session:
            from sqlalchemy import func, select

            from store.models import Delivery

            result["queued"] = await session.scalar(
                select(func.count(Delivery.id)).where(
                    Delivery.chat_id == flooder.id, Delivery.text.contains(NOTICE)
                )
            )
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await runtime.db.dispose()
        await emu.stop()
    return result


async def run(
    burst: int, others: int, samples: int, *, compare: bool, patience: float
) -> dict[str, Any]:
    os.environ["BRANCHBOT_REMINDER_TICK_SECONDS"] = "0"
    from bench._data import populate
    from domain.clock import FrozenClock
    from domain.periods import Quarter
    from store.db import Database

    results: dict[str, Any] = {"burst": burst, "others": others, "samples": samples}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'flood.sqlite3'}"
        db = Database(url)
        await db.upgrade()
        population = await populate(
            db, FrozenClock(NOW), members=others + 1, entries_per_member=3,
            quarter=Quarter(2026, 2),
        )  # fmt: skip
        await db.dispose()
        # Each phase on its own copy: a new emulator numbers its updates from 1 again.
        for name, throttle in (("on", True), ("off", False))[: 2 if compare else 1]:
            copy = tmp / f"flood-{name}.sqlite3"
            shutil.copyfile(tmp / "flood.sqlite3", copy)
            results[name] = await _phase(
                f"sqlite:///{copy}", tmp, population, throttle=throttle, burst=burst,
                others=others, samples=samples, patience=patience,
            )  # fmt: skip
    return results


def _figures(samples: list[float]) -> str:
    from bench._data import median, percentile

    finite = [s for s in samples if s != float("inf")]
    if not finite:
        return "no answer"
    late = len(samples) - len(finite)
    text = (
        f"median {median(finite):8.1f} ms  p95 {percentile(finite, 0.95):8.1f} ms  "
        f"worst {max(finite):8.1f} ms"
    )
    return text + (f"  ({late} not answered in time)" if late else "")


def report(r: dict[str, Any]) -> str:
    lines = [
        f"flood: one member sends {r['burst']} messages at once; "
        f"{r['others']} other members send /points ({r['samples']} samples)",
        f"  throttle on:  quiet   {_figures(r['on']['quiet'])}",
        f"                flood   {_figures(r['on']['loaded'])}",
        f"                dropped {r['on']['dropped']} of {r['burst']}; "
        f"flooder told {r['on']['notices']} time(s), "
        f"{r['on']['queued']} notice(s) queued for the delivery task (their chat is over "
        "Telegram's pace)",
    ]
    if "off" in r:
        lines += [
            f"  throttle off: quiet   {_figures(r['off']['quiet'])}",
            f"                flood   {_figures(r['off']['loaded'])}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--others", type=int, default=20)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--patience", type=float, default=15.0)
    args = parser.parse_args(argv)
    results = asyncio.run(
        run(args.burst, args.others, args.samples, compare=args.compare, patience=args.patience)
    )
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
