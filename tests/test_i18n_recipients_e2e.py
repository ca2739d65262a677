"""Every message to another person is in the recipient's language (issue #16).

Each notice kind runs with a sender and a recipient of different languages — zh_Hans,
zh_Hant and en in every pairing (and the same language, as a control) — in one world
per kind (the languages are switched between rounds, as ``/lang`` would), and the
recipient's message is checked by the script checker (tests/script_check.py): no text
of the wrong script or language, with the item names, indicators, blocks and dates of
the recipient. The kinds are those registered in tests/test_i18n_paths.py
(``COVERED``): a kind without a case here fails ``test_every_covered_kind_has_a_case``.

People's and the branch's names are data, not translation: they are chosen from
characters written alike in both scripts and allowed, by name, in English.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from domain.clock import FrozenClock
from domain.fee_rules import Month
from domain.pipeline_rules import STEPS
from emulator import BotMessage, EmulatedUser
from handlers.appraisal import run_reminders
from handlers.fees import check_arrears, send_fee_day_notice
from handlers.meetings_jobs import run_notices, run_overdue
from handlers.pipeline import _remind_branch
from handlers.points_ranking import run_quarter_close
from handlers.points_review import run_overdue_digest
from handlers.talks import run_talk_tasks
from locales.i18n import EN, SUPPORTED_LOCALES, ZH_HANS, ZH_HANT
from scheduler.deliveries import drain
from scheduler.dispatcher import dispatch_due
from store.models.pipeline import PipelineCase, PipelineStep
from store.models.points import PointBlock, PointItem
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot
from tests.quiz_helpers import item_of
from tests.script_check import assert_script
from tests.test_i18n_paths import COVERED

pytestmark = pytest.mark.e2e

#: Every (sender, recipient) pairing of the three languages.
PAIRINGS: list[tuple[str, str]] = list(itertools.product(SUPPORTED_LOCALES, repeat=2))
BRANCH = "第一支部"
SECRETARY = "王明"
#: Names written alike in simplified and traditional script (data, not translation).
MEMBERS = [(2000 + n, name) for n, name in enumerate(
    ["李山", "朱文", "田中", "石正", "白云", "王平", "古月", "丁一", "方正", "江山"], start=1
)]  # fmt: skip
NEWCOMER = "高山"
NAMES = [BRANCH, SECRETARY, NEWCOMER, *(name for _tid, name in MEMBERS), "中心", "第二支部"]
LANGUAGE_CODE = {ZH_HANS: "zh-hans", ZH_HANT: "zh-hant", EN: "en"}
# 2026-05-15 10:00 in Beijing: the second quarter, claims for May are open.
NOW = datetime(2026, 5, 15, 2, 0, tzinfo=UTC)

CASES: dict[str, Callable[[Harness], Awaitable[None]]] = {}


def case(*kinds: str) -> Callable[[Callable[[Harness], Awaitable[None]]], Callable[..., object]]:
    def register(fn: Callable[[Harness], Awaitable[None]]) -> Callable[..., object]:
        for kind in kinds:
            CASES[kind] = fn
        return fn

    return register


@pytest.fixture
async def world(
    tmp_path: Path, template_db: TemplateDatabase, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    monkeypatch.setenv("BRANCHBOT_REMINDER_TICK_SECONDS", "0")  # reminders when asked
    async with running_bot(tmp_path, template_db, clock=FrozenClock(NOW)) as harness:
        branch = await harness.create_branch(BRANCH, secretary_name=SECRETARY)
        roster = "name,status,telegram_id,joined_on,fee_basis,monthly_income\n" + "".join(
            f"{name},正式党员,{tid},2026-01-15,在职,4000\n" for tid, name in MEMBERS
        )
        await harness.import_roster(branch.join_code, roster)
        for tid, name in [(1001, SECRETARY), *MEMBERS]:
            user = harness.user(tid, name)
            await user.send("/start")
            await user.wait_reply()
        harness.join_code = branch.join_code  # type: ignore[attr-defined]
        harness.branch_id = branch.id  # type: ignore[attr-defined]
        yield harness


async def set_locale(bot: Harness, telegram_id: int, locale: str) -> None:
    """What /lang stores; the next update and every message to this user use it."""
    await bot.settled()
    async with bot.runtime.db.session() as session:
        await session.execute(
            text("UPDATE telegram_accounts SET locale = :l WHERE telegram_user_id = :t"),
            {"l": locale, "t": telegram_id},
        )
        await session.commit()


def check(msg: BotMessage, locale: str, where: str) -> None:
    assert_script(msg.text or "", locale, NAMES, where)
    for row in msg.buttons:
        for b in row:
            assert_script(b.text, locale, NAMES, f"{where} (button)")


async def claim(bot: Harness, member: EmulatedUser, item_id: int, day: date) -> None:
    """The /claim dialog by its buttons' data (the member's language does not matter)."""
    indicator = await bot.scalar("SELECT indicator FROM point_items WHERE id = :i", i=item_id)
    await member.send("/claim")
    msg = await member.wait_reply()
    await member.press_raw(msg.message_id, f"pt:0:ind:{indicator}")
    msg = await member.wait_reply()
    await member.press_raw(msg.message_id, f"pt:{item_id}:item")
    await member.wait_reply()
    await member.send(day.isoformat())
    await member.wait_reply()
    await member.send("2026")
    confirm = await member.wait_reply()
    await member.press_raw(confirm.message_id, "pt:0:ok")
    await member.wait_reply()  # the receipt, to the member


async def plain_items(bot: Harness, count: int) -> list[tuple[int, dict[str, str]]]:
    """Items a member may claim without evidence, with their names by language."""
    async with bot.uow() as svc:
        rows = (
            await svc.session.execute(
                select(PointItem)
                .where(
                    PointItem.evidence_required.is_(False),
                    PointItem.retired_at.is_(None),
                    PointItem.block != PointBlock.BASE,
                )
                .order_by(PointItem.id)
            )
        ).scalars()
        items = [(item.id, dict(item.names)) for item in rows]
    assert len(items) >= count
    return items[:count]


@case("claim.review", "claim.decision", "points.revoke")
async def points_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    items = await plain_items(bot, 2)
    member_id, _name = MEMBERS[0]
    member = bot.user(member_id, _name)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        where = f"{sender} → {recipient}"
        # claim.review: the member (sender) declares, the secretary (recipient) reviews.
        await set_locale(bot, member_id, sender)
        await set_locale(bot, 1001, recipient)
        for step, (item_id, names) in enumerate(items):
            await claim(bot, member, item_id, date(2026, 5, 1 + index))
            review = await sec.wait_reply()
            check(review, recipient, f"claim.review {where}")
            assert names[recipient] in (review.text or ""), (where, review.text)
            # claim.decision: the secretary (sender) decides, the member (recipient) reads.
            await set_locale(bot, 1001, sender)
            await set_locale(bot, member_id, recipient)
            claim_id = int(review.buttons[0][0].callback_data.split(":")[1])  # type: ignore[union-attr]
            if step == 0:
                await sec.press_raw(review.message_id, f"pt:{claim_id}:ap")
                await sec.wait_callback_answer()
            else:
                await sec.press_raw(review.message_id, f"pt:{claim_id}:rj")
                await sec.wait_callback_answer()
                await sec.wait_reply()  # asks for the reason
                await sec.send("2026")
                await sec.wait_reply()
            notice = await member.wait_reply()
            check(notice, recipient, f"claim.decision {where}")
            assert names[recipient] in (notice.text or ""), (where, notice.text)
            if step == 0:
                # points.revoke: the secretary revokes the approval.
                await sec.send(f"/revoke {claim_id}")
                await sec.wait_reply()
                await sec.send("2026")
                await sec.wait_reply()
                revoked = await member.wait_reply()
                check(revoked, recipient, f"points.revoke {where}")
                assert names[recipient] in (revoked.text or ""), (where, revoked.text)
            await set_locale(bot, member_id, sender)
            await set_locale(bot, 1001, recipient)


@case("points.ranking")
async def ranking_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    members = [bot.user(tid, name) for tid, name in MEMBERS[:3]]
    for sender, recipient in PAIRINGS:
        await set_locale(bot, 1001, sender)
        for m in members:
            await set_locale(bot, m.id, recipient)
        await sec.send("/ranking")
        await sec.wait_replies(3)  # photo, text (the secretary is ranked too), the answer
        for m in members:
            photo, ranking = await m.wait_replies(2)
            assert photo.photo is not None
            check(photo, recipient, f"ranking caption {sender} → {recipient}")
            check(ranking, recipient, f"ranking {sender} → {recipient}")


@case("points.digest")
async def digest_case(bot: Harness) -> None:
    """A periodic notice has no sender: only the recipient's language matters."""
    member_id, name = MEMBERS[1]
    member, sec = bot.user(member_id, name), bot.user(1001, SECRETARY)
    items = await plain_items(bot, 1)
    await claim(bot, member, items[0][0], date(2026, 5, 2))
    await sec.wait_reply()
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    for day, recipient in enumerate(SUPPORTED_LOCALES):
        await set_locale(bot, 1001, recipient)
        clock.set(datetime(2026, 5, 20 + day, 2, 0, tzinfo=UTC))
        await run_overdue_digest(bot.app)
        check(await sec.wait_reply(), recipient, f"overdue digest → {recipient}")


