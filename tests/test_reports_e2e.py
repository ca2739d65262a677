"""Thought reports (思想汇报), end to end over HTTP: the real Application polling the
local emulator, on a frozen clock (15 August 2026: the third quarter, second half)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.clock import FrozenClock
from domain.membership import BranchInfo
from emulator import EmulatedUser
from scheduler.hooks import AUDIENCE_FILTERS
from tests.harness import Harness, running_bot, start_app, stop_app

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 8, 15, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai

ROSTER = (
    "name,status,telegram_id\n"
    "张预备,probationary,2001\n"
    "李积极,activist,2002\n"
    "王正式,member,2003\n"
    "赵发展,target,2004\n"
    "钱预备,probationary,2005\n"
    "孙积极,activist,2006\n"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"
    b"\x90\x91h6\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture
async def bot(tmp_path: Path, template_db: Path | None) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=FrozenClock(NOW)) as harness:
        yield harness


def clock_of(bot: Harness) -> FrozenClock:
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    return clock


async def setup_branch(bot: Harness) -> tuple[BranchInfo, EmulatedUser]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    return branch, sec


async def member(bot: Harness, user_id: int, name: str) -> EmulatedUser:
    user = bot.user(user_id, name)
    await user.send("/start")
    await user.wait_reply()
    return user


async def db(bot: Harness, sql: str, expected: Any, **params: Any) -> None:
    """Assert a query's value; the bot commits just after it replies, so wait briefly."""
    value = None
    for _ in range(100):
        value = await bot.scalar(sql, **params)
        if value == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sql!r} gave {value!r}, expected {expected!r}")


async def person_id(bot: Harness, name: str) -> int:
    value = await bot.scalar("SELECT id FROM persons WHERE full_name = :n", n=name)
    assert value is not None
    return int(value)


async def hand_in_text(user: EmulatedUser, *parts: str) -> None:
    await user.send("/report")
    await user.wait_reply()
    last = None
    for part in parts:
        await user.send(part)
        last = await user.wait_reply()
    assert last is not None
    await user.press(last, "提交")
    await user.wait_callback_answer()
    await user.wait_reply()


async def test_text_report_in_parts_acknowledged_and_commented(bot: Harness) -> None:
    await setup_branch(bot)
    sec = bot.user(1001, "王书记")
    zhang = await member(bot, 2001, "张预备")

    await zhang.send("/report")
    intro = await zhang.wait_reply()
    assert "本次思想汇报计入<b>" not in intro.text  # HTML was parsed
    assert "计入2026年第3季度" in intro.text
    assert "2026年第3季度——截止 2026-09-30" in intro.text
    assert "2026年第2季度——已逾期" in intro.text
    assert "20 MB" in intro.text and "PDF" in intro.text

    await zhang.send("第一部分：认真学习党章。")
    first = await zhang.wait_reply()
    assert "已收到第 1 段" in first.text and "提交" in first.button_texts[0]
    await zhang.send("第二部分：<对照检查> & 整改。")
    second = await zhang.wait_reply()
    assert "已收到第 2 段" in second.text
    await db(bot, "SELECT count(*) FROM thought_reports", 0)

    await zhang.press(second, "提交")
    assert (await zhang.wait_callback_answer()).text == "已提交。"
    done = await zhang.wait_reply()
    assert (
        "2026年第3季度</b>" not in done.text and "2026年第3季度思想汇报已提交（文字）" in done.text
    )
    assert "2026年第2季度" in done.text  # still due: last quarter's report

    shown = await sec.wait_reply()
    assert "张预备（预备党员），2026年第3季度" in shown.text
    assert "第一部分：认真学习党章。\n第二部分：<对照检查> & 整改。" in shown.text
    assert shown.button_texts == ["✅ 已阅", "💬 评语"]
    await db(
        bot,
        "SELECT text FROM thought_reports",
        "第一部分：认真学习党章。\n第二部分：<对照检查> & 整改。",
    )
    await db(bot, "SELECT period_key FROM thought_reports", "2026Q3")
    await db(bot, "SELECT count(*) FROM dialog_states", 0)

    await sec.press(shown, "已阅")
    assert "已阅" in ((await sec.wait_callback_answer()).text or "")
    read = await zhang.wait_reply()
    assert "2026年第3季度</b>" not in read.text
    assert "思想汇报已由 王书记 阅" in read.text
    assert shown.button_texts[0] == "✅ 王书记 已阅"

    # A double tap (the stale button of another copy) is answered, not repeated.
    await sec.press(shown, "王书记 已阅")
    answer = await sec.wait_callback_answer()
    assert answer.show_alert and answer.text == "已由 王书记 阅过。"
    await zhang.expect_no_reply()

    await sec.press(shown, "评语")
    await sec.wait_callback_answer()
    prompt = await sec.wait_reply()
    assert "评语" in prompt.text and "张预备" in prompt.text
    await sec.send("x" * 2001)
    too_long = await sec.wait_reply()
    assert "评语最多 2000 字" in too_long.text
    await sec.send("汇报认真，望继续加强理论学习。")
    assert "评语已发送给张预备" in (await sec.wait_reply()).text
    comment = await zhang.wait_reply()
    assert "王书记 对您的2026年第3季度思想汇报写了评语" in comment.text
    assert "汇报认真，望继续加强理论学习。" in comment.text
    await db(bot, "SELECT count(*) FROM report_comments", 1)
    await db(
        bot,
        "SELECT count(*) FROM audit_log WHERE action IN "
        "('report.submit', 'report.acknowledge', 'report.comment')",
        3,
    )


