"""Fee-day broadcast on two instances: the reminders for every member at the paid
broadcast ceiling (1,000 msg/s), and the takeover when the leader is SIGKILLed halfway.

    python -m bench.fleet [--database-url URL | --postgres] [--members N] [--rate R]
                          [--lease S] [--runs plain,kill] [--profile DIR]

The emulator runs in this process (30 msg/s free, ``--rate`` (1,000) msg/s for paid
broadcasts, 1/s per chat); two ``branchbot run`` instances in webhook mode run as OS
processes on one database, each on its own port, with ``BRANCHBOT_BROADCAST_RATE=R``. With
no database given, a fresh SQLite file (``--postgres``: the database ``fleet_bench`` on
the local PostgreSQL) is filled with ``--members`` members in branches of 20 (100,000;
``--quick``: 3,000). With ``--database-url`` the data there is used as it is.

Each run starts both instances, waits until one holds the scheduler lease, then makes the
fee-day reminder of every branch due now (the fee-day rule moved to today, the reminder
to this minute; today's fee-day rows of an earlier run removed) and waits until every
outbox row is final. Printed: messages, elapsed (first to last send), msg/s and its
ratio to the ceiling (target >= 0.95), lost (members who got none), duplicates, unknown
rows, each instance's peak RSS (VmHWM, target < 300 MB) and CPU time. The ``kill`` run
SIGKILLs the leader when half the messages are out; it prints the takeover time (the
longest pause in the sends), and how many of the unknown rows were in fact delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import insert, text

from bench._targets import Target
from store.db import Database

ROOT = Path(__file__).resolve().parent.parent
FIRST_TG = 50_000_000
BRANCH_SIZE = 20
PAID_CEILING = 1000.0
FREE_CEILING = 30.0
TARGET_RATIO = 0.95
RSS_LIMIT_MB = 300.0
OPEN = ("pending", "claimed", "sending")


# -- data --------------------------------------------------------------------------
async def generate(url: str, members: int, branch_size: int = BRANCH_SIZE) -> None:
    """A migrated database with ``members`` Party members in branches of
    ``branch_size``, each bound to a Telegram account that pressed /start, and each
    branch's fee-day rule (the default calendar's, 4th Friday, reminded at 09:00)."""
    from store.models import (
        Branch,
        CalendarRule,
        Membership,
        Person,
        ReminderRule,
        TelegramAccount,
    )

    db = Database(url)
    await db.upgrade()
    past = datetime.now(UTC) - timedelta(days=30)
    branches = max(1, -(-members // branch_size))
    try:
        async with db.session() as session:
            await session.execute(
                insert(Branch),
                [
                    {
                        "name": f"第{i + 1:04d}党支部",
                        "join_code": f"FLEET{i:06d}",
                        "timezone": "Asia/Shanghai",
                        "settings": {},
                        "created_at": past,
                    }
                    for i in range(branches)
                ],
            )
            branch_ids = [
                r[0]
                for r in (
                    await session.execute(
                        text("SELECT id FROM branches WHERE join_code LIKE 'FLEET%' ORDER BY id")
                    )
                ).all()
            ]
            for start in range(0, members, 20_000):
                n = min(20_000, members - start)
                await session.execute(
                    insert(Person),
                    [
                        {
                            "full_name": f"党员{start + i:06d}",
                            "status": "member",
                            "admitted_on": date(2015, 7, 1),
                            "created_at": past,
                            "updated_at": past,
                        }
                        for i in range(n)
                    ],
                )
            person_ids = [
                r[0]
                for r in (
                    await session.execute(
                        text("SELECT id FROM persons WHERE full_name LIKE '党员%' ORDER BY id")
                    )
                ).all()
            ][-members:]
            for start in range(0, members, 20_000):
                chunk = list(enumerate(person_ids))[start : start + 20_000]
                await session.execute(
                    insert(Membership),
                    [
                        {
                            "person_id": pid,
                            "branch_id": branch_ids[n // branch_size],
                            "role": "member",
                            "can_review": False,
                            "started_at": past,
                        }
                        for n, pid in chunk
                    ],
                )
                await session.execute(
                    insert(TelegramAccount),
                    [
                        {
                            "telegram_user_id": FIRST_TG + n,
                            "person_id": pid,
                            "first_name": f"党员{n:06d}",
                            "language_code": "zh-hans",
                            "started_at": past,
                            "created_at": past,
                            "updated_at": past,
                        }
                        for n, pid in chunk
                    ],
                )
            await session.execute(
                insert(CalendarRule),
                [
                    {
                        "branch_id": bid,
                        "kind": "fee_day",
                        "title": None,
                        "freq": "monthly",
                        "anchor": "nth_weekday",
                        "nth": 4,
                        "weekday": 4,
                        "month_in_period": 1,
                        "offset_days": 0,
                        "audience": "party_members",
                        "enabled": True,
                        "reminders_on": True,
                        "changed_at": past,
                        "created_at": past,
                    }
                    for bid in branch_ids
                ],
            )
            rule_ids = [
                r[0]
                for r in (
                    await session.execute(
                        text("SELECT id FROM calendar_rules WHERE kind = 'fee_day' ORDER BY id")
                    )
                ).all()
            ]
            await session.execute(
                insert(ReminderRule),
                [
                    {
                        "calendar_rule_id": rid,
                        "days_before": 0,
                        "at_time": "09:00",
                        "enabled": True,
                        "created_at": past,
                    }
                    for rid in rule_ids
                ],
            )
            await session.commit()
    finally:
        await db.dispose()


async def arm(db: Database) -> dict[str, date]:
    """Make today's fee-day reminder of every branch due now (this minute, local time)
    and remove today's fee-day rows of an earlier run. Returns the occurrence date per
    time zone."""
    past = datetime.now(UTC) - timedelta(days=1)
    days: dict[str, date] = {}
    async with db.session() as session:
        zones = [
            r[0]
            for r in (await session.execute(text("SELECT DISTINCT timezone FROM branches"))).all()
        ]
        fee_rules = (
            "SELECT id FROM calendar_rules WHERE kind = 'fee_day' AND branch_id IN "
            "(SELECT id FROM branches WHERE timezone = :tz)"
        )
        for tz in zones:
            local = datetime.now(UTC).astimezone(ZoneInfo(tz))
            days[tz] = local.date()
            params = {"tz": tz, "day": local.day, "at": local.strftime("%H:%M")}
            await session.execute(
                text(
                    "DELETE FROM reminder_outbox WHERE kind = 'fee_day' AND occurrence = :occ "
                    "AND branch_id IN (SELECT id FROM branches WHERE timezone = :tz)"
                ),
                {"occ": local.date(), "tz": tz},
            )
            await session.execute(
                text(
                    "DELETE FROM reminder_occurrences WHERE occurrence = :occ AND reminder_id "
                    f"IN (SELECT id FROM reminder_rules WHERE calendar_rule_id IN ({fee_rules}))"
                ),
                {"occ": local.date(), "tz": tz},
            )
            await session.execute(
                text(
                    "UPDATE calendar_rules SET freq = 'monthly', anchor = 'day', day = :day, "
                    "nth = NULL, weekday = NULL, month_in_period = 1, offset_days = 0, "
                    "on_date = NULL, enabled = :yes, reminders_on = :yes, changed_at = :past "
                    f"WHERE id IN ({fee_rules})"
                ),
                {**params, "yes": True, "past": past},
            )
            await session.execute(
                text(
                    "UPDATE reminder_rules SET enabled = (days_before = 0), created_at = :past, "
                    "at_time = CASE WHEN days_before = 0 THEN :at ELSE at_time END "
                    f"WHERE calendar_rule_id IN ({fee_rules})"
                ),
                {**params, "past": past},
            )
        await session.commit()
    return days


async def outbox_status(
    db: Database, days: dict[str, date], *, with_ids: bool = False
) -> tuple[Counter[str], int, dict[str, set[int]]]:
    """Today's fee-day rows by status, the occurrences materialised, and (``with_ids``)
    the Telegram ids of the rows by final status."""
    counts: Counter[str] = Counter()
    ids: dict[str, set[int]] = (
        {"unknown": set(), "sent": set(), "failed": set()} if with_ids else {}
    )
    occurrences = 0
    async with db.session() as session:
        for tz, day in days.items():
            where = (
                "kind = 'fee_day' AND occurrence = :occ AND branch_id IN "
                "(SELECT id FROM branches WHERE timezone = :tz)"
            )
            p = {"occ": day, "tz": tz}
            for status, n in (
                await session.execute(
                    text(
                        f"SELECT status, count(*) FROM reminder_outbox WHERE {where} "
                        "GROUP BY status"
                    ),
                    p,
                )
            ).all():
                counts[status] += n
            for status in ids:
                ids[status] |= {
                    r[0]
                    for r in (
                        await session.execute(
                            text(
                                f"SELECT telegram_user_id FROM reminder_outbox WHERE {where} "
                                "AND status = :st"
                            ),
                            {**p, "st": status},
                        )
                    ).all()
                }
            occurrences += int(
                await session.scalar(
                    text(
                        "SELECT count(*) FROM reminder_occurrences o JOIN reminder_rules r "
                        "ON r.id = o.reminder_id JOIN calendar_rules c ON c.id = "
                        "r.calendar_rule_id JOIN branches b ON b.id = c.branch_id WHERE "
                        "c.kind = 'fee_day' AND o.occurrence = :occ AND b.timezone = :tz"
                    ),
                    p,
                )
                or 0
            )
    return counts, occurrences, ids


async def expected_occurrences(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                text(
                    "SELECT count(*) FROM reminder_rules r JOIN calendar_rules c ON c.id = "
                    "r.calendar_rule_id WHERE c.kind = 'fee_day' AND r.enabled = :yes "
                    "AND c.enabled = :yes AND c.reminders_on = :yes"
                ),
                {"yes": True},
            )
            or 0
        )


async def started_accounts(db: Database) -> list[int]:
    async with db.session() as session:
        return [
            r[0]
            for r in (
                await session.execute(
                    text(
                        "SELECT telegram_user_id FROM telegram_accounts "
                        "WHERE started_at IS NOT NULL"
                    )
                )
            ).all()
        ]


# -- the instances -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM / VmRSS (MB) and CPU seconds of a live process (zeros when it is gone)."""
    from bench._data import proc_memory

    out = {"hwm": 0.0, "rss": 0.0, "cpu": 0.0}
    with contextlib.suppress(OSError):
        out["rss"], out["hwm"] = proc_memory(pid)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out["cpu"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


@dataclass
class Instance:
    name: str
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None
    peak: dict[str, float] = field(default_factory=dict)
    killed: bool = False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, env: dict[str, str], profile: Path | None) -> None:
        hook = f"http://127.0.0.1:{self.port}/hook-{self.name}"
        env = {
            **env,
            "BRANCHBOT_WEBHOOK_URL": hook,
            "BRANCHBOT_WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
        }
        cmd = [sys.executable]
        if profile is not None:
            cmd += ["-m", "cProfile", "-o", str(profile / f"{self.name}.prof")]
            cmd += [str(ROOT / "bot" / "__main__.py")]
        else:
            cmd += ["-m", "bot"]
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, "run", cwd=ROOT, env=env, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL
        )
        out.close()

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any] | None:
        try:
            async with session.get(
                f"http://127.0.0.1:{self.port}/healthz", timeout=aiohttp.ClientTimeout(total=2)
            ) as resp:
                body: dict[str, Any] = json.loads(await resp.text())
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    def sample(self) -> None:
        self.peak = proc_status(self.pid)

    async def kill(self) -> None:
        self.sample()
        os.kill(self.pid, signal.SIGKILL)
        self.killed = True
        assert self.proc is not None
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.sample()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