@case("points.close")
async def close_case(bot: Harness) -> None:
    """The quarter close: the secretary's report and a low scorer's notice, each in its
    reader's language (queued in the deliveries outbox, sent by the drain)."""
    sec = bot.user(1001, SECRETARY)
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    quarters = [(date(2026, 4, 2), datetime(2026, 7, 11, 2, 0, tzinfo=UTC)),
                (date(2026, 7, 2), datetime(2026, 10, 11, 2, 0, tzinfo=UTC)),
                (date(2026, 10, 2), datetime(2027, 1, 11, 2, 0, tzinfo=UTC))]  # fmt: skip
    for index, recipient in enumerate(SUPPORTED_LOCALES):
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        await set_locale(bot, 1001, recipient)
        await set_locale(bot, tid, recipient)
        pid = int(
            await bot.scalar(
                "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=tid
            )
        )
        day, close_at = quarters[index]
        clock.set(datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2))
        async with bot.uow() as svc:
            for n in range(2):  # -20 twice: 40, below 60
                await svc.points.grant_system(
                    pid,
                    "disc_sanctioned",
                    occurred_on=day + timedelta(days=n),
                    source="test",
                    source_ref=f"close-{index}-{n}",
                )
        clock.set(close_at)
        await run_quarter_close(bot.app)
        await drain(bot.app)
        report = await sec.wait_reply()
        assert name in (report.text or ""), report.text
        check(report, recipient, f"quarter close report → {recipient}")
        check(await member.wait_reply(), recipient, f"low-score notice → {recipient}")


