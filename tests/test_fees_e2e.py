"""Party fees end to end over HTTP: the fee-day notice, paying one and several months,
confirmation, a query, the owed list, nudges, arrears alerts, the XLSX export, the
amount table set in chat and from the roster."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.clock import FrozenClock
from domain.errors import NotAllowed
from domain.fee_rules import FeeBasis, Month
from domain.membership import BranchInfo
from domain.reader import Reader
from domain.roster import RosterError, parse_roster
from emulator import EmulatedUser
from handlers.fees import check_arrears, fee_day_extra, send_fee_day_notice
from locales.i18n import translator
from scheduler.hooks import REMINDER_EXTRAS
from store.models import FeeAssessment, FeeRegisterEntry, Person
from store.repositories import get_account
from tests.harness import Harness, running_bot

D = Decimal

pytestmark = pytest.mark.e2e

# 2026-03-27 10:00 in Beijing: the fourth Friday of March (fee day).
FEE_DAY = datetime(2026, 3, 27, 2, 0, tzinfo=UTC)

ROSTER = """name,status,telegram_id,joined_on,fee_basis,monthly_income
张三,正式党员,2001,2001-07-01,在职,4000
李四,预备党员,2002,2026-01-15,离退休,6000
赵五,入党积极分子,2003,,,
"""


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FEE_DAY)


@pytest.fixture
async def fbot(
    tmp_path: Path, template_db: Path | None, clock: FrozenClock
) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=clock) as harness:
        yield harness


async def started(bot: Harness, uid: int, name: str) -> EmulatedUser:
    user = bot.user(uid, name)
    await user.send("/start")
    await user.wait_reply()
    return user


async def setup_branch(bot: Harness) -> tuple[BranchInfo, EmulatedUser, EmulatedUser, EmulatedUser]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    sec = await started(bot, 1001, "王书记")
    zhang = await started(bot, 2001, "张三")
    li = await started(bot, 2002, "李四")
    return branch, sec, zhang, li


async def assessments(bot: Harness) -> list[tuple[str, str, Decimal]]:
    """The amount table's rows in the order recorded (portable: no SQL string functions)."""
    async with bot.uow() as svc:
        rows = (
            await svc.session.execute(
                select(Person.full_name, FeeAssessment.basis, FeeAssessment.amount)
                .join(Person, Person.id == FeeAssessment.person_id)
                .order_by(FeeAssessment.id)
            )
        ).all()
    for _name, _basis, amount in rows:
        assert isinstance(amount, Decimal)
    return [(name, basis.value, amount) for name, basis, amount in rows]