# -- one run -------------------------------------------------------------------------
@dataclass
class RunResult:
    kind: str
    expected: int = 0
    delivered: int = 0
    duplicates: int = 0
    lost: int = 0
    lost_unknown: int = 0
    unknown: int = 0
    unknown_delivered: int = 0
    failed: int = 0
    answers_429: int = 0
    elapsed: float = 0.0
    rate: float = 0.0
    ratio: float = 0.0
    lag: float = 0.0  # armed → first send
    takeover: float | None = None
    sent_by: dict[str, int] = field(default_factory=dict)
    instances: dict[str, dict[str, float]] = field(default_factory=dict)
    leader: str = ""


async def run_once(
    url: str,
    *,
    rate: float,
    lease: float,
    kill_leader: bool,
    workdir: Path,
    profile: Path | None = None,
    timeout: float = 900.0,  # noqa: ASYNC109
    echo: bool = True,
) -> RunResult:
    from bot.app import LOCAL_TOKEN
    from emulator import BotAPIEmulator, RateLimits
    from store.db import Database

    db = Database(url)
    result = RunResult("kill" if kill_leader else "plain")
    emu = BotAPIEmulator(
        token=LOCAL_TOKEN,
        rate_limits=RateLimits(
            global_per_second=FREE_CEILING,
            paid_per_second=rate,
            per_chat_per_second=1.0,
            per_group_per_minute=20,
        ),
    )
    await emu.start()
    for tid in await started_accounts(db):
        emu.user(tid, f"u{tid}").started = True
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": LOCAL_TOKEN,
        "TELEGRAM_API_BASE_URL": emu.base_url,
        "TELEGRAM_API_BASE_FILE_URL": emu.base_file_url,
        "DATABASE_URL": url,
        "BRANCHBOT_STORAGE_DIR": str(workdir / "storage"),
        "BRANCHBOT_WEBHOOK_SECRET": secrets.token_urlsafe(16),
        "BRANCHBOT_BROADCAST_RATE": str(rate),
        "BRANCHBOT_LEASE_SECONDS": str(lease),
        "BRANCHBOT_REMINDER_TICK_SECONDS": "1",
        "BRANCHBOT_RETRY_BACKOFF": "0.05",
        "BRANCHBOT_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    instances = [
        Instance(name, free_port(), workdir / f"{result.kind}-{name}.log") for name in ("a", "b")
    ]
    http = aiohttp.ClientSession()
    try:
        for inst in instances:
            await inst.start(env, profile)
        deadline = time.monotonic() + 180
        leader: Instance | None = None
        holders: dict[str, str] = {}
        while leader is None:
            if time.monotonic() > deadline:
                raise RuntimeError("no instance became the leader in 180 s: see " + str(workdir))
            for inst in instances:
                if inst.proc is not None and inst.proc.returncode is not None:
                    raise RuntimeError(f"instance {inst.name} exited: see {inst.log}")
            states = [await inst.health(http) for inst in instances]
            if all(s is not None and s.get("status") == "ok" for s in states):
                for inst, s in zip(instances, states, strict=True):
                    assert s is not None
                    holders[inst.name] = str(s.get("instance", ""))
                    if s.get("scheduler_leader"):
                        leader = inst
            await asyncio.sleep(0.2)
        result.leader = leader.name
        days = await arm(db)
        # After arming: only the on-the-day reminder of each fee-day rule is enabled now
        # (a data set made by create_branch also has reminders days before).
        want = await expected_occurrences(db)
        armed = time.monotonic()
        armed_wall = time.time()
        seen = 0
        send_times: list[float] = []
        chats: Counter[int] = Counter()
        expected = 0
        killed_at: float | None = None
        while True:
            requests = emu.requests
            for r in requests[seen:]:
                if r.method == "sendMessage":
                    if r.status == 200:
                        chats[int(r.params["chat_id"])] += 1
                        send_times.append(r.time)
                    elif r.status == 429:
                        result.answers_429 += 1
            seen = len(requests)
            if kill_leader and killed_at is None and expected and len(send_times) >= expected / 2:
                await leader.kill()
                killed_at = time.time()
                if echo:
                    print(
                        f"  leader {leader.name} killed after {len(send_times)} sends", flush=True
                    )
            counts, occurrences, _ = await outbox_status(db, days)
            if occurrences >= want:
                expected = sum(counts.values())
                if expected and not any(counts[s] for s in OPEN):
                    break
            if time.monotonic() - armed > timeout:
                raise RuntimeError(f"not final after {timeout:.0f} s: {dict(counts)}")
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.5)  # the last answers' records
        for r in emu.requests[seen:]:
            if r.method == "sendMessage" and r.status == 200:
                chats[int(r.params["chat_id"])] += 1
                send_times.append(r.time)
        counts, _, ids = await outbox_status(db, days, with_ids=True)
        for inst in instances:
            if not inst.killed:
                inst.sample()
            result.instances[inst.name] = inst.peak
        everyone = ids["sent"] | ids["unknown"] | ids["failed"]
        result.expected = len(everyone)
        delivered = {tid for tid in chats if tid in everyone}
        result.delivered = len(delivered)
        result.duplicates = sum(n - 1 for tid, n in chats.items() if n > 1 and tid in everyone)
        result.lost = len(everyone - delivered)
        result.lost_unknown = len((everyone - delivered) & ids["unknown"])
        result.unknown = counts["unknown"]
        result.unknown_delivered = len(ids["unknown"] & delivered)
        result.failed = counts["failed"]
        send_times.sort()
        if send_times:
            result.elapsed = send_times[-1] - send_times[0]
            result.lag = send_times[0] - armed_wall
        if killed_at is not None:
            after = [t for t in send_times if t >= killed_at - 1.0]
            gaps = [b - a for a, b in itertools.pairwise(after)]
            result.takeover = max(gaps, default=0.0)
        busy = result.elapsed - (result.takeover or 0.0)
        result.rate = len(send_times) / busy if busy > 0 else 0.0
        result.ratio = result.rate / rate
        for inst in instances:
            prefix = holders.get(inst.name, "")[:12]
            result.sent_by[inst.name] = await _sent_by(db, days, prefix) if prefix else 0
    finally:
        for inst in instances:
            await inst.stop()
        await http.close()
        await emu.stop()
        await db.dispose()
    return result