async def test_document_report_is_stored_with_a_local_copy(bot: Harness) -> None:
    branch, sec = await setup_branch(bot)
    li = await member(bot, 2002, "李积极")
    await li.send("/report")
    intro = await li.wait_reply()
    assert "计入2026年下半年" in intro.text
    await li.send_document(PDF, "思想汇报.pdf", "application/pdf", caption="请审阅")
    done = await li.wait_reply()
    assert "2026年下半年思想汇报已提交（文档）" in done.text

    shown = await sec.wait_reply()
    assert shown.document is not None and shown.document[2] == PDF
    assert "李积极（入党积极分子），2026年下半年" in shown.text and "附言：请审阅" in shown.text
    assert shown.button_texts == ["✅ 已阅", "💬 评语"]

    await db(bot, "SELECT count(*) FROM thought_reports", 1)
    local = await bot.scalar("SELECT local_path FROM thought_reports")
    assert local.startswith(f"reports/{branch.id}/2026H2/")
    assert (bot.settings.storage_dir / local).read_bytes() == PDF
    await db(bot, "SELECT file_name FROM thought_reports", "思想汇报.pdf")
    assert await bot.scalar("SELECT file_id FROM thought_reports") is not None

    await sec.press(shown, "已阅")
    await sec.wait_callback_answer()
    assert "2026年下半年" in (await li.wait_reply()).text

    # A photo is accepted too.
    await li.send("/report")
    await li.wait_reply()
    await li.send_photo(JPEG)
    assert "（图片）" in (await li.wait_reply()).text
    photo = await sec.wait_reply()
    assert photo.photo == JPEG
    await db(bot, "SELECT count(*) FROM thought_reports WHERE kind = 'photo'", 1)


