"""Shared set-up of the benchmarks: a migrated SQLite database in a temporary directory,
a branch with its secretary and N members bulk-inserted into the real tables (SQLAlchemy
Core ``insert()`` executemany), optionally with ledger entries and fee records, and the
bot's settings pointing at a local Bot API emulator. ``populate`` may be called several
times on one database (one branch each, with its own secretary and Telegram ids)."""

from __future__ import annotations

import resource
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update

from bot.app import LOCAL_TOKEN
from bot.settings import Settings
from domain.clock import Clock
from domain.fee_rules import FeeBasis, Month, monthly_fee
from domain.periods import Quarter
from domain.roles import PersonStatus, Role
from domain.services import Services
from domain.viewer import Viewer
from store.db import Database
from store.models import (
    FeeAssessment,
    FeeRegisterEntry,
    LedgerEntry,
    LedgerKind,
    Membership,
    Person,
    PointItem,
    TelegramAccount,
)

SECRETARY_TG = 1001
FIRST_MEMBER_TG = 10_000_000
BRANCH_NAME = "基准测试党支部"
CHUNK = 20_000
#: The after-tax monthly income of every member with fee records (an employed member).
FEE_INCOME = Decimal("6000.00")


@dataclass
class Population:
    branch_id: int
    join_code: str
    secretary_person_id: int
    secretary: Viewer
    #: (person id, telegram id, name) of each member, in insertion order.
    members: list[tuple[int, int, str]] = field(default_factory=list)
    items: list[PointItem] = field(default_factory=list)
    ledger_rows: int = 0
    fee_rows: int = 0
    branch_name: str = BRANCH_NAME


def settings_for(
    url: str, emu_base: str, emu_file_base: str, storage: Path, **extra: Any
) -> Settings:
    """Benchmark settings. Scripted users send their next update the moment they are
    answered: the flood throttle is off unless asked for (``bench/flood.py``)."""
    return Settings(
        TELEGRAM_BOT_TOKEN=LOCAL_TOKEN,
        TELEGRAM_API_BASE_URL=emu_base,
        TELEGRAM_API_BASE_FILE_URL=emu_file_base,
        DATABASE_URL=url,
        BRANCHBOT_STORAGE_DIR=storage,
        **{"BRANCHBOT_FLOOD_BURST": 10_000_000, **extra},
    )


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


