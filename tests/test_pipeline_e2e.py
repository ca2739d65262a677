"""The admission pipeline end to end over HTTP, under a frozen clock: one applicant
from the application letter to full membership — every procedure recorded, a step out
of order and a step too early refused with their rules, the assessment poll failing and
passing, the 7-working-day notice over a weekend, the meeting votes, a probation
extended, and the status history keeping a past quarter's report duty."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from domain.clock import FrozenClock
from emulator import BotMessage, EmulatedUser
from handlers.pipeline import _remind_branch
from tests.databases import TemplateDatabase
from tests.harness import Harness, lasting_world, running_bot

pytestmark = pytest.mark.e2e

#: 16:00 in Asia/Shanghai: the calendar's reminders (09:00, 18:00 the day before) are
#: beyond their grace window or still to come, so none lands in a chat during the test.
START = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # a Tuesday

ROSTER = """name,status,telegram_id
王书记,正式党员,1001
李一,正式党员,1002
李二,正式党员,1003
李三,正式党员,1004
李四,正式党员,1005
李五,正式党员,1006
赵积极,入党积极分子,
钱积极,入党积极分子,
"""
MEMBERS = [
    (1001, "王书记"),
    (1002, "李一"),
    (1003, "李二"),
    (1004, "李三"),
    (1005, "李四"),
    (1006, "李五"),
]


@pytest.fixture
async def bot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=FrozenClock(START)) as harness:
        quiet(harness)
        yield harness


def quiet(harness: Harness) -> None:
    """The clock moves over years here: the other features' periodic tasks (the
    quarter's close, fee arrears, calendar reminders) would write to the chats at random
    moments. Only the lease and the delivery task keep running."""
    assert harness.app.job_queue is not None
    for job in harness.app.job_queue.jobs():
        if job.name not in {"leader-lease", "deliveries"}:
            job.schedule_removal()


def at(bot: Harness, when: str) -> None:
    """Move the frozen clock to 16:00 Shanghai time of the day ``when`` (ISO)."""
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.set(datetime.fromisoformat(f"{when}T08:00:00+00:00"))


async def _setup(bot: Harness) -> tuple[dict[int, EmulatedUser], EmulatedUser, int]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    users = {}
    for uid, name in MEMBERS:
        users[uid] = bot.user(uid, name)
        await users[uid].send("/start")
        await users[uid].wait_reply()
    chen = bot.user(3001, "陈申请")
    await chen.send(f"/start {branch.join_code}")
    await chen.wait_reply()
    request = await users[1001].wait_reply()
    await users[1001].press(request, "入党申请人")
    await users[1001].wait_callback_answer()
    await chen.wait_reply()
    await chen.send("/start")
    await chen.wait_reply()
    person = int(
        await bot.scalar("SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 3001")
    )
    assert await bot.scalar("SELECT status FROM persons WHERE id = :p", p=person) == "applicant"
    return users, chen, person


async def open_file(sec: EmulatedUser, name: str = "陈申请") -> BotMessage:
    await sec.send("/pipeline")
    listing = await sec.wait_reply()
    await sec.press(listing, name)
    await sec.wait_callback_answer()
    return await sec.wait_reply()


async def advance(sec: EmulatedUser, file: BotMessage, answer: str | None = None) -> BotMessage:
    """Press the next procedure's button, give ``answer`` (or tap Record), and return
    the file shown after it was recorded."""
    await sec.press(file, "▶")
    refused = await sec.wait_callback_answer()
    assert not refused.text, refused.text
    ask_or_done = await sec.wait_reply()
    if ask_or_done.text.startswith("✅ 已记录"):  # a notice: recorded at once
        return await sec.wait_reply()
    if answer is None:
        await sec.press(ask_or_done, "记录")
        await sec.wait_callback_answer()
    else:
        await sec.send(answer)
    done = await sec.wait_reply()
    assert done.text.startswith("✅ 已记录"), done.text
    return await sec.wait_reply()


async def vote_all(
    users: dict[int, EmulatedUser], choices: dict[int, str]
) -> dict[int, BotMessage]:
    """Each voter presses ``choices[uid]`` on the ballot they received; the ballots."""
    ballots = {}
    for uid, user in users.items():
        ballot = await user.wait_reply()
        assert "投票" in ballot.text
        ballots[uid] = ballot
        if uid in choices:
            await user.press(ballot, choices[uid])
            assert (await user.wait_callback_answer()).text == "您的投票已记录。"
    return ballots


async def everyone_told(users: dict[int, EmulatedUser]) -> dict[int, str]:
    """Every member received the public notice; its text for each."""
    texts = {uid: (await u.wait_reply()).text or "" for uid, u in users.items()}
    assert all(t.startswith("公示") for t in texts.values()), texts
    return texts


async def close_poll(sec: EmulatedUser, file: BotMessage, masses: str | None = None) -> str:
    """Close the poll on ``file`` (the assessment asks for the non-members' paper
    ballots: ``masses``); the result."""
    await sec.press(file, "结束投票并计票")
    await sec.wait_callback_answer()
    if masses is not None:
        assert "群众测评" in (await sec.wait_reply()).text
        await sec.send(masses)
    return (await sec.wait_reply()).text or ""


async def hand_in_report(sec: EmulatedUser, chen: EmulatedUser, text: str) -> None:
    await chen.send("/report")
    await chen.wait_reply()
    await chen.send(text)
    draft = await chen.wait_reply()
    await chen.press(draft, "提交")
    await chen.wait_callback_answer()
    await chen.wait_reply()
    assert "思想汇报" in (await sec.wait_reply()).text  # the reviewer is told


async def test_one_applicant_from_application_to_full_member(bot: Harness) -> None:
    users, chen, person = await _setup(bot)
    sec = users[1001]
    sec.skip_pending()

    # Stage 1: the application letter (a document) and the talk.
    file = await open_file(sec)
    assert "下一步：递交入党申请书" in file.text
    await sec.press(file, "▶")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send_document(b"%PDF-1.4 letter", "入党申请书.pdf", "application/pdf")
    assert (await sec.wait_reply()).text == "✅ 已记录：递交入党申请书（2026-03-03）。"
    file = await sec.wait_reply()
    assert "入党申请书.pdf" in file.text
    assert "最迟日期：2026-04-03" in file.text  # the talk within a month

    # A procedure out of order is refused, naming the one that comes first.
    await sec.press_raw(file.message_id, f"pl:{person}:step:activist")
    answer = await sec.wait_callback_answer()
    assert answer.text == "程序不能颠倒：须先完成“党组织派人谈话”。"
    file = await advance(sec, file, "与本人谈话，了解入党动机。")
    file = await advance(sec, file)  # recommendation
    file = await advance(sec, file)  # the committee: activist
    assert (await chen.wait_reply()).text == "您在支部的身份现为：入党积极分子。"
    file = await advance(sec, file)  # reported
    # Two training contacts, by name; a stranger's name is refused with a clear answer.
    await sec.press(file, "▶")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("李一 张三")
    assert (await sec.wait_reply()).text == "不在您的支部：张三。"
    await sec.send("李一、李二")
    await sec.wait_reply()
    file = await sec.wait_reply()
    # The training exam: below 80 is refused, the dialog stays open for the right score.
    await sec.press(file, "▶")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("70")
    assert (await sec.wait_reply()).text == "70 分低于合格线 80 分。"
    await sec.send("86")
    await sec.wait_reply()
    file = await sec.wait_reply()
    # Development target: too early, with the rule and the earliest date.
    assert "最早日期：2027-03-03" in file.text
    await sec.press(file, "▶")
    answer = await sec.wait_callback_answer()
    assert answer.text == "时间未到：2026-03-03 确定为积极分子，2027-03-03 起方可确定为发展对象。"

    # Thought reports as an activist, one every half year.
    at(bot, "2026-06-10")
    await hand_in_report(sec, chen, "上半年思想汇报。")
    at(bot, "2026-12-10")
    await hand_in_report(sec, chen, "下半年思想汇报。")

    # Stage 3, a year later.
    at(bot, "2027-03-03")
    file = await open_file(sec)
    file = await advance(sec, file)  # opinions (two reports: accepted)
    file = await advance(sec, file, "88")  # the quantified score
    # The assessment poll: secret; 5 of 6 vote, "excellent" 60 %: not passed.
    await sec.press(file, "发起投票")
    await sec.wait_callback_answer()
    opened = await sec.wait_reply()
    assert "6 名" in opened.text
    first = {1001: "优秀", 1002: "优秀", 1003: "优秀", 1004: "一般", 1005: "差"}
    ballots = await vote_all(users, first)
    assert "无记名投票" in ballots[1006].text  # 1006 did not vote: the ballot as sent
    excellent = ballots[1006].buttons[0][0].callback_data or ""
    await users[1002].press_raw(ballots[1002].message_id, excellent)  # a second vote
    assert (await users[1002].wait_callback_answer()).text == "您已经投过票了。"
    file = await open_file(sec)
    await sec.press(file, "结束投票并计票")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("40 8 2")  # three numbers: asked again
    assert "请发送四个数" in (await sec.wait_reply()).text
    await sec.send("40 8 2 0")
    result = (await sec.wait_reply()).text
    assert "应投 6 人，实投 5 人。" in result
    assert "群众：应参加 40 人，实参加 10 人" in result
    assert "未通过" in result and "“优秀”票不足 80%（15 票中 11 票）" in result
    assert await bot.scalar("SELECT count(*) FROM pipeline_steps WHERE code = 'assessment'") == 0
    # Again: everyone votes, all excellent: passed, and the procedure is recorded.
    file = await open_file(sec)
    await sec.press(file, "发起投票")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await vote_all(users, dict.fromkeys(users, "优秀"))
    file = await open_file(sec)
    result = await close_poll(sec, file, "40 9 1 0")
    assert "✅ 通过。" in result
    assert (await sec.wait_reply()).text.startswith("✅ 已记录：民主测评")
    file = await sec.wait_reply()
    # A ballot is secret: the audit names no choice.
    assert (
        await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'pipeline.vote' "
            "AND CAST(details AS TEXT) LIKE '%excellent%'"
        )
        == 0
    )
    file = await advance(sec, file)  # target (three activists in the branch)
    assert "发展对象" in (await chen.wait_reply()).text
    file = await advance(sec, file)  # reported
    await sec.press(file, "▶")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("李三 陈申请")
    assert "不能是对象本人" in (await sec.wait_reply()).text
    await sec.send("李三 李四")
    await sec.wait_reply()
    file = await sec.wait_reply()
    file = await advance(sec, file)  # political review
    file = await advance(sec, file, "3天")  # short training: 24 hours
    # The public notice: 7 working days from Wednesday 2027-03-03, over a weekend.
    file = await advance(sec, file)
    notices = await everyone_told(users)  # the secretary is a member too
    assert "公示期自 2027-03-03 至 2027-03-11（7 个工作日）" in notices[1003]
    at(bot, "2027-03-11")
    file = await open_file(sec)
    await sec.press(file, "▶")
    answer = await sec.wait_callback_answer()
    assert answer.text == "时间未到：公示期至 2027-03-11，2027-03-12 起方可预审。"
    at(bot, "2027-03-12")
    file = await open_file(sec)
    file = await advance(sec, file)  # pre-review
    file = await advance(sec, file)  # the application form

    # Stage 4: the branch meeting votes (open); 4 of 6 full members in favour.
    await sec.press(file, "发起投票")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    meeting = {1001: "赞成", 1002: "赞成", 1003: "赞成", 1004: "赞成", 1005: "反对"}
    await vote_all(users, meeting)
    file = await open_file(sec)
    result = await close_poll(sec, file)
    assert "赞成 4" in result and "✅ 通过。" in result
    await sec.wait_reply()
    file = await sec.wait_reply()
    file = await advance(sec, file)  # the higher committee's talk
    async with bot.uow() as svc:  # a development target pays no fee yet
        assert (await svc.fees.my_fees(await svc.membership.viewer_of(3001))).start is None
    file = await advance(sec, file)  # approval: probationary from the meeting's date
    assert "预备党员" in (await chen.wait_reply()).text
    admitted = await bot.scalar("SELECT admitted_on FROM persons WHERE id = :p", p=person)
    assert str(admitted) == "2027-03-12"  # a date on PostgreSQL, its ISO text on SQLite
    # Fees are owed from the month of admission, at once.
    async with bot.uow() as svc:
        fees = await svc.fees.my_fees(await svc.membership.viewer_of(3001))
    assert fees.start is not None and str(fees.start) == "2027-03"
    file = await advance(sec, file)  # the oath
    assert "预备期至 2028-03-12 届满。" in file.text

    # Stage 5: the application is too early a month before the end of the probation…
    at(bot, "2028-02-01")
    file = await open_file(sec)
    await sec.press(file, "▶")
    answer = await sec.wait_callback_answer()
    assert answer.text == (
        "时间未到：预备期自 2027-03-12 起至 2028-03-12 届满，2028-02-12 起方可提出转正申请。"
    )
    # … and the branch meeting extends the probation by six months.
    await sec.press(file, "延长预备期 6 个月")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await vote_all(users, dict.fromkeys(list(users)[:4], "赞成"))
    file = await open_file(sec)
    result = await close_poll(sec, file)
    assert "✅ 通过。" in result
    assert "延长 6 个月" in (await sec.wait_reply()).text
    file = await open_file(sec)
    assert "预备期至 2028-09-12 届满。" in file.text
    assert "延长预备期" not in " ".join(file.button_texts)  # once only

    at(bot, "2028-08-15")
    file = await open_file(sec)
    file = await advance(sec, file)  # the application
    file = await advance(sec, file)  # the notice
    notices = await everyone_told(users)
    assert "公示期自 2028-08-15 至 2028-08-23（7 个工作日）" in notices[1002]
    assert (await chen.wait_reply()).text.startswith("公示")  # a Party member now
    at(bot, "2028-09-12")
    file = await open_file(sec)
    await sec.press(file, "发起投票")
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await vote_all(users, dict.fromkeys(users, "赞成"))
    file = await open_file(sec)
    result = await close_poll(sec, file)
    assert "✅ 通过。" in result
    await sec.wait_reply()
    file = await sec.wait_reply()
    file = await advance(sec, file)  # approval: full member
    assert "正式党员" in (await chen.wait_reply()).text
    file = await advance(sec, file)  # filed
    assert "全部程序已记录，档案完整。" in file.text
    assert await bot.scalar("SELECT status FROM persons WHERE id = :p", p=person) == "member"
    assert (
        await bot.scalar("SELECT count(*) FROM pipeline_steps WHERE superseded = false") == 27 + 1
    )  # every procedure and the extension
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'pipeline.step'") == 27

    # The status history: a full member now, but probationary in 2028Q1, so that
    # quarter's thought report is still owed (today's status would owe nothing).
    sec.skip_pending()
    await sec.send("/reports 2028Q1")
    overview = await sec.wait_reply()
    assert "陈申请" in overview.text
    await sec.send("/reports 2028Q4")
    assert "陈申请" not in (await sec.wait_reply()).text

    # The export: the files and the year's register.
    await sec.send("/export pipeline 2027")
    doc = await sec.wait_reply()
    assert doc.document is not None and doc.document[0] == "pipeline-2027.xlsx"
    path = bot.tmp_path / "pipeline.xlsx"
    path.write_bytes(doc.document[2])
    book = load_workbook(path)
    register = book.worksheets[1]
    rows = list(register.iter_rows(values_only=True))
    assert rows[1][0] == "陈申请" and rows[1][5] == "李三、李四"
    archive = await sec.wait_reply()
    assert archive.document is not None
    assert archive.document[0] == "pipeline-documents-2027.zip"
    with zipfile.ZipFile(io.BytesIO(archive.document[2])) as z:
        assert z.namelist() == ["陈申请/2026-03-03-apply-入党申请书.pdf"]
        assert z.read(z.namelist()[0]) == b"%PDF-1.4 letter"


async def test_reminders_and_the_monday_digest_go_out_once(bot: Harness) -> None:
    users, _chen, person = await _setup(bot)
    sec = users[1001]
    sec.skip_pending()
    file = await open_file(sec)
    await advance(sec, file)  # the application: the talk is due within a month
    at(bot, "2026-03-30")  # a Monday, four days before the talk's latest date
    branch_id = int(await bot.scalar("SELECT id FROM branches"))
    for _ in range(2):
        async with bot.runtime.unit_of_work() as svc:
            await _remind_branch(svc, branch_id)
    async with bot.runtime.db.session() as session:
        texts = list((await session.execute(text("SELECT text FROM deliveries"))).scalars())
    assert len(texts) == 2, texts  # one reminder, one digest; the second run sent nothing
    assert any("即将到期：陈申请 的“党组织派人谈话”（最迟 2026-04-03）" in t for t in texts)
    assert any("本周发展党员工作" in t for t in texts)
    assert person


async def test_the_pipeline_is_for_reviewers_only(bot: Harness) -> None:
    users, chen, person = await _setup(bot)
    member = users[1002]
    await member.send("/pipeline")
    assert (await member.wait_reply()).text == "只有支部书记或有审核权限的支委可以进行此操作。"
    await member.press_raw(member.inbox[-1].message_id, f"pl:{person}:step:apply")
    assert "只有支部书记" in ((await member.wait_callback_answer()).text or "")
    await chen.send("/vote")
    assert (await chen.wait_reply()).text == "目前没有需要您投票的事项。"
    await chen.send("/report")  # an applicant owes no thought report yet
    assert "作为入党申请人，您现在还不需要交思想汇报" in (await chen.wait_reply()).text
    assert await bot.scalar("SELECT count(*) FROM pipeline_steps") == 0
    assert (
        await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'pipeline.denied' "
            "AND actor_telegram_id = 1002"
        )
        == 2
    )


async def test_a_roster_reimport_keeps_the_status_history(bot: Harness) -> None:
    """A probationary member made a full member by a roster re-import still owes the
    report of the quarter she was probationary in, and not the quarter's after."""
    at(bot, "2026-07-15")
    branch = await bot.create_branch()
    roster = "name,status,telegram_id\n王书记,正式党员,1001\n张华,预备党员,\n"
    await bot.import_roster(branch.join_code, roster)
    at(bot, "2026-07-20")
    result = await bot.import_roster(branch.join_code, roster.replace("预备党员", "正式党员"))
    assert result.updated == 1
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    await sec.send("/reports 2026Q2")
    assert "张华" in (await sec.wait_reply()).text  # probationary then: owed
    await sec.send("/reports 2026Q3")
    assert "张华" not in (await sec.wait_reply()).text  # a full member since 07-20
    rows = await bot.scalar(
        "SELECT count(*) FROM person_status_history WHERE source IN ('before', 'roster')"
    )
    assert rows == 2