@case("join.request", "join.decision")
async def join_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    code = bot.join_code  # type: ignore[attr-defined]
    for index, (sender, recipient) in enumerate(PAIRINGS):
        # join.request: a newcomer (sender, by Telegram's language) asks, the secretary reads.
        await set_locale(bot, 1001, recipient)
        newcomer = bot.user(3000 + index, NEWCOMER, language_code=LANGUAGE_CODE[sender])
        await newcomer.send(f"/start {code}")
        await newcomer.wait_reply()
        request = await sec.wait_reply()
        check(request, recipient, f"join.request {sender} → {recipient}")
        # join.decision: the secretary (sender) approves, the newcomer (recipient) reads.
        await set_locale(bot, 1001, sender)
        await set_locale(bot, newcomer.id, recipient)
        data = request.buttons[0][0].callback_data or ""
        await sec.press_raw(request.message_id, data if index % 2 == 0 else _reject(data))
        await sec.wait_callback_answer()
        check(await newcomer.wait_reply(), recipient, f"join.decision {sender} → {recipient}")


def _reject(approve: str) -> str:
    prefix, request_id, *_rest = approve.split(":")
    return f"{prefix}:{request_id}:no"


@case("membership.transfer")
async def transfer_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        tid, name = MEMBERS[index]
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        person = await bot.scalar(
            "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=tid
        )
        await sec.send("/transfer")
        view = await sec.wait_reply()
        await sec.press_raw(view.message_id, f"mb:{person}:tro")
        await sec.wait_callback_answer()
        check(await bot.user(tid, name).wait_reply(), recipient, f"transfer {sender} → {recipient}")


async def person_of(bot: Harness, telegram_id: int) -> int:
    return int(
        await bot.scalar(
            "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=telegram_id
        )
    )


@case("fees.nudge", "fees.submission", "fees.decision")
async def fees_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        where = f"{sender} → {recipient}"
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        person = await person_of(bot, tid)
        # fees.nudge: the secretary (sender) reminds one member (recipient).
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        await sec.send("/fees")
        summary = await sec.wait_reply()
        await sec.press_raw(summary.message_id, f"fee:{person}:remind")
        await sec.wait_callback_answer()
        nudge = await member.wait_reply()
        check(nudge, recipient, f"fees.nudge {where}")
        # fees.submission: the member (sender) reports a payment, the secretary reads it.
        await set_locale(bot, tid, sender)
        await set_locale(bot, 1001, recipient)
        pay = nudge.buttons[0][0].callback_data or ""
        await member.press_raw(nudge.message_id, pay)
        prompt = await member.wait_reply()
        await member.press_raw(prompt.message_id, "fee:0:submit")
        await member.wait_reply()
        report = await sec.wait_reply()
        check(report, recipient, f"fees.submission {where}")
        # fees.decision: the secretary (sender) confirms or queries; the member reads.
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        submission = (report.buttons[0][0].callback_data or "").split(":")[1]
        if index % 2 == 0:
            await sec.press_raw(report.message_id, f"fee:{submission}:ok")
            await sec.wait_callback_answer()
        else:
            await sec.press_raw(report.message_id, f"fee:{submission}:ask")
            await sec.wait_callback_answer()
            await sec.wait_reply()
            await sec.send("2026")
            await sec.wait_reply()
        check(await member.wait_reply(), recipient, f"fees.decision {where}")