async def test_fee_day_notice_pay_one_month_with_screenshot_and_confirm(fbot: Harness) -> None:
    branch, sec, zhang, li = await setup_branch(fbot)
    zhao = await started(fbot, 2003, "赵五")
    sent = await send_fee_day_notice(fbot.app, branch.id, Month(2026, 3))
    assert sent == 3  # 张三, 李四 and the secretary; not the activist
    notice = await zhang.wait_reply()
    assert "党费缴纳日" in notice.text
    assert "2026年3月应缴党费：¥40.00" in notice.text
    assert notice.button_texts == ["✅ 已缴 2026年3月（¥40.00）"]
    li_notice = await li.wait_reply()
    # Probationary since January: owes January to March, retired above 5000: 1%.
    assert "¥60.00" in li_notice.text and "共欠缴 3 个月，合计 ¥180.00" in li_notice.text
    assert "✅ 一次缴清 3 个月（¥180.00）" in li_notice.button_texts
    sec_notice = await sec.wait_reply()
    assert "尚未核定" in sec_notice.text and sec_notice.buttons == []
    await zhao.expect_no_reply()

    await zhang.press(notice, "已缴")
    prompt = await zhang.wait_reply()
    assert "2026年3月 ¥40.00" in prompt.text and "合计：¥40.00" in prompt.text
    await zhang.send_photo(png())
    ack = await zhang.wait_reply()
    assert "已报告：2026年3月，¥40.00" in ack.text
    report = await sec.wait_reply()
    assert report.photo is not None
    assert "张三 报告已缴纳 2026年3月 党费：¥40.00" in report.text
    assert "附有缴费截图" in report.text
    assert await fbot.scalar("SELECT count(*) FROM fee_register") == 0
    # /fees shows it waiting.
    await zhang.send("/fees")
    mine = await zhang.wait_reply()
    assert "等待支部书记确认" in mine.text and "2026年3月 ¥40.00" in mine.text
    assert mine.buttons == []

    # A member cannot confirm (forged callback data).
    await zhang.press_raw(mine.message_id, report.buttons[0][0].callback_data or "")
    denied = await zhang.wait_callback_answer()
    assert denied.show_alert and "只有支部书记" in (denied.text or "")

    await sec.press(report, "确认")
    assert (await sec.wait_callback_answer()).text == "已确认。"
    await sec.wait_edit(report)
    assert "已由 王书记 确认" in report.text and report.buttons == []
    told = await zhang.wait_reply()
    assert "2026年3月" in told.text and "¥40.00" in told.text and "已登记" in told.text
    await fbot.settled()
    rows = await fbot.scalar("SELECT count(*) FROM fee_register WHERE month = '2026-03'")
    assert rows == 1
    amount = await fbot.orm_scalar(select(FeeRegisterEntry.amount))
    assert amount == Decimal("40.00") and isinstance(amount, Decimal)
    # A second tap on the stale button changes nothing.
    await sec.press_raw(report.message_id, "fee:1:ok")
    again = await sec.wait_callback_answer()
    assert again.show_alert and "已由 王书记 确认" in (again.text or "")
    await fbot.settled()
    assert await fbot.scalar("SELECT count(*) FROM fee_register") == 1

    await zhang.send("/fees")
    mine = await zhang.wait_reply()
    assert "已缴" in mine.text and "没有欠缴" in mine.text


async def test_pay_several_months_query_then_pay_again(fbot: Harness) -> None:
    _branch, sec, _zhang, li = await setup_branch(fbot)
    await li.send("/fees")
    view = await li.wait_reply()
    for month in ("2026年1月 ¥60.00", "2026年2月 ¥60.00", "2026年3月 ¥60.00"):
        assert month in view.text
    assert "共欠缴：¥180.00" in view.text
    await li.press(view, "一次缴清 3 个月")
    prompt = await li.wait_reply()
    assert "合计：¥180.00" in prompt.text
    await li.send("我已经交了")  # text instead of a photo: asked again, nothing lost
    hint = await li.wait_reply()
    assert "照片" in hint.text
    await li.press(prompt, "直接提交")
    ack = await li.wait_reply()
    assert "¥180.00" in ack.text
    report = await sec.wait_reply()
    assert report.photo is None and "未附缴费截图" in report.text
    assert "2026年1月、2026年2月、2026年3月" in report.text

    await sec.press(report, "有疑问")
    ask = await sec.wait_reply()
    assert "李四" in ask.text
    await sec.send("金额与转账记录不符，请核对")
    await sec.wait_reply()
    if report.buttons:
        await sec.wait_edit(report)
    assert "有疑问" in report.text and report.buttons == []
    queried = await li.wait_reply()
    assert "金额与转账记录不符，请核对" in queried.text and "/fees" in queried.text
    await fbot.settled()
    status = await fbot.scalar("SELECT status FROM fee_submissions")
    assert status == "queried"
    assert await fbot.scalar("SELECT count(*) FROM fee_register") == 0

    # The months are owed again; paying them again works, and each month is registered.
    await li.send("/fees")
    view = await li.wait_reply()
    assert "共欠缴：¥180.00" in view.text
    await li.press(view, "一次缴清 3 个月")
    prompt = await li.wait_reply()
    await li.send_photo(png())
    await li.wait_reply()
    report = await sec.wait_reply()
    await sec.press(report, "确认")
    await sec.wait_callback_answer()
    await li.wait_reply()
    await fbot.settled()
    async with fbot.uow() as svc:
        entries = (
            await svc.session.execute(
                select(FeeRegisterEntry.month, FeeRegisterEntry.amount).order_by(
                    FeeRegisterEntry.month
                )
            )
        ).all()
    assert [(m, a) for m, a in entries] == [
        ("2026-01", D("60.00")),
        ("2026-02", D("60.00")),
        ("2026-03", D("60.00")),
    ]