async def test_bad_input_a_double_tap_and_a_restart_in_the_middle(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(START)
    async with lasting_world(tmp_path, template_db) as (url, telegram):
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            quiet(bot)
            users, _chen, person = await _setup(bot)
            sec = users[1001]
            sec.skip_pending()
            file = await open_file(sec)
            await sec.press(file, "▶")
            await sec.wait_callback_answer()
            ask = await sec.wait_reply()
            await sec.send_document(b"MZ", "tool.exe")
            assert (await sec.wait_reply()).text == (
                "无法接收 tool.exe：请发送 PDF、Word（DOC、DOCX）或图片文件。"
            )
            await sec.send("长" * 2001)
            assert (await sec.wait_reply()).text == "说明最多 2000 字。"
        # The bot restarts in the middle of the dialog: the note still goes to the file.
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            quiet(bot)
            sec = bot.user(1001, "王书记")
            sec.skip_pending()
            await sec.send("手写申请书已收到。")
            assert (await sec.wait_reply()).text == "✅ 已记录：递交入党申请书（2026-03-03）。"
            await sec.wait_reply()
            await sec.press(ask, "记录")  # an old button, tapped again
            assert (await sec.wait_callback_answer()).text == "该程序已于 2026-03-03 记录。"
            assert await bot.scalar("SELECT note FROM pipeline_steps") == "手写申请书已收到。"
            assert await bot.scalar("SELECT count(*) FROM pipeline_steps") == 1
            assert person


async def test_a_probationary_member_from_the_roster_starts_the_file_at_her_stage(
    bot: Harness,
) -> None:
    branch = await bot.create_branch()
    roster = "name,status,telegram_id,joined_on\n王书记,正式党员,1001,\n张华,预备党员,,2025-09-20\n"
    await bot.import_roster(branch.join_code, roster)
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    file = await open_file(sec, "张华")
    assert "2025-09-20" in file.text and "下一步：递交入党申请书" in file.text
    adopt = next(b.callback_data for row in file.buttons for b in row if "📥" in b.text)
    await sec.press(file, "📥")
    assert (await sec.wait_callback_answer()).text == "已完成。"
    file = await sec.wait_reply()
    assert "预备期至 2026-09-20 届满。" in file.text
    assert "下一步：提出转正申请" in file.text
    assert "最早日期：2026-08-20" in file.text
    await sec.press_raw(file.message_id, adopt or "")  # a double tap
    assert (await sec.wait_callback_answer()).text == "该档案已有程序记录：请记录下一步。"
    assert await bot.scalar("SELECT count(*) FROM pipeline_steps") == 22