async def test_wrong_file_types_are_refused(bot: Harness) -> None:
    await setup_branch(bot)
    sec = bot.user(1001, "王书记")
    zhao = await member(bot, 2004, "赵发展")
    await zhao.send("/report")
    await zhao.wait_reply()
    await zhao.send_document(b"MZ\x90\x00virus", "setup.exe", "application/x-msdownload")
    refused = await zhao.wait_reply()
    assert "无法接收 setup.exe" in refused.text and "PDF、Word" in refused.text
    await zhao.send_document(b"PK\x03\x04zip", "材料.zip", "application/zip")
    assert "无法接收 材料.zip" in (await zhao.wait_reply()).text
    # An executable renamed to .pdf is recognised by its content.
    await zhao.send_document(b"MZ\x90\x00virus", "汇报.pdf", "application/pdf")
    assert "不像是 PDF 文件" in (await zhao.wait_reply()).text
    too_big = b"%PDF" + b"0" * (21 * 1024 * 1024)
    await zhao.send_document(too_big, "大文件.pdf", "application/pdf")
    assert "文件过大（21.0 MB），最大为 20 MB" in (await zhao.wait_reply()).text
    await db(bot, "SELECT count(*) FROM thought_reports", 0)
    await sec.expect_no_reply()
    # The dialog is still open: a proper file is then accepted.
    docx = b"PK\x03\x04" + b"\x00" * 64
    await zhao.send_document(
        docx,
        "汇报.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    assert "思想汇报已提交（文档）" in (await zhao.wait_reply()).text
    await db(bot, "SELECT count(*) FROM thought_reports", 1)
    # Outside a /report dialog a file is not taken as a report.
    await zhao.send_document(PDF, "另一份.pdf", "application/pdf")
    assert "没看懂" in (await zhao.wait_reply()).text
    await db(bot, "SELECT count(*) FROM thought_reports", 1)


async def test_over_long_text_is_refused_and_long_reports_are_split(bot: Harness) -> None:
    await setup_branch(bot)
    sec = bot.user(1001, "王书记")
    qian = await member(bot, 2005, "钱预备")
    await qian.send("/report")
    await qian.wait_reply()
    part = "学" * 4000
    for n in range(1, 8):
        await qian.send(part)
        assert f"已收到第 {n} 段" in (await qian.wait_reply()).text
    await qian.send(part)  # 8 × 4000 would pass the 30,000 character limit
    refused = await qian.wait_reply()
    assert "这一段未加入" in refused.text and "30000" in refused.text
    assert refused.button_texts[0].endswith("提交")
    await qian.press(refused, "提交")
    await qian.wait_callback_answer()
    assert "已提交" in (await qian.wait_reply()).text
    await db(bot, "SELECT length(text) FROM thought_reports", 7 * 4000 + 6)
    shown = await sec.wait_replies(9)  # 28,006 characters, at most 3,500 per message
    assert "钱预备（预备党员）" in shown[0].text
    assert "（续，第 9/9 部分）" in shown[-1].text
    assert all(m.buttons == [] for m in shown[:-1]) and shown[-1].button_texts[0] == "✅ 已阅"
    assert sum(m.text.count("学") for m in shown) == 28000


async def test_restart_in_the_middle_keeps_the_parts(bot: Harness) -> None:
    await setup_branch(bot)
    zhang = await member(bot, 2001, "张预备")
    await zhang.send("/report")
    await zhang.wait_reply()
    await zhang.send("重启前的第一段。")
    await zhang.wait_reply()
    await zhang.send("重启前的第二段。")
    await zhang.wait_reply()

    await stop_app(bot.app)
    bot.app = await start_app(bot.runtime)

    await zhang.send("/report")
    again = await zhang.wait_reply()
    assert "共 2 段" in again.text and again.button_texts[0].endswith("提交")
    await zhang.send("重启后的第三段。")
    third = await zhang.wait_reply()
    assert "已收到第 3 段" in third.text
    await zhang.press(third, "提交")
    await zhang.wait_callback_answer()
    await zhang.wait_reply()
    await db(
        bot,
        "SELECT text FROM thought_reports",
        "重启前的第一段。\n重启前的第二段。\n重启后的第三段。",
    )


async def test_overview_overdue_across_statuses_and_nudge(bot: Harness) -> None:
    branch, sec = await setup_branch(bot)
    users = {
        name: await member(bot, tid, name)
        for tid, name in [
            (2001, "张预备"),
            (2002, "李积极"),
            (2003, "王正式"),
            (2004, "赵发展"),
            (2005, "钱预备"),
        ]
    }  # 孙积极 (2006) never started the bot
    await hand_in_text(users["张预备"], "第三季度汇报")
    await hand_in_text(users["李积极"], "下半年汇报")
    await hand_in_text(users["王正式"], "自愿汇报")
    full = users["王正式"]
    await sec.wait_replies(3)

    await sec.send("/reports")
    view = await sec.wait_reply()
    text = view.text
    assert "思想汇报——2026年第3季度（2026-07-01 至 2026-09-30）" in text
    submitted, _, rest = text.partition("逾期未交")
    assert "已提交（3）" in submitted
    for name in ("张预备", "李积极", "王正式"):
        assert name in submitted
    assert "（自愿提交）" in submitted
    overdue, _, pending = rest.partition("尚未提交，期限未到")
    assert "（0）" in overdue
    assert "钱预备（预备党员）——2026年第3季度，截止 2026-09-30" in pending
    assert "赵发展（发展对象）——2026年下半年，截止 2026-12-31" in pending
    assert "孙积极（入党积极分子）——2026年下半年，截止 2026-12-31" in pending
    for name in ("张预备", "李积极", "王正式"):
        assert name not in pending
    assert view.button_texts == ["🔔 提醒未交的 3 人"]

    # A past quarter: everyone who owes is overdue, full members are never listed.
    await sec.send("/reports 2026Q2")
    past = (await sec.wait_reply()).text
    overdue = past.partition("逾期未交")[2]
    assert "（5）" in overdue.split("\n")[0]
    for line in (
        "张预备（预备党员）——2026年第2季度",
        "钱预备（预备党员）——2026年第2季度",
        "李积极（入党积极分子）——2026年上半年",
        "孙积极（入党积极分子）——2026年上半年",
        "赵发展（发展对象）——2026年上半年",
    ):
        assert line in overdue
    assert "王正式" not in past

    # A half year: both quarters of probationary members, the half of activists.
    await sec.send("/reports 2026H2")
    half = (await sec.wait_reply()).text.partition("逾期未交")[2]
    assert "钱预备（预备党员）——2026年第4季度" in half
    assert "张预备（预备党员）——2026年第4季度" in half
    assert "张预备（预备党员）——2026年第3季度" not in half
    assert "李积极（入党积极分子）——2026年下半年" not in half

    await sec.send("/reports 2026Q9")
    assert "无法识别该期间" in (await sec.wait_reply()).text

    # The reminder audiences the reminders feature will call.
    async with bot.uow() as svc:
        quarterly = await AUDIENCE_FILTERS["report_quarterly"](svc, branch.id, date(2026, 9, 30))
        half_yearly = await AUDIENCE_FILTERS["report_half_yearly"](
            svc, branch.id, date(2026, 12, 31)
        )
    assert quarterly == {await person_id(bot, "钱预备")}
    assert half_yearly == {await person_id(bot, "赵发展"), await person_id(bot, "孙积极")}

    # Nudge: one message each to those who owe and can be reached.
    await sec.press(view, "提醒未交")
    answer = await sec.wait_callback_answer()
    assert answer.text == "已提醒 2 人。"
    unreachable = await sec.wait_reply()
    assert "孙积极" in unreachable.text and "当面提醒" in unreachable.text
    qian_msg = await users["钱预备"].wait_reply()
    assert "支部书记提醒" in qian_msg.text and "2026年第3季度" in qian_msg.text
    zhao_msg = await users["赵发展"].wait_reply()
    assert "2026年下半年" in zhao_msg.text and "2026-12-31" in zhao_msg.text
    for name in ("张预备", "李积极"):
        await users[name].expect_no_reply(0.1)
    await full.expect_no_reply(0.1)
    await db(bot, "SELECT count(*) FROM report_nudges", 2)

    # Again the same day: nobody is messaged twice.
    await sec.press(view, "提醒未交")
    answer = await sec.wait_callback_answer()
    assert "2 人今天已提醒过" in (answer.text or "")
    await sec.wait_reply()  # the unreachable list again
    await users["钱预备"].expect_no_reply(0.2)
    await db(bot, "SELECT count(*) FROM report_nudges", 2)

    # The next day they may be reminded again.
    clock_of(bot).advance(timedelta(days=1))
    await sec.press(view, "提醒未交")
    assert (await sec.wait_callback_answer()).text == "已提醒 2 人。"
    assert "支部书记提醒" in (await users["钱预备"].wait_reply()).text
    await db(bot, "SELECT count(*) FROM report_nudges", 4)


async def test_forged_callbacks_and_members_pressing_secretary_buttons(bot: Harness) -> None:
    branch, sec = await setup_branch(bot)
    zhang = await member(bot, 2001, "张预备")
    qian = await member(bot, 2005, "钱预备")
    await hand_in_text(zhang, "我的汇报")
    shown = await sec.wait_reply()
    await db(bot, "SELECT count(*) FROM thought_reports", 1)
    report_id = await bot.scalar("SELECT id FROM thought_reports")
    ack = shown.buttons[0][0].callback_data
    assert ack == f"rp:{report_id}:ack"

    # Another member replays the secretary's buttons on a message of their own chat.
    target = zhang.last_message
    assert target is not None
    for data in (ack, f"rp:{report_id}:comment", f"rp:{branch.id}:nudge:2026Q3"):
        await zhang.press_raw(target.message_id, data)
        answer = await zhang.wait_callback_answer()
        assert answer.show_alert and "只有支部书记" in (answer.text or "")
    assert await bot.scalar("SELECT acknowledged_at FROM thought_reports") is None
    await db(bot, "SELECT count(*) FROM report_nudges", 0)
    await db(bot, "SELECT count(*) FROM dialog_states", 0)
    await qian.expect_no_reply(0.1)
    await db(bot, "SELECT count(*) FROM audit_log WHERE action = 'report.denied'", 2)
    await zhang.send("/reports")
    assert "只有支部书记" in (await zhang.wait_reply()).text
    await zhang.send("/export reports")
    assert (await zhang.wait_reply()).document is None

    # Forged data: malformed, unknown action, unknown report, bad period.
    for data in ("rp:abc", "rp:1:delete", "rp:1:nudge:2026Q9", f"rp:{report_id}x:ack"):
        await sec.press_raw(shown.message_id, data)
        answer = await sec.wait_callback_answer()
        assert answer.show_alert and answer.text == "这个按钮已失效。", data
    await sec.press_raw(shown.message_id, "rp:999999:ack")
    assert (await sec.wait_callback_answer()).text == "该思想汇报已不存在。"
    # A secretary of another branch cannot act on this branch's report.
    other = await bot.create_branch("外科党支部", secretary=1009, secretary_name="刘书记")
    assert other.id != branch.id
    stranger_sec = bot.user(1009, "刘书记")
    await stranger_sec.send("/start")
    await stranger_sec.wait_reply()
    await stranger_sec.press_raw(stranger_sec.last_message.message_id, ack)  # type: ignore[union-attr]
    assert "只有支部书记" in ((await stranger_sec.wait_callback_answer()).text or "")
    await zhang.expect_no_reply(0.1)
    assert await bot.scalar("SELECT acknowledged_at FROM thought_reports") is None

    # A stale Submit (no draft any more).
    await zhang.press_raw(target.message_id, "rp:0:submit")
    assert "没有可提交的汇报草稿" in ((await zhang.wait_callback_answer()).text or "")
    await db(bot, "SELECT count(*) FROM thought_reports", 1)


async def test_full_member_may_report_voluntarily(bot: Harness) -> None:
    await setup_branch(bot)
    wang = await member(bot, 2003, "王正式")
    await wang.send("/report")
    intro = await wang.wait_reply()
    assert "正式党员无须按期提交" in intro.text and "2026年第3季度" in intro.text
    await wang.send("自愿提交的汇报")
    part = await wang.wait_reply()
    await wang.press(part, "取消")
    assert "已取消" in ((await wang.wait_callback_answer()).text or "")
    await db(bot, "SELECT count(*) FROM dialog_states", 0)
    await wang.send("随便说一句")
    assert "没看懂" in (await wang.wait_reply()).text


async def test_export_zip_with_files_texts_and_index(bot: Harness) -> None:
    _branch, sec = await setup_branch(bot)
    zhang = await member(bot, 2001, "张预备")
    li = await member(bot, 2002, "李积极")
    zhao = await member(bot, 2004, "赵发展")
    await hand_in_text(zhang, "第三季度：学习二十大报告。")
    await li.send("/report")
    await li.wait_reply()
    await li.send_document(PDF, "李积极-思想汇报.pdf", "application/pdf")
    await li.wait_reply()
    await zhao.send("/report")
    await zhao.wait_reply()
    await zhao.send_document(PNG, "汇报.png", "image/png")
    await zhao.wait_reply()
    first = (await sec.wait_replies(3))[0]
    await sec.press(first, "已阅")
    await sec.wait_callback_answer()
    # One local copy went missing: the export fetches it again from Telegram.
    await db(bot, "SELECT count(*) FROM thought_reports WHERE acknowledged_at IS NOT NULL", 1)
    png_path = await bot.scalar(
        "SELECT local_path FROM thought_reports WHERE kind='document' AND file_name = '汇报.png'"
    )
    (bot.settings.storage_dir / png_path).unlink()

    await sec.send("/export reports 2026Q3")
    msg = await sec.wait_reply()
    assert msg.document is not None
    filename, _, content = msg.document
    assert filename == "thought-reports-2026Q3.zip"
    assert "共 3 份" in msg.text
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        names = set(zf.namelist())
        assert "index.xlsx" in names
        texts = [n for n in names if n.startswith("text/")]
        files = sorted(n for n in names if n.startswith("files/"))
        assert len(texts) == 1 and texts[0].endswith("_张预备_2026Q3.txt")
        assert zf.read(texts[0]).decode() == "第三季度：学习二十大报告。\n"
        assert [f.rsplit(".", 1)[1] for f in files] == ["pdf", "png"]
        assert zf.read(next(f for f in files if f.endswith(".pdf"))) == PDF
        assert zf.read(next(f for f in files if f.endswith(".png"))) == PNG
        wb = load_workbook(io.BytesIO(zf.read("index.xlsx")))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "思想汇报——2026年第3季度"
    assert rows[1][:4] == ("序号", "姓名", "身份", "计入期间")
    body = {r[1]: r for r in rows[2:]}
    assert set(body) == {"张预备", "李积极", "赵发展"}
    assert body["张预备"][2] == "预备党员" and body["张预备"][3] == "2026年第3季度"
    assert body["张预备"][5] == "文字" and body["张预备"][9] == "王书记"
    assert body["李积极"][3] == "2026年下半年" and body["李积极"][6] == "李积极-思想汇报.pdf"
    assert body["李积极"][7] in names
    assert body["赵发展"][7] in names
    # The missing copy was stored again.
    assert (bot.settings.storage_dir / png_path).read_bytes() == PNG

    await sec.send("/export reports 2025Q1")
    assert "2025年第1季度没有思想汇报" in (await sec.wait_reply()).text


async def test_failed_download_keeps_the_report_and_export_fetches_the_file(bot: Harness) -> None:
    _branch, sec = await setup_branch(bot)
    li = await member(bot, 2002, "李积极")
    await li.send("/report")
    await li.wait_reply()
    bot.emu.inject_fault("getFile", status=500, count=4)  # outlasts the retries
    await li.send_document(PDF, "汇报.pdf", "application/pdf")
    assert "思想汇报已提交（文档）" in (await li.wait_reply()).text
    assert (await sec.wait_reply()).document is not None
    await db(bot, "SELECT count(*) FROM thought_reports WHERE local_path IS NULL", 1)

    await sec.send("/export reports 2026H2")
    msg = await sec.wait_reply()
    assert msg.document is not None
    with zipfile.ZipFile(io.BytesIO(msg.document[2])) as zf:
        assert [zf.read(n) for n in zf.namelist() if n.startswith("files/")] == [PDF]
    await db(bot, "SELECT count(*) FROM thought_reports WHERE local_path IS NOT NULL", 1)
    local = await bot.scalar("SELECT local_path FROM thought_reports")
    assert (bot.settings.storage_dir / local).read_bytes() == PDF