@case("fees.day", "fees.arrears")
async def fee_tasks_case(bot: Harness) -> None:
    """Periodic notices: no sender, each recipient in their own language."""
    people = [bot.user(tid, name) for tid, name in MEMBERS[: len(SUPPORTED_LOCALES)]]
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        await set_locale(bot, member.id, locale)
    await send_fee_day_notice(bot.app, bot.branch_id, Month(2026, 5))  # type: ignore[attr-defined]
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        check(await member.wait_reply(), locale, f"fees.day → {locale}")
    # Two committee members review too: one alert reaches three languages.
    await bot.settled()
    async with bot.runtime.db.session() as session:
        for tid, _name in MEMBERS[:2]:
            await session.execute(
                text(
                    "UPDATE memberships SET role = 'committee', can_review = true WHERE "
                    "person_id = (SELECT person_id FROM telegram_accounts "
                    "WHERE telegram_user_id = :t)"
                ),
                {"t": tid},
            )
        await session.commit()
    reviewers = [bot.user(1001, SECRETARY), *people[:2]]
    for reviewer, locale in zip(reviewers, SUPPORTED_LOCALES, strict=True):
        await set_locale(bot, reviewer.id, locale)
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.set(datetime(2026, 9, 5, 2, 0, tzinfo=UTC))  # May to August unpaid
    before = {r.id: len(r.inbox) for r in reviewers}
    assert await check_arrears(bot.app) > 0
    for reviewer, locale in zip(reviewers, SUPPORTED_LOCALES, strict=True):
        alerts = reviewer.inbox[before[reviewer.id] :]
        assert alerts, f"no arrears alert for {locale}"
        for alert in alerts:
            check(alert, locale, f"fees.arrears → {locale}")


@case("reports.review", "reports.feedback", "reports.nudge")
async def reports_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        where = f"{sender} → {recipient}"
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        # reports.review: the member (sender) hands in, the secretary (recipient) reads.
        await set_locale(bot, tid, sender)
        await set_locale(bot, 1001, recipient)
        await member.send("/report")
        await member.wait_reply()
        await member.send("2026")
        part = await member.wait_reply()
        await member.press_raw(part.message_id, "rp:0:submit")
        await member.wait_callback_answer()
        await member.wait_reply()
        shown = await sec.wait_reply()
        check(shown, recipient, f"reports.review {where}")
        # reports.feedback: the secretary (sender) acknowledges and comments.
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        report_id = (shown.buttons[0][0].callback_data or "").split(":")[1]
        await sec.press_raw(shown.message_id, f"rp:{report_id}:ack")
        await sec.wait_callback_answer()
        check(await member.wait_reply(), recipient, f"reports.feedback (read) {where}")
        await sec.press_raw(shown.message_id, f"rp:{report_id}:comment")
        await sec.wait_callback_answer()
        await sec.wait_reply()
        await sec.send("2026")
        await sec.wait_reply()
        check(await member.wait_reply(), recipient, f"reports.feedback (comment) {where}")
    # reports.nudge: one probationary member owes the quarter's report; a day each round.
    tid, name = MEMBERS[-1]
    owing = bot.user(tid, name)
    await bot.settled()
    async with bot.runtime.db.session() as session:
        await session.execute(
            text(
                "UPDATE persons SET status = 'probationary' WHERE id = "
                "(SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t)"
            ),
            {"t": tid},
        )
        await session.commit()
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        clock.set(datetime(2026, 5, 16 + index, 2, 0, tzinfo=UTC))
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        await sec.send("/reports")
        view = await sec.wait_reply()
        branch_id = bot.branch_id  # type: ignore[attr-defined]
        await sec.press_raw(view.message_id, f"rp:{branch_id}:nudge:2026Q2")
        await sec.wait_callback_answer()
        check(await owing.wait_reply(), recipient, f"reports.nudge {sender} → {recipient}")


async def set_status(bot: Harness, telegram_id: int, status: str) -> None:
    await bot.settled()
    async with bot.runtime.db.session() as session:
        await session.execute(
            text(
                "UPDATE persons SET status = :s WHERE id = "
                "(SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t)"
            ),
            {"s": status, "t": telegram_id},
        )
        await session.commit()


@case("quiz.invitation", "quiz.result")
async def exam_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        where = f"{sender} → {recipient}"
        tid, name = MEMBERS[index]
        examinee = bot.user(tid, name)
        await set_status(bot, tid, "activist")  # the only one the exam is for
        # quiz.invitation: the secretary (sender) schedules, the activist (recipient) reads.
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        await sec.send("/exam")
        menu = await sec.wait_reply()
        await sec.press_raw(menu.message_id, "ex:0:new")
        await sec.wait_callback_answer()
        await sec.wait_reply()
        for answer in ("2026", "1", "10", "2026-05-15 2026-05-20"):
            await sec.send(answer)
            step = await sec.wait_reply()
        await sec.press_raw(step.message_id, "ex:0:pass:80")
        await sec.wait_callback_answer()
        step = await sec.wait_reply()
        await sec.press_raw(step.message_id, "ex:0:aud:activists")
        await sec.wait_callback_answer()
        await sec.wait_reply()
        invite = await examinee.wait_reply()
        check(invite, recipient, f"quiz.invitation {where}")
        # quiz.result: the activist (sender) answers, the secretary (recipient) reads.
        await set_locale(bot, tid, sender)
        await set_locale(bot, 1001, recipient)
        await examinee.press_raw(invite.message_id, invite.buttons[0][0].callback_data or "")
        await examinee.wait_callback_answer()
        question = await examinee.wait_reply()
        item_id, kind, right = await item_of(bot, question)
        if kind == "multiple":
            await examinee.press_raw(question.message_id, f"ex:{item_id}:tog:{right[0]}")
            await examinee.wait_callback_answer()
            await examinee.press_raw(question.message_id, f"ex:{item_id}:done")
        else:
            await examinee.press_raw(question.message_id, f"ex:{item_id}:pick:{right[0]}")
        await examinee.wait_callback_answer()
        await examinee.wait_reply()  # the examinee's own result
        check(await sec.wait_reply(), recipient, f"quiz.result {where}")
        await set_status(bot, tid, "member")