async def test_secretary_month_view_owed_list_and_nudge(fbot: Harness) -> None:
    _branch, sec, zhang, li = await setup_branch(fbot)
    # 张三 reports March; 李四 pays nothing.
    await zhang.send("/fees")
    view = await zhang.wait_reply()
    await zhang.press(view, "已缴 2026年3月")
    prompt = await zhang.wait_reply()
    await zhang.press(prompt, "直接提交")
    await zhang.wait_reply()
    await sec.wait_reply()  # the report

    await sec.send("/fees")
    summary = await sec.wait_reply()
    assert "2026年3月党费" in summary.text
    assert "应缴：¥100.00（3 人）" in summary.text  # 40 + 60; the secretary has no amount
    assert "已确认：¥0.00（0 人）" in summary.text
    assert "待确认：¥40.00（1 人）" in summary.text
    assert "李四 ¥60.00 — 已欠 3 个月" in summary.text
    assert "王书记" in summary.text and "未核定月缴党费数额" in summary.text
    assert "张三 ¥40.00" not in summary.text

    await sec.press(summary, "提醒未缴")
    answer = await sec.wait_callback_answer()
    assert "已提醒 2 位党员" in (answer.text or "")  # 李四 and the secretary
    nudge = await li.wait_reply()
    assert "2026年3月" in nudge.text and "¥60.00" in nudge.text and "共欠缴 3 个月" in nudge.text
    assert any("已缴" in b for b in nudge.button_texts)
    await sec.wait_reply()  # the secretary's own nudge
    await zhang.expect_no_reply()
    # A double tap does not nudge twice.
    await sec.press(summary, "提醒未缴")
    again = await sec.wait_callback_answer()
    assert again.show_alert and "刚刚已提醒" in (again.text or "")
    await li.expect_no_reply()

    # A member's /fees is their own; /fees set is refused.
    await li.send("/fees set")
    refused = await li.wait_reply()
    assert "只有支部书记" in refused.text