async def _sent_by(db: Database, days: dict[str, date], prefix: str) -> int:
    total = 0
    async with db.session() as session:
        for tz, day in days.items():
            total += int(
                await session.scalar(
                    text(
                        "SELECT count(*) FROM reminder_outbox WHERE kind = 'fee_day' AND "
                        "occurrence = :occ AND status = 'sent' AND claim_token LIKE :p AND "
                        "branch_id IN (SELECT id FROM branches WHERE timezone = :tz)"
                    ),
                    {"occ": day, "p": f"{prefix}-%", "tz": tz},
                )
                or 0
            )
    return total


# -- the benchmark -------------------------------------------------------------------
def print_result(r: RunResult, rate: float) -> None:
    print(
        f"run                    {r.kind}"
        + (" (leader SIGKILLed halfway)" if r.kind == "kill" else "")
    )
    print(f"messages               {r.delivered} delivered of {r.expected} rows")
    print(
        f"elapsed                {r.elapsed:.1f} s (first to last send); "
        f"{r.lag:.1f} s from due to the first"
    )
    print(
        f"messages/s             {r.rate:.1f}"
        + (" (without the takeover pause)" if r.takeover else "")
    )
    print(f"ratio to {rate:.0f}/s         {r.ratio:.3f} (target >= {TARGET_RATIO})")
    print(
        f"lost                   {r.lost} "
        f"(of them unknown, listed for the secretary: {r.lost_unknown})"
    )
    print(f"duplicates             {r.duplicates}")
    print(f"unknown rows           {r.unknown} (delivered per the emulator: {r.unknown_delivered})")
    print(f"failed rows            {r.failed}")
    print(f"429 answers            {r.answers_429}")
    if r.takeover is not None:
        print(f"takeover               {r.takeover:.1f} s (longest pause in the sends)")
    for name, figures in r.instances.items():
        role = "leader" if name == r.leader else "standby"
        print(
            f"instance {name} ({role:7})   peak RSS {figures.get('hwm', 0):.1f} MB, CPU "
            f"{figures.get('cpu', 0):.1f} s, sent {r.sent_by.get(name, 0)}"
            + (" (killed)" if r.kind == "kill" and name == r.leader else "")
        )