@case("reminders")
async def reminders_case(bot: Harness) -> None:
    """Reminders (scheduler/dispatcher.py, with the fee-day add-on): no sender."""
    people = [bot.user(tid, name) for tid, name in MEMBERS[: len(SUPPORTED_LOCALES)]]
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        await set_locale(bot, member.id, locale)
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.set(datetime(2026, 5, 21, 10, 0, tzinfo=UTC))  # the eve of the theme and fee days
    report = await dispatch_due(bot.runtime, bot.app, clock.now())
    assert report.sent > 0
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        assert len(member.inbox) >= 3, f"no reminder for {locale}"  # /start, 2 reminders
        for msg in member.inbox[1:]:
            check(msg, locale, f"reminder → {locale}")


# -- the organisation level (党委 over the branch) -------------------------------------------
ORG = "中心"  # written alike in both scripts (data, not translation)
SECOND_BRANCH = "第二支部"
ORG_ADMIN = (3001, "古月")


async def _organisation(bot: Harness, second_branch: bool = False) -> EmulatedUser:
    """The world's branch under an organisation whose administrator has started the bot
    (and, if asked, a second branch with its secretary 1101)."""
    async with bot.uow() as svc:
        org = await svc.organisation.create(ORG, admin_telegram_id=ORG_ADMIN[0])
        await svc.organisation.attach(org.id, bot.join_code)  # type: ignore[attr-defined]
        if second_branch:
            other = await svc.membership.create_branch(
                SECOND_BRANCH, 1101, secretary_name=SECRETARY
            )
            await svc.organisation.attach(org.id, other.join_code)
            bot.second_branch_id = other.id  # type: ignore[attr-defined]
    admin = bot.user(*ORG_ADMIN)
    await admin.send("/start")
    await admin.wait_reply()
    if second_branch:
        receiving = bot.user(1101, SECRETARY)
        await receiving.send("/start")
        await receiving.wait_reply()
    return admin


@case("org.secretary")
async def org_secretary_case(bot: Harness) -> None:
    admin = await _organisation(bot)
    previous = bot.user(1001, SECRETARY)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        await set_locale(bot, ORG_ADMIN[0], sender)
        await set_locale(bot, tid, recipient)
        await set_locale(bot, previous.id, recipient)
        await admin.send(f"/secretary {bot.branch_id} {tid}")  # type: ignore[attr-defined]
        await admin.wait_reply()
        where = f"{sender} → {recipient}"
        check(await member.wait_reply(), recipient, f"org.secretary (new) {where}")
        check(await previous.wait_reply(), recipient, f"org.secretary (old) {where}")
        previous = member


@case("org.transfer")
async def org_transfer_case(bot: Harness) -> None:
    admin = await _organisation(bot, second_branch=True)
    receiving = bot.user(1101, SECRETARY)
    target = bot.second_branch_id  # type: ignore[attr-defined]
    for index, (sender, recipient) in enumerate(PAIRINGS):
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        where = f"{sender} → {recipient}"
        await set_locale(bot, ORG_ADMIN[0], sender)
        await set_locale(bot, 1101, recipient)
        await set_locale(bot, tid, recipient)
        await admin.send(f"/move {tid} {target}")
        await admin.wait_reply()
        ask = await receiving.wait_reply()
        check(ask, recipient, f"org.transfer (request) {where}")
        # The receiving secretary (sender now) takes them in: the member and the
        # administrator read the outcome in their own languages.
        await set_locale(bot, 1101, sender)
        await set_locale(bot, ORG_ADMIN[0], recipient)
        await receiving.press_raw(ask.message_id, ask.buttons[0][0].callback_data or "")
        await receiving.wait_callback_answer()
        check(await member.wait_reply(), recipient, f"org.transfer (member) {where}")
        check(await admin.wait_reply(), recipient, f"org.transfer (admin) {where}")


@case("org.notice")
async def org_notice_case(bot: Harness) -> None:
    admin = await _organisation(bot)
    for index, (sender, recipient) in enumerate(PAIRINGS):
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        member.skip_pending()  # the earlier rounds' notices
        await set_locale(bot, ORG_ADMIN[0], sender)
        await set_locale(bot, tid, recipient)
        await admin.send(f"/notice 2026-06-{index + 1:02d} 15:00")
        await admin.wait_reply()
        await bot.emu.wait_until(
            lambda member=member, index=index: any(
                f"2026-06-{index + 1:02d}" in (m.text or "") for m in member.inbox
            )
        )
        notice = next(m for m in member.inbox if f"2026-06-{index + 1:02d}" in (m.text or ""))
        check(notice, recipient, f"org.notice {sender} → {recipient}")