async def test_arrears_alerts_at_three_and_six_months_once_each(
    fbot: Harness, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    branch = await fbot.create_branch()
    await fbot.import_roster(
        branch.join_code,
        "name,status,telegram_id,fee_basis,monthly_income\n孙七,正式党员,2007,在职,3000\n",
    )
    sec = await started(fbot, 1001, "王书记")
    sun = await started(fbot, 2007, "孙七")
    # The secretary pays, so only 孙七 falls behind.
    async with fbot.uow() as svc:
        sec_person = (
            await svc.session.scalars(select(Person).where(Person.full_name == "王书记"))
        ).one()
        sec_id = sec_person.id
        await svc.fees.record_assessment(
            branch.id, sec_person, FeeBasis.STUDENT, None, source="chat", actor=None
        )
    for month in range(1, 8):
        async with fbot.uow() as svc:
            svc.session.add(
                FeeRegisterEntry(
                    branch_id=branch.id,
                    person_id=sec_id,
                    month=f"2026-{month:02d}",
                    amount=Decimal("0.20"),
                    recorded_at=clock.now(),
                )
            )

    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # January and February owed
    assert await check_arrears(fbot.app) == 0
    await sec.expect_no_reply()

    clock.set(datetime(2026, 4, 2, 2, 0, tzinfo=UTC))  # January to March owed
    assert await check_arrears(fbot.app) == 1
    alert = await sec.wait_reply()
    assert "党费欠缴" in alert.text and "孙七" in alert.text
    assert "连续 3 个月" in alert.text and "¥45.00" in alert.text
    assert "紧急" not in alert.text
    assert await check_arrears(fbot.app) == 0  # once
    await sec.expect_no_reply()

    # The secretary reminds 孙七 from the alert.
    await sec.press(alert, "提醒")
    assert (await sec.wait_callback_answer()).text == "已提醒。"
    reminder = await sun.wait_reply()
    assert "共欠缴 4 个月" in reminder.text  # April is due as well

    clock.set(datetime(2026, 6, 2, 2, 0, tzinfo=UTC))  # five months: nothing new
    assert await check_arrears(fbot.app) == 0
    clock.set(datetime(2026, 7, 2, 2, 0, tzinfo=UTC))  # six months
    assert await check_arrears(fbot.app) == 1
    urgent = await sec.wait_reply()
    assert "紧急" in urgent.text and "连续 6 个月" in urgent.text and "¥90.00" in urgent.text
    assert "自行脱党" in urgent.text
    assert await check_arrears(fbot.app) == 0
    await sec.expect_no_reply()
    assert await fbot.scalar("SELECT count(*) FROM fee_arrears_alerts") == 2


async def test_export_register_and_amount_table(fbot: Harness) -> None:
    _branch, sec, zhang, _li = await setup_branch(fbot)
    await zhang.send("/fees")
    view = await zhang.wait_reply()
    await zhang.press(view, "已缴 2026年3月")
    prompt = await zhang.wait_reply()
    await zhang.press(prompt, "直接提交")
    await zhang.wait_reply()
    report = await sec.wait_reply()
    await sec.press(report, "确认")
    await sec.wait_callback_answer()

    await zhang.send("/export fees 2026")
    refused = await zhang.wait_reply()
    assert refused.document is None

    await sec.send("/export fees 2026")
    doc = await sec.wait_reply()
    assert doc.document is not None
    filename, _mime, data = doc.document
    assert filename == "party-fees-2026.xlsx"
    wb = load_workbook(io.BytesIO(data))
    register, table = wb.worksheets
    assert register.title == "党费缴纳登记表"
    assert "2026年党费缴纳登记表" in str(register["A1"].value)
    headers = [c.value for c in register[2]]
    assert headers[:5] == ["序号", "姓名", "类别", "月缴纳额（元）", "1月"]
    assert headers[-1] == "合计"
    rows = {r[1].value: r for r in register.iter_rows(min_row=3) if r[1].value}
    zhang_row = rows["张三"]
    march = zhang_row[4 + 2]
    assert march.number_format == "0.00"
    assert Decimal(str(march.value)) == Decimal("40.00")
    assert zhang_row[4].value is None  # January: not yet a member here
    assert Decimal(str(zhang_row[-1].value)) == Decimal("40.00")
    assert rows["李四"][6].value is None  # unpaid
    total_row = next(r for r in register.iter_rows(min_row=3) if r[0].value == "合计")
    assert Decimal(str(total_row[-1].value)) == Decimal("40.00")
    assert total_row[-1].number_format == "0.00"

    assert table.title == "月交纳党费数额核定表"
    trows = {r[1].value: r for r in table.iter_rows(min_row=3) if r[1].value}
    assert trows["张三"][3].value == "在职"
    assert Decimal(str(trows["张三"][4].value)) == Decimal("4000")
    assert Decimal(str(trows["张三"][5].value)) == Decimal("0.01")
    assert Decimal(str(trows["张三"][6].value)) == Decimal("40")
    assert trows["张三"][6].number_format == "0.00"
    assert trows["李四"][3].value == "离退休"
    assert trows["王书记"][3].value == "未核定"
    assert "赵五" not in trows  # activists pay no fee
    # Money cells are written from Decimal: the XML holds exact decimals.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    values = re.findall(r'<c r="[A-Z]+\d+"[^>]*t="n"[^>]*><v>([^<]*)</v>', xml)
    assert "40" in values
    assert all(re.fullmatch(r"-?\d+(\.\d{1,2})?", v) for v in values), values


async def test_secretary_sets_a_fee_basis_in_chat(fbot: Harness) -> None:
    _branch, sec, zhang, _li = await setup_branch(fbot)
    await sec.send("/fees set")
    listing = await sec.wait_reply()
    assert any("张三" in b and "在职" in b for b in listing.button_texts)
    assert not any("赵五" in b for b in listing.button_texts)
    await sec.press(listing, "张三")
    bases = await sec.wait_reply()
    assert "张三" in bases.text
    # A member cannot use the secretary's buttons.
    await zhang.press_raw(zhang.inbox[-1].message_id, bases.buttons[0][0].callback_data or "")
    assert "只有支部书记" in ((await zhang.wait_callback_answer()).text or "")
    await sec.press(bases, "在职")
    ask = await sec.wait_reply()
    assert "税后月工资" in ask.text
    await sec.send("四千五")
    again = await sec.wait_reply()
    assert "4500.50" in again.text  # the example; the dialog goes on
    await sec.send("4500.50")
    done = await sec.wait_reply()
    assert "张三" in done.text and "¥45.01" in done.text and "2026年3月" in done.text
    await fbot.settled()
    assert await assessments(fbot) == [
        ("张三", "employed", D("40.00")),
        ("李四", "retired", D("60.00")),
        ("张三", "employed", D("45.01")),
    ]
    # Students pay the fixed default at once.
    await sec.send("/fees set")
    listing = await sec.wait_reply()
    await sec.press(listing, "王书记")
    bases = await sec.wait_reply()
    await sec.press(bases, "学生")
    done = await sec.wait_reply()
    assert "¥0.20" in done.text


async def test_roster_fee_columns_good_bad_and_idempotent(fbot: Harness) -> None:
    branch = await fbot.create_branch()
    content = (
        "姓名,身份,telegram_id,党费类别,月收入\n"
        "周一,正式党员,3001,employed,3000\n"
        "吴二,正式党员,3002,retired,5000.01\n"
        "郑三,预备党员,3003,学生,\n"
        "王四,正式党员,3004,固定,100\n"
    )
    result = await fbot.import_roster(branch.join_code, content)
    assert result.created == 4
    assert await assessments(fbot) == [
        ("周一", "employed", D("15.00")),
        ("吴二", "retired", D("50.00")),
        ("郑三", "student", D("0.20")),
        ("王四", "fixed", D("100.00")),
    ]
    again = await fbot.import_roster(branch.join_code, content)
    assert again.created == 0 and again.updated == 0
    assert await fbot.scalar("SELECT count(*) FROM fee_assessments") == 4
    changed = content.replace("employed,3000", "在职,3000.01")
    await fbot.import_roster(branch.join_code, changed)
    assert await fbot.scalar("SELECT count(*) FROM fee_assessments") == 5
    zhou = await started(fbot, 3001, "周一")
    await zhou.send("/fees")
    assert "¥30.00" in (await zhou.wait_reply()).text

    bad = (
        "name,status,fee_basis,monthly_income\n"
        "甲,member,employed,4000\n"
        "乙,member,教师,4000\n"
        "丙,member,employed,4千\n"
        "丁,member,retired,12.345\n"
    )
    with pytest.raises(RosterError) as caught:
        parse_roster(bad.encode(), "roster.csv")
    t = translator("zh_Hans").gettext
    messages = [t(e.msgid).format(line=e.line, **e.params) for e in caught.value.errors]
    assert [e.line for e in caught.value.errors] == [3, 4, 5]
    assert "第 3 行" in messages[0] and "教师" in messages[0]
    assert "第 4 行" in messages[1] and "4千" in messages[1]
    assert "12.345" in messages[2]

    # employed without an income: the line is reported and nothing is imported.
    missing = "name,status,fee_basis\n戊,member,在职\n"
    with pytest.raises(RosterError) as caught:
        await fbot.import_roster(branch.join_code, missing)
    error = caught.value.errors[0]
    assert error.line == 2
    assert "第 2 行" in t(error.msgid).format(line=error.line, **error.params)
    assert await fbot.scalar("SELECT count(*) FROM persons WHERE full_name = '戊'") == 0


async def test_fee_day_extra_renders_amount_and_paid_button(fbot: Harness) -> None:
    _branch, sec, zhang, _li = await setup_branch(fbot)
    assert REMINDER_EXTRAS["fee_day"].count(fee_day_extra) == 1  # once, however many apps
    t = Reader("zh_Hans")
    async with fbot.uow() as svc:
        ids = dict((await svc.session.execute(select(Person.full_name, Person.id))).all())
        extra = await fee_day_extra(svc, ids["张三"], date(2026, 3, 27), t)
        assert extra is not None
        assert extra.lines == ["2026年3月应缴党费：<b>¥40.00</b>"]
        [[paid]] = extra.buttons
        assert paid.text == "✅ 已缴 2026年3月（¥40.00）"
        assert paid.callback_data == f"fee:{ids['张三']}:pay:2026-03"
        assert await fee_day_extra(svc, ids["赵五"], date(2026, 3, 27), t) is None
        li = await fee_day_extra(svc, ids["李四"], date(2026, 3, 27), t)
        assert li is not None and "共欠缴 3 个月，合计 ¥180.00。" in li.lines
        assert [b.text for row in li.buttons for b in row][-1] == "✅ 一次缴清 3 个月（¥180.00）"

    # Paid: the reminder says so and offers no button.
    await zhang.send("/fees")
    view = await zhang.wait_reply()
    await zhang.press(view, "已缴 2026年3月")
    prompt = await zhang.wait_reply()
    await zhang.press(prompt, "直接提交")
    await zhang.wait_reply()
    # A double tap on "submit" does not report twice.
    await zhang.press_raw(prompt.message_id, "fee:0:submit")
    assert "没有待提交" in ((await zhang.wait_callback_answer()).text or "")
    await fbot.settled()
    assert await fbot.scalar("SELECT count(*) FROM fee_submissions") == 1
    # Nor does tapping "Paid" again for a month already reported.
    await zhang.press_raw(view.message_id, view.buttons[0][0].callback_data or "")
    assert "等待支部书记确认" in ((await zhang.wait_callback_answer()).text or "")
    # Someone else's "Paid" button is refused.
    await zhang.press_raw(view.message_id, f"fee:{ids['李四']}:pay:2026-03")
    assert "不是给您的" in ((await zhang.wait_callback_answer()).text or "")
    report = await sec.wait_reply()
    await sec.press(report, "确认")
    await sec.wait_callback_answer()
    await fbot.settled()
    async with fbot.uow() as svc:
        extra = await fee_day_extra(svc, ids["张三"], date(2026, 3, 27), t)
        assert extra is not None and extra.buttons == []
        assert extra.lines == ["您 2026年3月 的党费已缴纳，谢谢！"]


async def test_register_corrections_are_new_rows(fbot: Harness) -> None:
    _branch, sec, zhang, _li = await setup_branch(fbot)
    await zhang.send("/fees")
    view = await zhang.wait_reply()
    await zhang.press(view, "已缴 2026年3月")
    prompt = await zhang.wait_reply()
    await zhang.press(prompt, "直接提交")
    await zhang.wait_reply()
    report = await sec.wait_reply()
    await sec.press(report, "确认")
    await sec.wait_callback_answer()
    await fbot.settled()
    async with fbot.uow() as svc:
        sec_account = await get_account(svc.session, 1001)
        member_account = await get_account(svc.session, 2001)
        assert sec_account is not None and member_account is not None
        secretary = await svc.membership.viewer_for(sec_account)
        member = await svc.membership.viewer_for(member_account)
        entry = (await svc.session.scalars(select(FeeRegisterEntry))).one()
        with pytest.raises(NotAllowed):
            await svc.fees.correct(member, entry.id, D("45.00"), "")
        correction = await svc.fees.correct(secretary, entry.id, D("45.00"), "多缴 5 元")
        assert correction.corrects_id == entry.id and correction.amount == D("5.00")
    async with fbot.uow() as svc:
        rows = (
            await svc.session.execute(
                select(FeeRegisterEntry.amount, FeeRegisterEntry.corrects_id).order_by(
                    FeeRegisterEntry.id
                )
            )
        ).all()
        assert [(a, c) for a, c in rows] == [(D("40.00"), None), (D("5.00"), entry.id)]
        march = (await svc.fees.member_fees(entry.person_id)).state(Month(2026, 3))
        assert march is not None and march.paid == D("45.00")
