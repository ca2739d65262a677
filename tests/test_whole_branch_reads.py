"""No handler loads a whole branch or the whole ledger into memory by accident (issue #15,
target 4; docs/performance.md, "Memory: no whole-branch reads").

``store.repositories.branch_members`` reads every current member of a branch as ORM
objects (person, membership, account), and ``PointsLedger._entries`` every ledger entry
of a quarter. Each call site is listed here with the reason it may read the whole branch
(an audience that is inherently everyone, a role filter that leaves a handful of rows, a
periodic task or an export rather than an answer to a tap). A new call site fails this
test until it is either written with a page (``repo.branch_member_page``), an aggregate
(``repo.branch_member_count``) or columns (``repo.branch_recipients``), or added here
with its reason; an entry whose call is gone fails too (keep the list true)."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bench._data import Population, member_viewer, populate
from domain.clock import FrozenClock
from domain.periods import Quarter
from domain.services import Services
from store import repositories as repo
from store.db import Database
from store.models import LedgerEntry
from tests.databases import TemplateDatabase

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("handlers", "domain", "scheduler", "bot")
WATCHED = {"branch_members", "_entries"}

ROLE = "filtered to the secretaries in SQL: a handful of rows"
AUDIENCE = "an audience that is the whole branch by nature (each recipient gets a row)"

#: "path:function:call" → why the whole branch (or quarter) is read there.
ALLOWED: dict[str, str] = {
    # role-filtered
    "domain/meetings.py:_secretaries:branch_members": ROLE,
    "domain/meetings.py:_secretary_ids:branch_members": ROLE,
    "domain/quiz.py:_secretaries:branch_members": ROLE,
    "domain/points.py:close_due_quarter:branch_members": ROLE,
    "domain/meetings_compliance.py:compliance:branch_members": ROLE,
    "bot/app.py:publish_commands:branch_members": "start-up menus: secretaries and "
    "committee members only (role-filtered in SQL)",
    # audiences, fixed or sent through the outbox
    "handlers/fees.py:send_fee_day_notice:branch_members": AUDIENCE,
    "domain/reports.py:_owed:branch_members": AUDIENCE + " (reminder filter)",
    "domain/pipeline.py:record:branch_members": AUDIENCE + " (the public notice)",
    "domain/pipeline_polls.py:open:branch_members": "the poll's voters, fixed when it opens",
    "domain/appraisal.py:open:branch_members": "the appraised members, fixed when it opens",
    "domain/meetings.py:_invitees:branch_members": "one attendance row per person concerned",
    "domain/quiz.py:_participants:branch_members": "one exam row per participant",
    # periodic tasks, exports and whole-branch overviews (see docs/performance.md)
    "domain/fees.py:new_arrears_alerts:branch_members": "periodic task (hourly)",
    "domain/fees.py:year_register:branch_members": "export (/export fees)",
    "domain/fees.py:month_summaries:branch_members": "the secretary's month overview "
    "(and the dashboard's series, one read for all months): the obligation rules (start "
    "month, amount table) are applied per member in Python",
    "domain/membership.py:import_roster:branch_members": "roster import: the diff against "
    "the whole roster",
    "domain/talks.py:coverage:branch_members": "yearly coverage of every member",
    "domain/talks.py:_groups:branch_members": "party groups of every member",
    "domain/pipeline.py:candidates:branch_members": "the admission files' people",
    "domain/pipeline.py:_check_input:branch_members": "names typed for a procedure, "
    "matched against the branch",
    "domain/pipeline.py:people_by_names:branch_members": "names typed, matched",
    "domain/appraisal.py:group_candidates:branch_members": "scoring-group picker (left)",
    "domain/reports.py:owing:branch_members": "the secretary's overview of who owes a report",
}


def _call_sites() -> set[str]:
    found: set[str] = set()
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            rel = path.relative_to(ROOT).as_posix()
            for fn in ast.walk(tree):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(fn):
                    if not isinstance(node, ast.Call):
                        continue
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in WATCHED:
                        found.add(f"{rel}:{fn.name}:{name}")
    return found


def test_every_whole_branch_read_is_listed_with_its_reason() -> None:
    sites = _call_sites()
    new = sorted(sites - ALLOWED.keys())
    assert not new, (
        "new whole-branch reads (page with repo.branch_member_page, count with "
        f"repo.branch_member_count, read ids with repo.branch_recipients, or list them "
        f"in ALLOWED with the reason): {new}"
    )
    stale = sorted(ALLOWED.keys() - sites)
    assert not stale, f"ALLOWED names calls that are gone: {stale}"


def test_the_pickers_and_the_ranking_do_not_read_the_whole_branch() -> None:
    """What this issue fixed stays fixed: the pickers (/grant, /fees set, /reviewers,
    /transfer, a meeting's chair, a talk's partner) read a page, the ranking's audience
    ids, the oversight's head count a count."""
    sites = _call_sites()
    for fixed in (
        "domain/points_ledger.py:branch_people:branch_members",
        "domain/fees.py:payers:branch_members",
        "domain/points.py:publish_ranking:branch_members",
        "domain/org_life.py:life_figures:branch_members",
        "domain/membership.py:reviewers_of:branch_members",
        "domain/meetings.py:people:branch_members",
        "domain/talks.py:people:branch_members",
        "domain/points.py:undeclared_members:branch_members",
    ):
        assert fixed not in sites


