"""Hostile and careless input end to end (issue #17): what an adversary or a careless
user types must not break an export, a chart, a delivery, a review rule or other
users' service. Each test failed before the fix."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.flood import FloodThrottle
from bot.settings import Settings
from domain.clock import FrozenClock
from domain.fee_rules import Month
from emulator import EmulatedUser
from emulator.models import RateLimits
from handlers.fees import send_fee_day_notice
from scheduler.deliveries import deliver_due
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

pytestmark = pytest.mark.e2e

POINTS_DAY = datetime(2026, 5, 15, 2, 0, tzinfo=UTC)  # Q2, 10:00 in Beijing
REPORTS_DAY = datetime(2026, 8, 15, 2, 0, tzinfo=UTC)
FEE_DAY = datetime(2026, 3, 27, 2, 0, tzinfo=UTC)  # the fourth Friday of March

BELL = "张\x07三"
FORMULA = "=1+2"
MATH = "$x^$"
ROSTER = (
    "name,status,telegram_id\n"
    f"{BELL},正式党员,2001\n"
    f"{FORMULA},预备党员,2002\n"
    f"{MATH},正式党员,2003\n"
    "赵支委,正式党员,2004\n"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
async def pbot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=FrozenClock(POINTS_DAY)) as harness:
        yield harness


@pytest.fixture
async def rbot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, template_db, clock=FrozenClock(REPORTS_DAY)) as harness:
        yield harness


async def execute(bot: Harness, sql: str, **params: object) -> None:
    from sqlalchemy import text

    await bot.settled()
    async with bot.runtime.db.session() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def started(bot: Harness, uid: int, name: str) -> EmulatedUser:
    user = bot.user(uid, name)
    await user.send("/start")
    await user.wait_reply()
    return user


async def hostile_branch(bot: Harness) -> dict[str, EmulatedUser]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    await execute(
        bot,
        "UPDATE memberships SET role = 'committee', can_review = true WHERE person_id = "
        "(SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 2004)",
    )
    return {
        "sec": await started(bot, 1001, "王书记"),
        "bell": await started(bot, 2001, "张三"),
        "formula": await started(bot, 2002, "Mallory"),
        "math": await started(bot, 2003, "$x^$"),
        "zhao": await started(bot, 2004, "赵支委"),
    }


async def person_id(bot: Harness, telegram_id: int) -> int:
    pid = await bot.scalar(
        "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=telegram_id
    )
    return int(pid)


async def grant(bot: Harness, telegram_id: int, key: str, ref: str) -> None:
    pid = await person_id(bot, telegram_id)
    async with bot.uow() as svc:
        await svc.points.grant_system(
            pid, key, occurred_on=date(2026, 5, 1), source="test", source_ref=ref
        )


def cells(data: bytes) -> list[object]:
    wb = load_workbook(io.BytesIO(data))
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                    found.append(c.value)
    return found


async def claim(u: EmulatedUser, description: str, evidence: bytes = PNG) -> str:
    await u.send("/claim")
    await u.press(await u.wait_reply(), "政治学习")
    await u.press(await u.wait_reply(), "讲授党课")
    await u.press(await u.wait_reply(), "今天")
    assert "简要说明" in (await u.wait_reply()).text
    await u.send(description)
    assert "佐证材料" in (await u.wait_reply()).text
    await u.send_photo(evidence)
    confirm = await u.wait_reply()
    await u.press(confirm, "提交")
    return (await u.wait_reply()).text or ""


# -- spreadsheets and ZIPs -------------------------------------------------------------
async def test_points_export_with_control_characters_and_formulas(pbot: Harness) -> None:
    users = await hostile_branch(pbot)
    await grant(pbot, 2001, "ex_honour_city", "1")
    await grant(pbot, 2002, "disc_fee_late", "2")
    await users["sec"].send("/export points 2026Q2")
    doc = await users["sec"].wait_reply()
    assert doc.document is not None, doc.text  # was: 系统出了点问题 (IllegalCharacterError)
    values = cells(doc.document[2])
    assert "张三" in values and BELL not in values
    assert "'" + FORMULA in values and FORMULA not in values  # text, never a live formula


async def test_a_claim_text_formula_is_text_in_the_ledger(pbot: Harness) -> None:
    users = await hostile_branch(pbot)
    receipt = await claim(users["math"], '=HYPERLINK("http://evil.example","点我")')
    assert "申报已提交" in receipt
    review = await users["sec"].wait_reply()
    await users["sec"].press(review, "批准")
    await users["sec"].wait_callback_answer()
    await users["sec"].send("/export points 2026Q2")
    doc = await users["sec"].wait_reply()
    assert doc.document is not None
    values = cells(doc.document[2])
    assert not any(str(v).startswith("=") for v in values)


async def test_reports_export_with_a_nul_file_name_and_a_control_character(
    rbot: Harness,
) -> None:
    users = await hostile_branch(rbot)
    formula = users["formula"]
    await formula.send("/report")
    await formula.wait_reply()
    await formula.send_document(PDF, "汇报\x00=1.pdf", "application/pdf", caption="=2+2")
    assert "已提交" in (await formula.wait_reply()).text
    await users["sec"].wait_reply()  # the report, for review
    await users["sec"].send("/export reports 2026Q3")
    doc = await users["sec"].wait_reply()
    assert doc.document is not None, doc.text
    with zipfile.ZipFile(io.BytesIO(doc.document[2])) as zf:
        names = zf.namelist()
        index = zf.read("index.xlsx")
        assert all("\x00" not in n and "\x07" not in n for n in names)
        assert "files/000001_=1+2_2026Q3.pdf" in names, names
    values = cells(index)
    assert "汇报=1.pdf" in values and "'" + FORMULA in values


async def test_ranking_with_a_mathtext_name(pbot: Harness) -> None:
    users = await hostile_branch(pbot)
    await grant(pbot, 2003, "ex_honour_city", "1")
    await users["sec"].send("/ranking")
    published = await users["sec"].wait_reply()
    assert "公示" in published.text, published.text  # was: 系统出了点问题 (mathtext)
    photo, listing = await users["math"].wait_replies(2)
    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
    assert "$x^$" in listing.text


# -- texts over Telegram's limits (UTF-16) ------------------------------------------------
async def test_emoji_evidence_caption_reaches_the_reviewer_whole(pbot: Harness) -> None:
    users = await hostile_branch(pbot)
    description = "讲党课&" + "🚩" * 480  # 490 characters, ~970 UTF-16 units: no caption fits
    receipt = await claim(users["bell"], description, evidence=PNG)
    assert "申报已提交" in receipt
    sec = users["sec"]
    photo, whole = await sec.wait_replies(2)  # was: refused ("caption is too long"), nothing
    assert photo.photo is not None and photo.text.endswith("…") and photo.buttons == []
    assert "🚩" * 480 in whole.text and "讲党课&" in whole.text
    await sec.press(whole, "批准")
    assert (await sec.wait_callback_answer()).text == "已批准。"
    await pbot.settled()
    assert await pbot.scalar("SELECT count(*) FROM point_ledger WHERE claim_id IS NOT NULL") == 1


async def test_long_emoji_text_report_and_note_reach_the_secretary(rbot: Harness) -> None:
    users = await hostile_branch(rbot)
    formula, sec = users["formula"], users["sec"]
    await formula.send("/report")
    await formula.wait_reply()
    part = "🌟" * 2000  # 4000 UTF-16 units: one Telegram message each
    for _ in range(2):
        await formula.send(part)
        last = await formula.wait_reply()
    await formula.press(last, "提交")
    await formula.wait_callback_answer()
    assert "已通知支部书记" in (await formula.wait_reply()).text
    shown = await sec.wait_replies(3)  # 4000 stars: three messages within 4096 units
    assert "".join(m.text or "" for m in shown).count("🌟") == 4000
    assert shown[-1].button_texts and not shown[0].buttons

    await formula.send("/report")
    await formula.wait_reply()
    note = "请审阅&<b>" + "😀" * 505  # a caption Telegram took (≤ 1024): ours adds a header
    await formula.send_photo(PNG, caption=note)
    await formula.wait_reply()
    photo, whole = await sec.wait_replies(2)  # was: refused, the secretary got nothing
    assert photo.photo is not None and photo.text.endswith("…")
    assert "请审阅&<b>" + "😀" * 505 in whole.text and whole.button_texts


# -- nobody reviews their own case -------------------------------------------------------
async def test_a_reviewer_cannot_acknowledge_or_comment_on_their_own_report(
    rbot: Harness,
) -> None:
    users = await hostile_branch(rbot)
    zhao = users["zhao"]  # a committee member with review rights
    await zhao.send("/report")
    await zhao.wait_reply()
    await zhao.send("自愿提交的思想汇报")
    part = await zhao.wait_reply()
    await zhao.press(part, "提交")
    await zhao.wait_callback_answer()
    await zhao.wait_reply()
    assert "赵支委" in (await users["sec"].wait_reply()).text
    await zhao.expect_no_reply(0.1)  # not sent to its author for review
    rid = await rbot.scalar("SELECT id FROM thought_reports")
    for action in ("ack", "comment"):
        await zhao.press_raw(part.message_id, f"rp:{rid}:{action}")
        answer = await zhao.wait_callback_answer()
        assert answer.text == "您不能审核自己提交的内容，将由其他审核人处理。"
    await rbot.settled()
    assert await rbot.scalar("SELECT acknowledged_at FROM thought_reports") is None
    assert await rbot.scalar("SELECT count(*) FROM dialog_states") == 0
    denied = "SELECT count(*) FROM audit_log WHERE action = 'review.self_denied'"
    assert await rbot.scalar(denied) == 2


async def test_a_reviewer_cannot_confirm_their_own_fee_payment(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    async with running_bot(tmp_path, template_db, clock=FrozenClock(FEE_DAY)) as bot:
        branch = await bot.create_branch()
        await bot.import_roster(
            branch.join_code,
            "name,status,telegram_id,joined_on,fee_basis,monthly_income\n"
            "赵支委,正式党员,2004,2001-07-01,在职,4000\n",
        )
        await execute(
            bot,
            "UPDATE memberships SET role = 'committee', can_review = true WHERE person_id = "
            "(SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 2004)",
        )
        sec = await started(bot, 1001, "王书记")
        zhao = await started(bot, 2004, "赵支委")
        await send_fee_day_notice(bot.app, branch.id, Month(2026, 3))
        notice = await zhao.wait_reply()
        await sec.wait_reply()
        await zhao.press(notice, "已缴")
        await zhao.wait_reply()
        await zhao.send_photo(PNG)
        ack = await zhao.wait_reply()
        assert "已报告" in ack.text
        review = await sec.wait_reply()
        await zhao.expect_no_reply(0.1)  # the review goes to the others only
        sid = await bot.scalar("SELECT id FROM fee_submissions")
        for action in ("ok", "ask"):
            await zhao.press_raw(ack.message_id, f"fee:{sid}:{action}")
            answer = await zhao.wait_callback_answer()
            assert answer.text == "您不能审核自己提交的内容，将由其他审核人处理。"
        await bot.settled()
        assert await bot.scalar("SELECT count(*) FROM fee_register") == 0
        assert await bot.scalar("SELECT status FROM fee_submissions") == "pending"
        await sec.press(review, "确认")
        assert (await sec.wait_callback_answer()).text == "已确认。"


# -- quota -------------------------------------------------------------------------------
async def test_report_uploads_have_a_per_member_quota(rbot: Harness) -> None:
    users = await hostile_branch(rbot)
    formula = users["formula"]
    quota = rbot.settings.report_quota
    for n in range(quota + 1):
        await formula.send("/report")
        await formula.wait_reply()
        await formula.send_document(PDF, f"汇报{n}.pdf", "application/pdf")
        answer = await formula.wait_reply()
    assert f"已提交{quota}份汇报，已达每人上限" in answer.text
    await rbot.settled()
    assert await rbot.scalar("SELECT count(*) FROM thought_reports") == quota
    downloads = [c for c in rbot.emu.calls("getFile")]
    assert len(downloads) == quota  # the refused one was not even downloaded


# -- flood -------------------------------------------------------------------------------
async def test_a_flood_from_one_user_does_not_hold_up_the_others(pbot: Harness) -> None:
    users = await hostile_branch(pbot)
    defaults = Settings.model_fields
    burst = int(defaults["flood_burst"].default)
    throttle: FloodThrottle = pbot.app.bot_data["flood"]
    throttle.reset(burst, float(defaults["flood_period"].default))  # tests turn it off
    pbot.emu.rate_limits = RateLimits()  # Telegram's pace: about 1 message a second a chat
    flooder, sec = users["bell"], users["sec"]
    flooder.skip_pending()
    for n in range(300):
        await flooder.send(f"刷屏 {n}")
    await sec.send("/start")
    menu = await sec.wait_reply(timeout=15)  # was: after every one of the 300 (minutes)
    assert menu.text.startswith("支部助手")
    await pbot.settled()
    # The replies Telegram refused to the flooder (over its pace) wait in the delivery
    # queue instead of holding everyone up; they go out later, the notice among them.
    pbot.emu.rate_limits = None
    clock = pbot.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(minutes=5))
    await deliver_due(pbot.app)
    notices = [m for m in flooder.inbox if "发送消息太快" in (m.text or "")]
    assert len(notices) == 1
    assert await pbot.scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'") == 0
    handled = await pbot.scalar("SELECT count(*) FROM processed_updates")
    assert throttle.dropped >= 250
    assert handled <= 20 + burst + 5  # set-up updates + the admitted part of the flood


async def test_the_member_is_told_when_no_reviewer_could_be_reached(pbot: Harness) -> None:
    users = await hostile_branch(pbot)
    for reviewer in (users["sec"], users["zhao"]):
        reviewer.block()
    receipt = await claim(users["bell"], "讲授微党课")
    assert "申报已提交" in receipt
    correction = await users["bell"].wait_reply()  # was: only "I will tell you the decision"
    assert "未能转交给任何审核人" in correction.text
    await pbot.settled()
    assert await pbot.scalar("SELECT status FROM point_claims") == "pending"  # kept


async def test_fee_export_with_hostile_names(tmp_path: Path, template_db: TemplateDatabase) -> None:
    async with running_bot(tmp_path, template_db, clock=FrozenClock(FEE_DAY)) as bot:
        branch = await bot.create_branch()
        await bot.import_roster(
            branch.join_code,
            "name,status,telegram_id,joined_on,fee_basis,monthly_income\n"
            f"{BELL},正式党员,2001,2001-07-01,在职,4000\n"
            f"{FORMULA},正式党员,2002,2001-07-01,在职,6000\n",
        )
        sec = await started(bot, 1001, "王书记")
        await sec.send("/export fees 2026")
        doc = await sec.wait_reply()
        assert doc.document is not None, doc.text  # was: 系统出了点问题
        values = cells(doc.document[2])
        assert "张三" in values and "'" + FORMULA in values