async def _chunked_insert(session: Any, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Core executemany into the model's table (the ORM's bulk path costs twice as much
    per row, which counts at millions of rows)."""
    conn = await session.connection()
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(_table(model)), list(rows[start : start + CHUNK]))


async def populate(
    db: Database,
    clock: Clock,
    *,
    members: int,
    entries_per_member: int = 0,
    quarter: Quarter | None = None,
    quarters: Sequence[Quarter] | None = None,
    fee_months: Sequence[Month] = (),
    secretary_tg: int = SECRETARY_TG,
    first_member_tg: int = FIRST_MEMBER_TG,
    branch_name: str = BRANCH_NAME,
) -> Population:
    """A branch (secretary ``secretary_tg``, 1001) with ``members`` full members bound to
    Telegram ids ``first_member_tg`` + n (10,000,000 + n), and ``entries_per_member``
    direct-grant ledger entries each in ``quarter`` (or spread evenly over
    ``quarters``), made from the branch's real catalogue items (valid rows: the item's
    key, name, indicator, block and points; dates inside the quarter). With
    ``fee_months``: each member's fee assessment (employed, effective from the first of
    them) and a register entry (paid) for each of those months. The members' memberships
    start at ``clock.now()``."""
    now = clock.now()
    async with db.session() as session:
        svc = Services(session, clock)
        last_person = (await session.scalar(select(func.max(Person.id)))) or 0
        branch = await svc.membership.create_branch(
            branch_name, secretary_tg, secretary_name="王书记"
        )
        secretary_pid = (
            await session.execute(
                select(TelegramAccount.person_id).where(
                    TelegramAccount.telegram_user_id == secretary_tg
                )
            )
        ).scalar_one()
        assert secretary_pid is not None  # branch create binds the secretary's account
        await session.execute(
            update(TelegramAccount)
            .where(TelegramAccount.telegram_user_id == secretary_tg)
            .values(first_name="王书记", language_code="zh-hans", started_at=now)
        )
        names = [f"党员{i:05d}" for i in range(members)]
        await _chunked_insert(
            session,
            Person,
            [
                {
                    "full_name": name,
                    "status": PersonStatus.MEMBER,
                    "created_at": now,
                    "updated_at": now,
                }
                for name in names
            ],
        )
        ids = list(
            (
                await session.scalars(
                    select(Person.id)
                    .where(Person.id > last_person, Person.id != secretary_pid)
                    .order_by(Person.id)
                )
            ).all()
        )
        await _chunked_insert(
            session,
            Membership,
            [
                {
                    "person_id": pid,
                    "branch_id": branch.id,
                    "role": Role.MEMBER,
                    "can_review": False,
                    "started_at": now,
                }
                for pid in ids
            ],
        )
        await _chunked_insert(
            session,
            TelegramAccount,
            [
                {
                    "telegram_user_id": first_member_tg + n,
                    "person_id": pid,
                    "first_name": names[n],
                    "language_code": "zh-hans",
                    "started_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, pid in enumerate(ids)
            ],
        )
        items = list(
            (
                await session.scalars(
                    select(PointItem)
                    .where(PointItem.branch_id == branch.id, PointItem.retired_at.is_(None))
                    .order_by(PointItem.position, PointItem.id)
                )
            ).all()
        )
        population = Population(
            branch_id=branch.id,
            join_code=branch.join_code,
            secretary_person_id=secretary_pid,
            secretary=Viewer(
                telegram_user_id=secretary_tg,
                display_name="王书记",
                locale="zh_Hans",
                person_id=secretary_pid,
                full_name="王书记",
                status=PersonStatus.MEMBER,
                branch_id=branch.id,
                branch_name=branch_name,
                branch_timezone="Asia/Shanghai",
                role=Role.SECRETARY,
                can_review=True,
            ),
            members=[(pid, first_member_tg + n, names[n]) for n, pid in enumerate(ids)],
            items=items,
            branch_name=branch_name,
        )
        spread = list(quarters) if quarters else ([quarter] if quarter is not None else [])
        if entries_per_member and spread:
            population.ledger_rows = await _ledger(
                session, population, entries_per_member, spread, now
            )
        if fee_months:
            population.fee_rows = await _fees(session, population, fee_months, now)
        await session.commit()
    if db.dialect == "sqlite":
        # Fold the bulk insert's write-ahead log into the database file now, as it would
        # have been long ago in production, so the first timed commit does not pay for it.
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return population


async def _ledger(
    session: Any,
    population: Population,
    per_member: int,
    quarters: Sequence[Quarter],
    now: datetime,
) -> int:
    conn = await session.connection()
    table = _table(LedgerEntry)
    spans = [(q.key, q.start, (q.end - q.start).days + 1) for q in quarters]
    bonuses = [i for i in population.items if i.points > 0]
    deductions = [i for i in population.items if Decimal("-2") <= i.points < 0]
    rows: list[dict[str, Any]] = []
    count = 0
    for m, (pid, _tg, _name) in enumerate(population.members):
        for k in range(per_member):
            # Mostly bonuses; every third member a deduction now and then, every 50th
            # member many (so some end below 60 and the close has warnings to list).
            if m % 50 == 0 or (m % 3 == 0 and k % 10 == 9):
                item = deductions[(m + k) % len(deductions)]
            else:
                item = bonuses[(m + k * 7) % len(bonuses)]
            key, start, days = spans[k % len(spans)]
            day: date = start + timedelta(days=(m + k * 3) % days)
            rows.append(
                {
                    "branch_id": population.branch_id,
                    "person_id": pid,
                    "quarter": key,
                    "occurred_on": day,
                    "kind": LedgerKind.GRANT,
                    "item_id": item.id,
                    "item_key": item.key,
                    "item_name": (item.names or {}).get("zh_Hans", item.key)[:200],
                    "indicator": item.indicator,
                    "block": item.block,
                    "points": item.points,
                    "requested_points": item.points,
                    "note": "基准数据",
                    "created_by_person_id": population.secretary_person_id,
                    "created_at": now,
                }
            )
            if len(rows) >= CHUNK:
                await conn.execute(insert(table), rows)
                count += len(rows)
                rows = []
    if rows:
        await conn.execute(insert(table), rows)
        count += len(rows)
    return count


async def _fees(
    session: Any, population: Population, months: Sequence[Month], now: datetime
) -> int:
    """One assessment per member (employed, ``FEE_INCOME``) effective from the first of
    ``months`` and one register entry (paid in full) per month: what ``/fees`` reads."""
    amount = monthly_fee(FeeBasis.EMPLOYED, FEE_INCOME)
    first = min(months)
    await _chunked_insert(
        session,
        FeeAssessment,
        [
            {
                "branch_id": population.branch_id,
                "person_id": pid,
                "basis": FeeBasis.EMPLOYED,
                "income": FEE_INCOME,
                "amount": amount,
                "effective_month": first.key,
                "source": "roster",
                "set_by_person_id": population.secretary_person_id,
                "created_at": now,
            }
            for pid, _tg, _name in population.members
        ],
    )
    conn = await session.connection()
    table = _table(FeeRegisterEntry)
    rows: list[dict[str, Any]] = []
    count = len(population.members)
    for pid, _tg, _name in population.members:
        for month in months:
            rows.append(
                {
                    "branch_id": population.branch_id,
                    "person_id": pid,
                    "month": month.key,
                    "amount": amount,
                    "note": "基准数据",
                    "recorded_at": now,
                    "recorded_by_person_id": population.secretary_person_id,
                }
            )
            if len(rows) >= CHUNK:
                await conn.execute(insert(table), rows)
                count += len(rows)
                rows = []
    if rows:
        await conn.execute(insert(table), rows)
        count += len(rows)
    return count


def member_viewer(population: Population, index: int) -> Viewer:
    pid, tg, name = population.members[index]
    return Viewer(
        telegram_user_id=tg,
        display_name=name,
        locale="zh_Hans",
        person_id=pid,
        full_name=name,
        status=PersonStatus.MEMBER,
        branch_id=population.branch_id,
        branch_name=population.branch_name,
        branch_timezone="Asia/Shanghai",
        role=Role.MEMBER,
    )


# -- figures ---------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def proc_memory(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc/PID/status (OSError when it is
    gone or /proc is missing)."""
    rss = hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


def rss_mb() -> tuple[float, float]:
    """(current VmRSS, peak VmHWM) of this process in MB, from /proc/self/status; the
    peak falls back to ``getrusage`` where /proc is missing."""
    try:
        return proc_memory()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


def table(title: str, rows: Sequence[tuple[str, str, str]]) -> str:
    """A plain text table: figure, value, target/comment."""
    width = max([len(r[0]) for r in rows] + [len("figure")])
    vwidth = max([len(r[1]) for r in rows] + [len("value")])
    lines = [title, "-" * len(title)]
    lines.append(f"{'figure':<{width}}  {'value':>{vwidth}}  target")
    for name, value, target in rows:
        lines.append(f"{name:<{width}}  {value:>{vwidth}}  {target}")
    return "\n".join(lines)
