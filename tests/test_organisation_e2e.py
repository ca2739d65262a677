"""The organisation level in chat: an organisation with two branches; its administrator
sees both in /org (figures equal to the branches' own views, 🔴 where a rule is broken,
sortable, XLSX), creates a third branch and a general branch, changes a secretary; and
everyone else is refused (and audited)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from domain import meetings_rules as mrules
from domain.clock import FrozenClock
from domain.organisation import OrgInfo
from domain.periods import Quarter, local_today
from domain.roles import Role
from handlers.meetings_jobs import run_overdue
from store.models import Branch, Meeting, Membership, QuizAttempt, QuizExam
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

ROSTER_A = """name,status,telegram_id,joined_on,fee_basis,monthly_income
王书记,正式党员,1001,2001-07-01,在职,4000
李明,正式党员,1002,2001-07-01,在职,4000
张预备,预备党员,1003,2025-01-15,在职,5000
"""
ROSTER_B = """name,status,telegram_id
外科书记,正式党员,1101
外科成员,正式党员,1102
"""
ADMIN = 5001


async def hold_meetings(
    bot: Harness, branch_id: int, only: set[tuple[str, str]] | None = None
) -> int:
    """Record a held meeting (at the period's first day) for every required period of
    this year that has begun, or for the (kind, period key) pairs in ``only``."""
    count = 0
    async with bot.uow() as svc:
        branch = await svc.session.get(Branch, branch_id)
        assert branch is not None
        zone = ZoneInfo(branch.timezone)
        today = local_today(svc.clock.now(), branch.timezone)
        secretary = await svc.session.scalar(
            select(Membership.person_id).where(
                Membership.branch_id == branch_id,
                Membership.role == Role.SECRETARY,
                Membership.ended_at.is_(None),
            )
        )
        for kind in mrules.KINDS:
            for period in mrules.required_periods(kind, today.year):
                if period.start > today or (only is not None and (kind, period.key) not in only):
                    continue
                svc.session.add(
                    Meeting(
                        branch_id=branch_id,
                        kind=kind,
                        title=f"{period.key} {kind}",
                        starts_at=datetime.combine(period.start, time(10), zone),
                        audience=mrules.KIND_AUDIENCE[kind],
                        lecturer_person_id=secretary if kind == mrules.LECTURE else None,
                        status="held",
                        closed_at=svc.clock.now(),
                        created_at=svc.clock.now(),
                    )
                )
                count += 1
    return count


async def _world(bot: Harness, *, compliant: bool = True) -> tuple[OrgInfo, int, int]:
    """Two branches of one organisation; ``compliant``: both held every required
    meeting so far this year (the other figures then decide the flags)."""
    a = await bot.create_branch("心内科党支部", secretary=1001, secretary_name="王书记")
    await bot.import_roster(a.join_code, ROSTER_A)
    b = await bot.create_branch("外科党支部", secretary=1101, secretary_name="外科书记")
    await bot.import_roster(b.join_code, ROSTER_B)
    async with bot.uow() as svc:
        org = await svc.organisation.create("人民医院党委", admin_telegram_id=ADMIN)
        await svc.organisation.attach(org.id, a.join_code)
        await svc.organisation.attach(org.id, b.join_code)
    for uid, name in (
        (1001, "王书记"),
        (1002, "李明"),
        (1003, "张预备"),
        (1101, "外科书记"),
        (ADMIN, "院党委"),
    ):
        user = bot.user(uid, name)
        await user.send("/start")
        await user.wait_reply()
    if compliant:
        for branch_id in (a.id, b.id):
            await hold_meetings(bot, branch_id)
    return org, a.id, b.id


async def _role(bot: Harness, telegram_id: int) -> str:
    return str(
        await bot.scalar(
            "SELECT m.role FROM memberships m JOIN telegram_accounts a "
            "ON a.person_id = m.person_id WHERE a.telegram_user_id = :t AND m.ended_at IS NULL",
            t=telegram_id,
        )
    )


async def test_oversight_equals_the_branches_own_views(bot: Harness) -> None:
    _, a_id, b_id = await _world(bot)
    admin = bot.user(ADMIN, "院党委")
    await admin.send("/org")
    view = await admin.wait_reply()
    text = view.text or ""
    assert "人民医院党委（党委 #" in text
    assert "<b>" not in text and "2 个支部总览（🔴 1 个）· 按问题排序" in text

    async with bot.uow() as svc:
        for secretary, branch_id in ((1001, a_id), (1101, b_id)):
            own = await svc.membership.viewer_of(secretary)
            assert own.branch_id == branch_id
            fees = await svc.fees.month_summary(own)
            reports = await svc.reports.overview(own)
            quarter = await svc.points.default_quarter(own)
            scores = await svc.points.scores_for(own, quarter)
            assert (
                f"党费 {fees.month}：已缴 {fees.confirmed_count}/{fees.liable} 人，"
                f"待确认 {fees.pending_count} 人" in text
            )
            assert f"思想汇报：未交 {len(reports.owed)} 份" in text
            assert f"积分 {quarter.key}：计分 {len(scores)} 人" in text
    # Branch A: 张预备 has paid nothing since January 2025 (more than six months): 🔴.
    block_a, block_b = text.split("\n\n")[1:3]
    assert block_a.startswith("🔴 心内科党支部（人民医院党委）· 书记 王书记 · 3 人")
    assert "🔴 连续6个月未缴党费" in block_a
    assert block_b.startswith("🟢 外科党支部")
    assert "欠缴3个月以上 0 人，6个月以上 0 人" in block_b
    assert "欠缴3个月以上 1 人，6个月以上 1 人" in block_a

    # Sorted by name instead (a button; the message is edited).
    await admin.press(view, "名称")
    await admin.wait_edit(view)
    assert "按名称排序" in (view.text or "")
    assert (view.text or "").index("外科党支部") < (view.text or "").index("心内科党支部")

    # The roll-up as a workbook: one row per branch, the broken rule in red.
    await admin.send("/org xlsx")
    doc = await admin.wait_reply()
    assert doc.document is not None
    name, _mime, data = doc.document
    assert name.startswith("oversight-") and name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("支部编号", "支部")
    assert [r[1] for r in rows[1:]] == ["外科党支部", "心内科党支部"]
    assert rows[2][-1] == "连续6个月未缴党费"
    assert sheet.cell(row=3, column=1).fill.fgColor.rgb.endswith("FFC7CE")
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'org.export'") == 1
    # A past quarter: its points and reports, the fees of its last month.
    async with bot.uow() as svc:
        last = Quarter.of(await svc.points.today(a_id)).prev()
    await admin.send(f"/org xlsx {last.key.lower()}")
    past = await admin.wait_reply()
    assert past.document is not None and past.document[0] == f"oversight-{last.key}.xlsx"
    past_rows = list(load_workbook(io.BytesIO(past.document[2])).active.iter_rows(values_only=True))
    assert {r[5] for r in past_rows[1:]} == {last.key}
    assert {r[12] for r in past_rows[1:]} == {f"{last.end.year}-{last.end.month:02d}"}
    await admin.send("/org xlsx 明年")
    assert (await admin.wait_reply()).text == "请发送：/org xlsx [季度，如 2026Q3]"


async def test_admin_creates_branches_and_changes_a_secretary(bot: Harness) -> None:
    org, a_id, b_id = await _world(bot)
    admin = bot.user(ADMIN, "院党委")
    await admin.send("/newbranch 急诊科党支部 1201")
    made = (await admin.wait_reply()).text or ""
    assert "已在人民医院党委下新建支部 急诊科党支部" in made
    code = made.split("加入码 ")[1].split(" ")[0]
    assert (
        await bot.scalar("SELECT organisation_id FROM branches WHERE join_code = :c", c=code)
        == org.id
    )
    assert await _role(bot, 1201) == "secretary"

    # A general branch (党总支) under the committee, and a branch under it.
    await admin.send("/newgeneral 内科党总支")
    general = (await admin.wait_reply()).text or ""
    general_id = int(general.split("编号 ")[1].split("）")[0])
    await admin.send(f"/newbranch {general_id} 神经内科党支部 1301")
    assert "已在内科党总支下新建支部 神经内科党支部" in ((await admin.wait_reply()).text or "")
    await admin.send("/org")
    assert "4 个支部总览" in ((await admin.wait_reply()).text or "")
    # The general branch's own administrator sees only what is below it.
    await admin.send(f"/orgadmin {general_id} 5002")
    assert "5002 已成为管理员" in ((await admin.wait_reply()).text or "")
    await admin.send(f"/orgadmin {general_id} 5002")
    assert "已经是管理员" in ((await admin.wait_reply()).text or "")
    deputy = bot.user(5002, "总支书记")
    await deputy.send("/org")
    seen = (await deputy.wait_reply()).text or ""
    assert "1 个支部总览" in seen and "神经内科党支部" in seen and "心内科" not in seen
    await deputy.send("/newgeneral 下级总支")
    assert (await deputy.wait_reply()).text == "党总支只能设在党委之下。"

    # An administrator who is also a member sees what they administer in their menu.
    async with bot.uow() as svc:
        await svc.organisation.add_admin(org.id, 1101)
    surgeon = bot.user(1101, "外科书记")
    await surgeon.send("/start")
    assert "您是人民医院党委的管理员：/org 总览" in ((await surgeon.wait_reply()).text or "")
    li_menu = bot.user(1002, "李明")
    await li_menu.send("/start")
    assert "管理员" not in ((await li_menu.wait_reply()).text or "")

    # A new secretary for branch A: 李明; 王书记 stays a member without the rights.
    await admin.send(f"/secretary {a_id} 1002")
    assert (await admin.wait_reply()).text == "李明 现为心内科党支部书记。"
    li, wang = bot.user(1002, "李明"), bot.user(1001, "王书记")
    assert (await li.wait_reply()).text == "您现为心内科党支部书记。"
    assert (await wang.wait_reply()).text == "李明 现为心内科党支部书记；您仍是本支部党员。"
    roles = {uid: await _role(bot, uid) for uid in (1001, 1002, 1003)}
    assert roles == {1001: "member", 1002: "secretary", 1003: "member"}
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'org.secretary'") == 1
    await admin.send(f"/secretary {a_id} 1002")
    assert (await admin.wait_reply()).text == "李明 已经是书记。"
    # Not a member of that branch; not a branch of this organisation; bad input.
    await admin.send(f"/secretary {b_id} 1002")
    assert (await admin.wait_reply()).text == "Telegram 用户 1002 不是外科党支部的党员。"
    await admin.send("/secretary 999 1002")
    assert (await admin.wait_reply()).text == "您的组织下没有编号为 999 的支部。"
    await admin.send("/secretary 一 二")
    assert "请发送：/secretary" in ((await admin.wait_reply()).text or "")
    await admin.send("/newbranch " + "长" * 130 + " 1401")
    assert (await admin.wait_reply()).text == "支部名称应为 1 到 120 个字符。"
    assert await bot.scalar("SELECT count(*) FROM branches") == 4


async def test_others_are_refused_and_audited(bot: Harness) -> None:
    _, a_id, _ = await _world(bot)
    before = await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'access.denied'")
    attempts = [
        (1001, "王书记", "/org"),
        (1002, "李明", "/org xlsx"),
        (1101, "外科书记", f"/secretary {a_id} 1101"),
        (1002, "李明", "/newbranch 假支部 1002"),
        (1002, "李明", "/newgeneral 假总支"),
        (1002, "李明", "/orgadmin 1002"),
        (9001, "路人", "/org"),
    ]
    for uid, name, command in attempts:
        user = bot.user(uid, name)
        await user.send(command)
        assert (await user.wait_reply()).text == "只有组织管理员可以这样做。", command
    after = await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'access.denied'")
    assert after - before == len(attempts)
    assert await bot.scalar("SELECT count(*) FROM branches") == 2
    assert await bot.scalar("SELECT count(*) FROM org_admins") == 1
    # A forged sort button from a member: refused as an alert.
    li = bot.user(1002, "李明")
    await li.send("/help")
    host = await li.wait_reply()
    await li.press_raw(host.message_id, "og:0:view:flags")
    assert (await li.wait_callback_answer()).text == "只有组织管理员可以这样做。"
    # The dashboard button: a plain member is refused; a secretary is told it is not set up.
    await li.send("/dashboard")
    assert (await li.wait_reply()).text == "看板仅供支部书记和组织管理员使用。"
    wang = bot.user(1001, "王书记")
    await wang.send("/dashboard")
    assert "尚未配置看板" in ((await wang.wait_reply()).text or "")


async def test_exam_pass_rate_in_the_oversight(bot: Harness) -> None:
    _, _, b_id = await _world(bot)
    now = datetime.now(UTC)
    async with bot.uow() as svc:
        exam = QuizExam(
            branch_id=b_id,
            title="季度考试",
            question_count=10,
            time_limit_minutes=20,
            opens_on=now.date() - timedelta(days=3),
            closes_on=now.date() - timedelta(days=1),
            opens_at=now - timedelta(days=3),
            closes_at=now - timedelta(days=1),
            pass_mark=80,
            audience="all",
            created_at=now,
        )
        svc.session.add(exam)
        await svc.session.flush()
        surgeon = await svc.membership.viewer_of(1101)
        assert surgeon.person_id is not None
        svc.session.add(
            QuizAttempt(
                person_id=surgeon.person_id,
                branch_id=b_id,
                exam_id=exam.id,
                chat_id=1101,
                status="finished",
                question_count=10,
                correct=9,
                score=90,
                passed=True,
                started_at=now - timedelta(days=2),
                finished_at=now - timedelta(days=2),
            )
        )
    async with bot.uow() as svc:
        results = await svc.quiz.exam_results(await svc.membership.viewer_of(1101), exam.id)
    assert (results.count("passed"), len(results.rows)) == (1, 2)
    admin = bot.user(ADMIN, "院党委")
    await admin.send("/org exams")
    text = (await admin.wait_reply()).text or ""
    block_b = next(b for b in text.split("\n\n") if "外科党支部（" in b)
    assert "考试《季度考试》：通过 1/2 人" in block_b
    assert block_b.startswith("🔴 ") and "考试通过率低于60%" in block_b
    assert text.index("外科党支部（") < text.index("心内科党支部（")  # worst pass rate first


NOVEMBER = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, 2026Q4


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOVEMBER)


@pytest.fixture
async def fbot(
    tmp_path: Path, template_db: TemplateDatabase, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


async def test_meetings_compliance_in_the_oversight(fbot: Harness) -> None:
    bot = fbot
    _, a_id, b_id = await _world(bot, compliant=False)
    # Branch B held every required meeting of 2026 so far (43 periods have begun by
    # 20 November); branch A only October's committee meeting.
    assert await hold_meetings(bot, b_id) == 33 + 4 + 5 + 1
    await hold_meetings(bot, a_id, only={(mrules.COMMITTEE, "2026-10")})

    # The secretary's own view names the months whose meeting was not held.
    wang = bot.user(1001, "王书记")
    await wang.send("/meetings")
    own_view = (await wang.wait_reply()).text or ""
    assert "❌ 2026-10 党小组会" in own_view and "❌ 2026-10 主题党日" in own_view
    assert "❌ 2026-10 支委会" not in own_view and "❌ 2026-11" not in own_view
    async with bot.uow() as svc:
        statuses, _lectured = await svc.meeting_compliance.compliance(
            await svc.membership.viewer_of(1001), 2026
        )
    q4 = Quarter(2026, 4)
    assert [
        (s.kind, s.period.key)
        for s in statuses
        if s.state == mrules.NOT_HELD and s.period.end >= q4.start
    ] == [(mrules.GROUP, "2026-10"), (mrules.THEME_DAY, "2026-10")]

    # The oversight shows the same: held of due this quarter, what was not held, 🔴.
    admin = bot.user(ADMIN, "院党委")
    await admin.send("/org meetings")
    text = (await admin.wait_reply()).text or ""
    assert "按组织生活排序" in text
    block_a = next(b for b in text.split("\n\n") if "心内科党支部（" in b)
    block_b = next(b for b in text.split("\n\n") if "外科党支部（" in b)
    assert text.index("心内科党支部（") < text.index("外科党支部（")  # worst first
    # Q4 so far: committee, party group and theme day in October and November (2
    # each), the quarter's general meeting, November's lecture and the year's
    # organisational life meeting: 9 due.
    assert "组织生活 2026Q4：应开会议已开 1/9；未开：2026-10 党小组会、2026-10 主题党日" in block_a
    assert "谈心谈话 2026：0/3 人已与支委谈话；书记尚未讲党课" in block_a
    assert block_a.endswith("🔴 连续6个月未缴党费, 应开会议未开")
    assert "组织生活 2026Q4：应开会议已开 9/9\n" in block_b
    assert "谈心谈话 2026：0/2 人已与支委谈话；书记已讲党课" in block_b
    assert block_b.startswith("🟢 ") and "未开" not in block_b

    # The roll-up: the same figures per branch, this quarter and a past one.
    await admin.send("/org xlsx")
    doc = await admin.wait_reply()
    assert doc.document is not None and doc.document[0] == "oversight-2026Q4.xlsx"
    rows = list(load_workbook(io.BytesIO(doc.document[2])).active.iter_rows(values_only=True))
    header = list(rows[0])
    start = header.index("会议已开")
    assert header[start : start + 7] == [
        "会议已开",
        "应开会议",
        "未开会议",
        "书记讲党课",
        "已谈心谈话人数",
        "未谈心谈话人数",
        "问题",
    ]
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name["心内科党支部"][start:] == (
        1,
        9,
        "2026-10 党小组会、2026-10 主题党日",
        "否",
        0,
        3,
        "连续6个月未缴党费; 应开会议未开",
    )
    assert by_name["外科党支部"][start:] == (9, 9, None, "是", 0, 2, None)  # empty cells
    await admin.send("/org xlsx 2026Q3")
    past = await admin.wait_reply()
    assert past.document is not None
    q3 = {r[1]: r for r in list(load_workbook(io.BytesIO(past.document[2])).active.values)[1:]}
    # Q3: three monthly kinds × 3, the general meeting, lectures in July and September.
    assert q3["心内科党支部"][start : start + 2] == (0, 12)
    assert str(q3["心内科党支部"][start + 2]).count("、") == 11
    assert q3["外科党支部"][start : start + 3] == (12, 12, None)


async def test_overdue_meetings_reach_the_administrators(fbot: Harness, clock: FrozenClock) -> None:
    """In a period's last week the secretary and the organisation's administrators are
    told, once, of a required meeting not held; a branch that held it is not named."""
    bot = fbot
    _, a_id, b_id = await _world(bot, compliant=False)
    await hold_meetings(bot, b_id)
    await hold_meetings(bot, a_id)  # A held everything so far…
    async with bot.uow() as svc:  # …but November's committee meeting
        await svc.session.execute(
            delete(Meeting).where(
                Meeting.branch_id == a_id,
                Meeting.kind == mrules.COMMITTEE,
                Meeting.title == f"2026-11 {mrules.COMMITTEE}",
            )
        )
    admin, wang = bot.user(ADMIN, "院党委"), bot.user(1001, "王书记")
    assert await run_overdue(bot.app) == 0  # 20 November: ten days left
    clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    assert await run_overdue(bot.app) == 2
    assert (await admin.wait_reply()).text == (
        "⏰ 心内科党支部 · 2026-11：尚未召开支委会，本周期于 2026-11-30 结束。"
    )
    assert (await wang.wait_reply()).text == (
        "⏰ 2026-11：尚未召开支委会，本周期于 2026-11-30 结束。请用 /meeting_new 安排。"
    )
    assert await run_overdue(bot.app) == 0  # once
    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    assert await run_overdue(bot.app) == 0
    for user in (admin, wang, bot.user(1101, "外科书记")):
        await user.expect_no_reply()