async def prepare(args: argparse.Namespace, workdir: Path) -> tuple[str, str | None]:
    """The database URL, and the PostgreSQL database to drop afterwards."""
    if args.database_url:
        return args.database_url, None
    if args.postgres:
        from bench import _pg

        url = await _pg.fresh_database("fleet_bench")
        drop: str | None = "fleet_bench"
    else:
        url = f"sqlite:///{workdir / 'fleet.sqlite3'}"
        drop = None
    started = time.perf_counter()
    await generate(url, args.members)
    print(
        f"data                   {args.members} members in branches of {BRANCH_SIZE} "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    return url, drop


async def run(args: argparse.Namespace) -> list[RunResult]:
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        workdir = Path(args.workdir or tmp)
        os.makedirs(workdir, exist_ok=True)
        url, drop = await prepare(args, workdir)
        profile = Path(args.profile) if args.profile else None
        if profile is not None:
            os.makedirs(profile, exist_ok=True)
        try:
            for kind in args.runs.split(","):
                r = await run_once(
                    url,
                    rate=args.rate,
                    lease=args.lease,
                    kill_leader=kind == "kill",
                    workdir=workdir,
                    profile=profile if kind == "plain" else None,
                )
                print_result(r, args.rate)
                print(flush=True)
                results.append(r)
        except BaseException:
            print_logs(workdir)
            raise
        finally:
            if drop is not None:
                from bench import _pg

                await _pg.drop_database(drop)
    return results


def print_logs(workdir: Path) -> None:
    for log in sorted(workdir.glob("*.log")):
        print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-2000:]}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--database-url", help="use this database (with its data) as it is")
    p.add_argument("--postgres", action="store_true", help="a fresh fleet_bench database")
    p.add_argument("--members", type=int, default=100_000, help="members of the generated data")
    p.add_argument("--rate", type=float, default=PAID_CEILING, help="ceiling and broadcast rate")
    p.add_argument("--lease", type=float, default=3.0, help="BRANCHBOT_LEASE_SECONDS")
    p.add_argument("--runs", default="plain,kill", help="plain, kill, or both (plain,kill)")
    p.add_argument("--profile", help="write each instance's cProfile of the plain run here")
    p.add_argument("--workdir", help="keep the database (SQLite) and the instances' logs here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    results = asyncio.run(run(args))
    ok = all(
        r.lost == r.lost_unknown
        and r.duplicates == 0
        and r.ratio >= TARGET_RATIO
        and all(f.get("hwm", 0) < RSS_LIMIT_MB for f in r.instances.values())
        for r in results
    )
    print("RESULT                 " + ("OK" if ok else "NOT MET"))
    correct = all(r.lost == r.lost_unknown and r.duplicates == 0 for r in results)
    return 0 if correct else 1


def targets(quick: bool) -> list[Target]:
    """``python -m bench all``: the broadcast on the province data set that ``bench.scale``
    built (``province_bench``, or ``province_quick`` with ``quick``) when the server has
    it, else on data of its own (``BENCH_FLEET_DATABASE_URL`` names another database)."""
    from bench import _pg

    argv = ["--members", "3000"] if quick else []
    province = asyncio.run(_pg.existing_database("province_quick" if quick else "province_bench"))
    given = os.environ.get("BENCH_FLEET_DATABASE_URL") or province
    if given:
        argv += ["--database-url", given]
    elif not quick:
        argv += ["--postgres"]
    args = parser().parse_args(argv)
    results = asyncio.run(run(args))
    out: list[Target] = []
    for r in results:
        label = "fee-day broadcast" if r.kind == "plain" else "leader killed halfway"
        out.append(
            Target(
                "fleet",
                f"{label}: msg/s vs {args.rate:.0f}/s ceiling",
                f">= {TARGET_RATIO}",
                f"{r.ratio:.3f} ({r.rate:.0f} msg/s, {r.delivered} messages)",
                r.ratio >= TARGET_RATIO,
            )
        )
        out.append(
            Target(
                "fleet",
                f"{label}: lost / duplicated",
                "0 / 0",
                f"{r.lost - r.lost_unknown} / {r.duplicates} ({r.unknown} unknown, "
                f"{r.unknown_delivered} of them delivered)",
                r.lost == r.lost_unknown and r.duplicates == 0,
            )
        )
        peak = max((f.get("hwm", 0.0) for f in r.instances.values()), default=0.0)
        out.append(
            Target(
                "fleet",
                f"{label}: peak RSS per instance",
                f"< {RSS_LIMIT_MB:.0f} MB",
                " / ".join(f"{f.get('hwm', 0):.0f} MB" for f in r.instances.values()),
                peak < RSS_LIMIT_MB,
            )
        )
        if r.takeover is not None:
            out.append(
                Target(
                    "fleet", "takeover after the leader's SIGKILL", "-", f"{r.takeover:.1f} s", None
                )
            )
    return out


if __name__ == "__main__":
    sys.exit(main())