async def pipeline_file(bot: Harness, telegram_id: int, until: str, done_on: date) -> int:
    """The candidate's file with every procedure before ``until`` recorded on ``done_on``
    (rows written directly: the order and dates are not what this test is about)."""
    person = await person_of(bot, telegram_id)
    async with bot.uow() as svc:
        now = svc.clock.now()
        file = await svc.session.scalar(
            select(PipelineCase).where(PipelineCase.person_id == person)
        )
        if file is None:
            file = PipelineCase(branch_id=bot.branch_id, person_id=person, opened_at=now)  # type: ignore[attr-defined]
            svc.session.add(file)
            await svc.session.flush()
        done = set(
            (
                await svc.session.scalars(
                    select(PipelineStep.code).where(PipelineStep.case_id == file.id)
                )
            ).all()
        )
        for step in STEPS:
            if step.code == until:
                break
            if step.code not in done:
                svc.session.add(
                    PipelineStep(case_id=file.id, code=step.code, done_on=done_on, recorded_at=now)
                )
    return person


@case("pipeline.status", "pipeline.notice", "pipeline.ballot")
async def pipeline_case(bot: Harness) -> None:
    """The secretary (sender) records procedures: the candidate's new status, the public
    notice to the members and the branch meeting's ballots (recipients)."""
    sec = bot.user(1001, SECRETARY)
    member = bot.user(*MEMBERS[-1])  # a full member: reads notices, votes
    host = sec.inbox[-1].message_id
    for index, (sender, recipient) in enumerate(PAIRINGS):
        await set_locale(bot, 1001, sender)
        await set_locale(bot, member.id, recipient)
        tid, name = MEMBERS[index]
        candidate = bot.user(tid, name)
        await set_locale(bot, tid, recipient)
        await set_status(bot, tid, "applicant")
        person = await pipeline_file(bot, tid, "activist", date(2024, 1, 10))
        for user in (sec, member, candidate):
            user.skip_pending()
        # pipeline.status: the committee's decision makes the candidate an activist.
        await sec.press_raw(host, f"pl:{person}:step:activist")
        await sec.wait_callback_answer()
        ask = await sec.wait_reply()
        await sec.press_raw(ask.message_id, f"pl:{person}:rec:activist")
        await sec.wait_callback_answer()
        await sec.wait_replies(2)
        check(await candidate.wait_reply(), recipient, f"pipeline.status {sender} → {recipient}")
        # pipeline.notice: the public notice goes to every member.
        await pipeline_file(bot, tid, "notice", date(2024, 1, 10))
        await sec.press_raw(host, f"pl:{person}:step:notice")
        await sec.wait_callback_answer()
        await sec.wait_replies(2)
        check(await member.wait_reply(), recipient, f"pipeline.notice {sender} → {recipient}")
        await sec.wait_reply()  # the secretary is a member too
        # pipeline.ballot: the branch meeting's vote on admission, to the full members.
        await pipeline_file(bot, tid, "meeting", date(2024, 1, 10))
        await sec.press_raw(host, f"pl:{person}:poll:meeting")
        await sec.wait_callback_answer()
        await sec.wait_replies(2)  # "the vote is open", and the secretary's own ballot
        check(await member.wait_reply(), recipient, f"pipeline.ballot {sender} → {recipient}")
        await bot.settled()
        await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)


@case("pipeline.reminders")
async def pipeline_reminders_case(bot: Harness) -> None:
    """Due procedures and the Monday digest (a periodic task): no sender."""
    sec = bot.user(1001, SECRETARY)
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    branch_id = bot.branch_id  # type: ignore[attr-defined]
    for index, recipient in enumerate(SUPPORTED_LOCALES):
        await set_locale(bot, 1001, recipient)
        tid, _name = MEMBERS[index]
        await set_status(bot, tid, "applicant")
        await pipeline_file(bot, tid, "talk", date(2026, 4, 20))  # the talk by 2026-05-20
        async with bot.runtime.unit_of_work() as svc:
            await _remind_branch(svc, branch_id)
        await drain(bot.app)
        check(await sec.wait_reply(), recipient, f"pipeline reminder → {recipient}")
    for week, recipient in enumerate(SUPPORTED_LOCALES):
        await set_locale(bot, 1001, recipient)
        clock.set(datetime(2026, 5, 18, 2, 0, tzinfo=UTC) + timedelta(weeks=week))  # Mondays
        async with bot.runtime.unit_of_work() as svc:
            await _remind_branch(svc, branch_id)
        await drain(bot.app)
        check(await sec.wait_reply(), recipient, f"pipeline digest → {recipient}")