# -- the pages and the stream give what the whole reads gave -----------------------------
Q1 = Quarter(2026, 1)


@pytest.fixture
async def db(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Database]:
    url = await template_db.fresh(tmp_path)
    database = Database(url)
    yield database
    await database.dispose()
    await template_db.discard(url)


async def test_pages_and_the_streamed_ledger_match_the_whole_branch(db: Database) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 1, tzinfo=UTC))
    other = await populate(db, clock, members=7, entries_per_member=3, quarter=Q1)
    population = await populate(
        db,
        clock,
        members=23,
        entries_per_member=4,
        quarter=Q1,
        secretary_tg=1002,
        first_member_tg=20_000_000,
        branch_name="第二党支部",
    )
    clock.set(datetime(2026, 3, 1, 1, tzinfo=UTC))
    async with db.session() as session:
        everyone = await repo.branch_members(session, population.branch_id)
        expected = [(r.person.id, r.person.full_name) for r in everyone]
        assert len(expected) == 24  # and the secretary
        paged: list[tuple[int, str]] = []
        for page in range(5):
            found = await repo.branch_member_page(session, population.branch_id, page, 5)
            assert (found.total, found.pages, found.page) == (24, 5, page)
            paged.extend((m.person_id, m.name) for m in found.rows)
        assert paged == expected
        # out of range: the last page; a member's own page holds them
        last = await repo.branch_member_page(session, population.branch_id, 99, 5)
        assert last.page == 4 and len(last.rows) == 4
        for index, (pid, _name) in enumerate(expected):
            holding = await repo.branch_member_page(
                session, population.branch_id, 0, 5, person_id=pid
            )
            assert holding.page == index // 5
            assert pid in [m.person_id for m in holding.rows]
        assert await repo.branch_member_count(session, population.branch_id) == 24
        assert await repo.branch_member_count(session, other.branch_id) == 8

        svc = Services(session, clock)
        whole = (
            await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.branch_id == population.branch_id, LedgerEntry.quarter == Q1.key)
                .order_by(LedgerEntry.id)
            )
        ).all()
        assert len(whole) == 23 * 4
        for chunk in (1, 7, 92, 1000):
            streamed = [
                e
                async for e in await svc.points.quarter_ledger(
                    population.secretary, Q1, chunk=chunk
                )
            ]
            assert [(e.id, e.person_id, e.points) for e in streamed] == [
                (e.id, e.person_id, e.points) for e in whole
            ]
        names = dict(expected)
        assert all(e.person_name == names[e.person_id] for e in streamed)
        recent = await svc.points.recent_ledger(population.secretary, Q1, 10)
        assert [e.id for e in recent] == [e.id for e in whole[-10:]]


async def test_pickers_load_the_same_whatever_the_branch_size(db: Database) -> None:
    """The interactive reads cost the same (ORM objects loaded, statements) in a branch
    of 40 and in one of 160: a read of the whole branch would load more."""
    clock = FrozenClock(datetime(2026, 1, 5, 1, tzinfo=UTC))
    small = await populate(db, clock, members=40, entries_per_member=3, quarter=Q1)
    big = await populate(
        db,
        clock,
        members=160,
        entries_per_member=3,
        quarter=Q1,
        secretary_tg=1002,
        first_member_tg=20_000_000,
        branch_name="第二党支部",
    )
    clock.set(datetime(2026, 3, 1, 1, tzinfo=UTC))

    async def cost(population: Population) -> dict[str, tuple[int, int]]:
        from domain.membership import reviewers_of

        secretary = population.secretary
        member = member_viewer(population, 3)
        calls = {  # first pages: full in both branches
            "grant picker": lambda svc: svc.points.branch_people(secretary, 0, 30),
            "fees set picker": lambda svc: svc.fees.payers(secretary, 0, 20),
            "reviewers": lambda svc: reviewers_of(svc.membership, secretary, 0, 30),
            "meeting roles": lambda svc: svc.meetings.people(secretary, 0, 30),
            "talk partner": lambda svc: svc.talks.people(member, 0, 30),
            "member's fees": lambda svc: svc.fees.my_fees(member),
            "member's points": lambda svc: svc.points.overview(member),
        }
        counts = {"loaded": 0, "statements": 0}

        def on_load(*_args: Any) -> None:
            counts["loaded"] += 1

        def on_execute(*_args: Any) -> None:
            counts["statements"] += 1

        out = {}
        event.listen(db.engine.sync_engine, "after_cursor_execute", on_execute)
        try:
            for name, call in calls.items():
                async with db.session() as session:
                    event.listen(session.sync_session, "loaded_as_persistent", on_load)
                    counts.update(loaded=0, statements=0)
                    await call(Services(session, clock))
                    out[name] = (counts["loaded"], counts["statements"])
        finally:
            event.remove(db.engine.sync_engine, "after_cursor_execute", on_execute)
        return out

    assert await cost(small) == await cost(big)