async def schedule_meeting(bot: Harness, day: str) -> int:
    """The secretary schedules a general meeting titled with the branch's name."""
    sec = bot.user(1001, SECRETARY)
    await sec.send(f"/meeting_new 党员大会 {day} 10:00 {BRANCH}")
    await sec.wait_reply()
    return int(await bot.scalar("SELECT max(id) FROM meetings"))


@case("meetings.notice", "meetings.call_off")
async def meeting_notice_case(bot: Harness) -> None:
    """The notice (periodic, with its buttons) and the call-off: no sender's language."""
    people = [bot.user(tid, name) for tid, name in MEMBERS[: len(SUPPORTED_LOCALES)]]
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        await set_locale(bot, member.id, locale)
    await set_locale(bot, 1001, EN)
    meeting = await schedule_meeting(bot, "2026-05-16")  # due at once: the day before
    assert await run_notices(bot.app) > 0
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        notice = await member.wait_reply()
        assert notice.buttons, "the notice has its buttons"
        check(notice, locale, f"meetings.notice → {locale}")
    sec = bot.user(1001, SECRETARY)
    host = sec.inbox[-1].message_id
    await sec.press_raw(host, f"mt:{meeting}:off")
    await sec.wait_callback_answer()
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        check(await member.wait_reply(), locale, f"meetings.call_off → {locale}")


@case("meetings.leave")
async def meeting_leave_case(bot: Harness) -> None:
    sec = bot.user(1001, SECRETARY)
    meeting = await schedule_meeting(bot, "2026-05-20")
    sec.skip_pending()
    for index, (sender, recipient) in enumerate(PAIRINGS):
        where = f"{sender} → {recipient}"
        tid, name = MEMBERS[index]
        member = bot.user(tid, name)
        # The member (sender) asks for leave; the secretary (recipient) decides.
        await set_locale(bot, tid, sender)
        await set_locale(bot, 1001, recipient)
        await member.press_raw(member.inbox[-1].message_id, f"mt:{meeting}:lv")
        await member.wait_callback_answer()
        await member.wait_reply()
        await member.send("2026")
        await member.wait_reply()
        request = await sec.wait_reply()
        check(request, recipient, f"meetings.leave request {where}")
        # The secretary (sender) approves or refuses; the member (recipient) reads it.
        await set_locale(bot, 1001, sender)
        await set_locale(bot, tid, recipient)
        data = request.buttons[0][index % 2].callback_data or ""
        await sec.press_raw(request.message_id, data)
        await sec.wait_callback_answer()
        await sec.wait_reply()
        check(await member.wait_reply(), recipient, f"meetings.leave decision {where}")


@case("meetings.overdue")
async def meeting_overdue_case(bot: Harness) -> None:
    """The secretary's overdue alerts, one period's worth in each language; and the
    same for the organisation's administrator, in another language each time."""
    sec = bot.user(1001, SECRETARY)
    admin = await _organisation(bot)
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    days = [datetime(2026, 5, 26, 2, 0, tzinfo=UTC), datetime(2026, 6, 25, 2, 0, tzinfo=UTC)]
    days.append(datetime(2026, 7, 27, 2, 0, tzinfo=UTC))
    for index, (locale, when) in enumerate(zip(SUPPORTED_LOCALES, days, strict=True)):
        admin_locale = SUPPORTED_LOCALES[(index + 1) % len(SUPPORTED_LOCALES)]
        await set_locale(bot, 1001, locale)
        await set_locale(bot, ORG_ADMIN[0], admin_locale)
        clock.set(when)
        before, admin_before = len(sec.inbox), len(admin.inbox)
        assert await run_overdue(bot.app) > 0
        for alert in sec.inbox[before:]:
            check(alert, locale, f"meetings.overdue → {locale}")
        assert len(admin.inbox) > admin_before
        for alert in admin.inbox[admin_before:]:
            assert BRANCH in (alert.text or "")
            check(alert, admin_locale, f"meetings.overdue → admin {admin_locale}")


@case("talks.plan")
async def talk_plan_case(bot: Harness) -> None:
    for index, (sender, recipient) in enumerate(PAIRINGS):
        where = f"{sender} → {recipient}"
        (tid, name), (other_tid, other_name) = MEMBERS[index], MEMBERS[(index + 5) % 10]
        member, other = bot.user(tid, name), bot.user(other_tid, other_name)
        await set_locale(bot, tid, sender)
        await set_locale(bot, other_tid, recipient)
        host = member.inbox[-1].message_id
        await member.press_raw(host, "tk:0:plan:0")
        await member.wait_callback_answer()
        await member.wait_reply()
        await member.press_raw(host, f"tk:{await person_of(bot, other_tid)}:pp")
        await member.wait_callback_answer()
        await member.wait_reply()
        await member.send("2026-05-20")
        await member.wait_reply()
        check(await other.wait_reply(), recipient, f"talks.plan {where}")


@case("talks.reminders")
async def talk_reminders_case(bot: Harness) -> None:
    """Planned talks' reminders to both, and the group leaders' quarter alert."""
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    pairs = [(MEMBERS[2 * i], MEMBERS[2 * i + 1]) for i in range(len(SUPPORTED_LOCALES))]
    persons = [(await person_of(bot, a), await person_of(bot, b)) for (a, _), (b, _) in pairs]
    async with bot.uow() as svc:
        for index, (pa, pb) in enumerate(persons):
            await svc.session.execute(
                text(
                    "INSERT INTO talks (branch_id, person_a_id, person_b_id, status, talk_on, "
                    "created_at) VALUES (:br, :a, :b, 'planned', :day, :now)"
                ),
                {"br": bot.branch_id, "a": pa, "b": pb, "day": date(2026, 5, 16), "now": NOW},  # type: ignore[attr-defined]
            )
            group = NAMES[3 + index]
            await svc.session.execute(
                text("UPDATE memberships SET party_group = :g WHERE person_id IN (:a, :b)"),
                {"g": group, "a": pa, "b": pb},
            )
            await svc.session.execute(
                text("INSERT INTO talk_group_leaders (person_id, created_at) VALUES (:a, :now)"),
                {"a": pa, "now": NOW},
            )
    for ((a, _an), (b, _bn)), locale in zip(pairs, SUPPORTED_LOCALES, strict=True):
        await set_locale(bot, a, locale)
        await set_locale(bot, b, locale)
    clock.set(datetime(2026, 5, 16, 1, 0, tzinfo=UTC))
    assert await run_talk_tasks(bot.app) == 2 * len(pairs)
    for ((a, an), (b, bn)), locale in zip(pairs, SUPPORTED_LOCALES, strict=True):
        check(await bot.user(a, an).wait_reply(), locale, f"talks.reminder → {locale}")
        check(await bot.user(b, bn).wait_reply(), locale, f"talks.reminder → {locale}")
    clock.set(datetime(2026, 6, 25, 1, 0, tzinfo=UTC))
    assert await run_talk_tasks(bot.app) == len(pairs)
    for ((a, an), _b), locale in zip(pairs, SUPPORTED_LOCALES, strict=True):
        check(await bot.user(a, an).wait_reply(), locale, f"talks.group_alert → {locale}")


@case("appraisal.publication")
async def appraisal_publication_case(bot: Harness) -> None:
    """The democratic appraisal's publication (公示): a chart and the results."""
    sec = bot.user(1001, SECRETARY)
    members = [bot.user(tid, name) for tid, name in MEMBERS[:3]]
    await sec.send("/appraisal")
    home = await sec.wait_reply()
    await sec.press_raw(home.message_id, "ap:0:open")
    await sec.wait_callback_answer()
    await sec.press_raw(home.message_id, "ap:0:final:yes")  # nothing to decide: final
    await sec.wait_callback_answer()
    for sender, recipient in PAIRINGS:
        await set_locale(bot, 1001, sender)
        for m in members:
            await set_locale(bot, m.id, recipient)
        async with bot.runtime.db.session() as session:  # published once: again each round
            await session.execute(text("UPDATE appraisals SET status = 'final'"))
            await session.commit()
        await sec.press_raw(home.message_id, "ap:0:pub")
        await sec.wait_callback_answer()
        for m in members:
            photo, results = await m.wait_replies(2)
            assert photo.photo is not None
            check(photo, recipient, f"appraisal caption {sender} → {recipient}")
            check(results, recipient, f"appraisal results {sender} → {recipient}")


@case("appraisal.reminder")
async def appraisal_reminder_case(bot: Harness) -> None:
    """Self-assessment reminders (a periodic task): no sender."""
    people = [bot.user(tid, name) for tid, name in MEMBERS[: len(SUPPORTED_LOCALES)]]
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        await set_locale(bot, member.id, locale)
    sec = bot.user(1001, SECRETARY)
    await sec.send("/appraisal")
    home = await sec.wait_reply()
    await sec.press_raw(home.message_id, "ap:0:open")
    await sec.wait_callback_answer()
    await bot.settled()
    clock = bot.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.set(datetime(2026, 12, 26, 2, 0, tzinfo=UTC))  # 6 days before the deadline
    for member in people:
        member.skip_pending()
    await run_reminders(bot.app)
    await drain(bot.app)
    for member, locale in zip(people, SUPPORTED_LOCALES, strict=True):
        reminder = await member.wait_reply()
        assert "/appraisal" in (reminder.text or "")
        check(reminder, locale, f"appraisal.reminder → {locale}")


async def test_every_covered_kind_has_a_case() -> None:
    assert set(CASES) == set(COVERED), (
        "a notice kind registered in tests/test_i18n_paths.py COVERED needs a case here"
    )


@pytest.mark.parametrize("name", sorted({fn.__name__ for fn in CASES.values()}))
async def test_notice_in_the_recipients_language(world: Harness, name: str) -> None:
    fn = next(f for f in CASES.values() if f.__name__ == name)
    await fn(world)
