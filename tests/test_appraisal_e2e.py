"""Democratic appraisal (民主评议党员) end to end over HTTP: a 12-member branch from the
opening to the publication — the secretary's settings and scoring group (with a
non-member representative who joins by code), self-assessments, every peer grade cast
by buttons, a changed vote, a self-vote refused, a voter transferred out, the group's
grades, a vote after the deadline refused, secrecy, the 优秀 cap, the 诫勉 rule, 不合格
confirmed with a reason, the combined score against a hand computation, the
publication through the outbox and the XLSX register read with openpyxl. And the
self-assessment reminders, 7 and 2 days before the deadline, once each."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import text

from domain.clock import FrozenClock
from domain.periods import Quarter
from domain.viewer import Viewer
from emulator import BotMessage, EmulatedUser
from handlers.appraisal import run_reminders
from scheduler.deliveries import drain
from store.models import QuarterScore
from tests.databases import TemplateDatabase
from tests.harness import Harness, lasting_world, running_bot

ROSTER = """name,status,telegram_id
王书记,正式党员,1001
李明,正式党员,1002
陈一,正式党员,1003
陈二,正式党员,1004
陈三,正式党员,1005
陈四,正式党员,1006
陈五,正式党员,1007
刘七,正式党员,1008
孙差,正式党员,1009
周变,正式党员,1010
吴走,正式党员,1011
郑预,预备党员,1012
钱积极,入党积极分子,1013
"""
NAMES = {
    1001: "王书记",
    1002: "李明",
    1003: "陈一",
    1004: "陈二",
    1005: "陈三",
    1006: "陈四",
    1007: "陈五",
    1008: "刘七",
    1009: "孙差",
    1010: "周变",
    1011: "吴走",
    1012: "郑预",
}
GOOD = {"陈一", "陈二", "陈三", "陈四", "陈五"}  # graded 优秀 by (almost) everyone
BAD = "孙差"  # graded 不合格 by everyone
CHANGER, LEAVER, HAND = 1010, 1011, "刘七"
ZH = {"excellent": "优秀", "qualified": "合格", "basic": "基本合格", "unqualified": "不合格"}
#: 10 Dec 2026, 10:00 in Shanghai: inside the default period (December).
START = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)


def grade_of(name: str) -> str:
    if name in GOOD:
        return "excellent"
    return "unqualified" if name == BAD else "qualified"


def data_ending(msg: BotMessage, suffix: str) -> str:
    found = [
        b.callback_data
        for row in msg.buttons
        for b in row
        if b.callback_data and b.callback_data.endswith(suffix)
    ]
    assert len(found) == 1, (suffix, msg.buttons)
    return found[0]


def target_of(screen: BotMessage) -> str:
    assert screen.text is not None
    return screen.text.splitlines()[1].split(" (")[0]


async def _setup(bot: Harness) -> dict[int, EmulatedUser]:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    users = {}
    for uid, name in [*NAMES.items(), (1013, "钱积极")]:
        user = bot.user(uid, name)
        await user.send("/start")
        await user.wait_reply()
        users[uid] = user
    return users


async def _person(bot: Harness, telegram_id: int) -> int:
    return int(
        await bot.scalar(
            "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=telegram_id
        )
    )


async def _self_assess(user: EmulatedUser, grade: str, text: str = "认真履行党员义务。") -> None:
    await user.send("/appraisal")
    home = await user.wait_reply()
    await user.press(home, "个人自评")
    await user.wait_callback_answer()
    prompt = await user.wait_reply()
    assert "不超过 500 字" in (prompt.text or "")
    await user.send(text)
    saved = await user.wait_reply()
    assert saved.text == "个人自评已保存。请选择自评等次:"
    await user.press(saved, data=data_ending(saved, f":sg:{grade}"))
    await user.wait_edit(saved)
    assert saved.text == f"个人自评已完成:自评等次 {ZH[grade]}。"


async def _peer_votes(
    user: EmulatedUser, choose: dict[str, str] | None = None, branch: Iterable[str] = ()
) -> BotMessage:
    """Grade every other member, one screen each; returns the screen (the last one)."""
    await user.send("/appraisal")
    home = await user.wait_reply()
    await user.press(home, "党员互评")
    screen = await user.wait_reply()
    assert screen.text is not None and screen.text.startswith("党员互评 第 1/")
    total = int(screen.text.splitlines()[0].split("/")[1].split(" ")[0])
    seen = []
    for _ in range(total):
        name = target_of(screen)
        assert name != user.first_name  # nobody is shown themselves
        seen.append(name)
        grade = (choose or {}).get(name) or grade_of(name)
        await user.press(screen, data=data_ending(screen, f":pv:{grade}"))
        await user.wait_edit(screen)
    everyone = list(branch) or list(NAMES.values())
    assert sorted(seen) == sorted(n for n in everyone if n != user.first_name)
    return screen


async def _group_grades(user: EmulatedUser, expected: int) -> None:
    await user.send("/appraisal")
    home = await user.wait_reply()
    await user.press(home, "考评小组评定")
    screen = await user.wait_reply()
    assert screen.text is not None and screen.text.startswith(f"考评小组评定 第 1/{expected} 人")
    for _ in range(expected):
        name = target_of(screen)
        await user.press(screen, data=data_ending(screen, f":gv:{grade_of(name)}"))
        await user.wait_edit(screen)


async def test_appraisal_from_opening_to_publication(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(START)
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        users = await _setup(bot)
        sec = users[1001]
        pid = {uid: await _person(bot, uid) for uid in NAMES}

        # -- the secretary opens the year's appraisal and sets it up ----------------------
        await sec.send("/appraisal")
        home = await sec.wait_reply()
        assert home.text == "2026 年度的民主评议尚未开启。现在为本支部开启吗?"
        await sec.press(home, "开启 2026 年度民主评议")
        assert (await sec.wait_callback_answer()).text == "2026 年度民主评议已开启。"
        await sec.wait_edit(home)
        assert "评议期间:2026-12-10 至 2026-12-31 23:59。" in (home.text or "")
        assert "积分考评小组:王书记。" in (home.text or "")
        await sec.send("/appraisal set daily 30")
        assert "日常行为积分 30%,民主评议 70%" in ((await sec.wait_reply()).text or "")
        # Back to the default: with 70 % on daily points 优秀 stays reachable (the grade
        # comes from the appraisal; the combined score ranks under the cap).
        await sec.send("/appraisal set daily 70")
        assert "日常行为积分 70%,民主评议 30%" in ((await sec.wait_reply()).text or "")
        await sec.send("/appraisal set self 50")  # saved, but the parts add up to 130
        assert "⚠ 自评、互评和小组评定的权重之和必须为 100。" in (
            (await sec.wait_reply()).text or ""
        )
        await sec.send("/appraisal set self 20")
        assert "⚠" not in ((await sec.wait_reply()).text or "")
        await sec.send("/appraisal set daily 300")
        assert (await sec.wait_reply()).text == "daily 必须是 0 到 100 之间的整数。"

        # A non-member representative (群众代表) joins by code, with no other rights.
        await sec.send("/appraisal rep 赵群众")
        invite = await sec.wait_reply()
        code = (invite.text or "").split("/start ")[1].split(" ")[0].rstrip(",。")
        rep = bot.user(3001, "赵群众")
        await rep.send(f"/start {code}")
        welcome = await rep.wait_reply()
        assert welcome.text is not None and "群众代表" in welcome.text
        await rep.send("/points")
        assert "我只为支部成员服务" in ((await rep.wait_reply()).text or "")
        for command in ("/transfer", "/grant", "/reviewers"):
            await sec.send(command)
            listing = await sec.wait_reply()
            names = " ".join(listing.button_texts)
            assert "李明" in names and "赵群众" not in names
        # Li Ming is seated as a member representative (党员代表).
        await sec.send("/appraisal")
        home = await sec.wait_reply()
        await sec.press(home, "考评小组成员")
        await sec.wait_callback_answer()
        await sec.wait_edit(home)
        await sec.press(home, data=f"ap:{pid[1002]}:seat:0")
        assert (await sec.wait_callback_answer()).text == "已加入考评小组。"

        # -- self-assessments ---------------------------------------------------------
        li = users[1002]
        await li.send("/appraisal")
        await li.press(await li.wait_reply(), "个人自评")
        await li.wait_reply()
        await li.send("长" * 501)
        assert (await li.wait_reply()).text == "个人自评不超过 500 字;您的有 501 字。"
        await li.send("/cancel")
        await li.wait_reply()
        for uid, name in NAMES.items():
            await _self_assess(users[uid], grade_of(name))

        # -- peer appraisal: every member grades every other member ----------------------
        changer_screen = None
        for uid in NAMES:
            if uid == LEAVER:  # a spoiler who then leaves the branch
                await _peer_votes(users[uid], dict.fromkeys(NAMES.values(), "unqualified"))
            elif uid == CHANGER:
                # First 合格 for 陈一, later changed; 陈四 合格 and 刘七 基本合格 stay.
                changer_screen = await _peer_votes(
                    users[uid], {"陈一": "qualified", "陈四": "qualified", HAND: "basic"}
                )
            else:
                await _peer_votes(users[uid])
        assert changer_screen is not None
        changer = users[CHANGER]
        ballots = await bot.scalar("SELECT count(*) FROM appraisal_ballots")
        assert ballots == 12 * 11
        # The changer goes back to 陈一 through the list and changes the vote; a double
        # tap counts once.
        await changer.press(changer_screen, "名单")
        await changer.wait_edit(changer_screen)
        await changer.press(changer_screen, "陈一")
        await changer.wait_edit(changer_screen)
        assert target_of(changer_screen) == "陈一"
        assert "您的评定:合格" in (changer_screen.text or "")
        vote_yes = data_ending(changer_screen, ":pv:excellent")
        await changer.press(changer_screen, data=vote_yes)
        await changer.wait_edit(changer_screen)
        await changer.press_raw(changer_screen.message_id, vote_yes)
        await changer.wait_callback_answer()
        assert await bot.scalar("SELECT count(*) FROM appraisal_ballots") == 12 * 11
        # Grading oneself is refused, even with forged data.
        await changer.press_raw(changer_screen.message_id, f"av:{pid[CHANGER]}:pv:excellent")
        assert (await changer.wait_callback_answer()).text == "不能给自己评定。"
        assert await bot.scalar("SELECT count(*) FROM appraisal_ballots") == 12 * 11

        # -- the scoring group grades ---------------------------------------------------
        await _group_grades(sec, 11)
        await _group_grades(li, 11)
        await rep.send("/appraisal")
        rep_home = await rep.wait_reply()
        await rep.press(rep_home, "考评小组评定")
        screen = await rep.wait_reply()
        for _ in range(12):
            await rep.press(screen, data=data_ending(screen, f":gv:{grade_of(target_of(screen))}"))
            await rep.wait_edit(screen)

        # -- the leaver is transferred out; 陈五 is admonished (诫勉, tracked by the close) --
        secretary = await _viewer(bot, 1001)
        async with bot.uow() as svc:
            await svc.membership.transfer_out(secretary, pid[LEAVER])
            branch_id = secretary.branch_id
            assert branch_id is not None
            svc.session.add(
                QuarterScore(
                    branch_id=branch_id,
                    quarter="2026Q4",
                    person_id=pid[1007],
                    base=Decimal(80),
                    deductions=Decimal(0),
                    special=Decimal(0),
                    extra=Decimal(0),
                    total=Decimal(80),
                    warned=True,
                    created_at=clock.now(),
                )
            )
            daily = [
                s.figures.total
                for q in (1, 2, 3, 4)
                for s in await svc.points.member_scores(branch_id, Quarter(2026, q))
                if s.person_id == pid[1008]
            ]
        assert daily == [Decimal(80)] * 4

        # -- after the deadline nothing changes ------------------------------------------
        clock.set(datetime(2027, 1, 1, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
        await changer.press(changer_screen, data=data_ending(changer_screen, ":pv:basic"))
        assert (await changer.wait_callback_answer()).text == "民主评议已截止,不能再评定。"

        # -- results: counts only, the cap, 诫勉, 不合格 waiting for the group -------------
        await sec.send("/appraisal")
        home = await sec.wait_reply()
        await sec.press(home, "评议结果")
        results = await sec.wait_reply()
        text = results.text or ""
        lines = {
            line.split(". ")[1].split(" — ")[0]: line
            for line in text.splitlines()
            if " — 综合" in line
        }
        assert set(lines) == set(NAMES.values()) - {"吴走"}  # the leaver is not appraised
        assert "优秀:3 人,上限 3 人(11 人的 30%)。" in text
        # 陈一: 10 优秀 (the changed vote counts as 优秀; the leaver's 不合格 is gone)
        assert "[10 / 0 / 0 / 0]" in lines["陈一"]
        assert "→ 优秀" in lines["陈一"] and "→ 优秀" in lines["陈二"] and "→ 优秀" in lines["陈三"]
        assert (
            "→ 合格" in lines["陈四"] and "超出优秀比例" in lines["陈四"]
        )  # the lowest of the 优秀
        assert "→ 合格" in lines["陈五"] and "诫勉,不能评为优秀" in lines["陈五"]
        assert "→ 待考评小组确认" in lines[BAD]
        # 刘七 by hand: peers 9×合格 + 1×基本合格 → (9×85 + 70) / 10 = 83.50; appraisal
        # (85×20 + 83.50×40 + 85×40) / 100 = 84.40; combined (80×70 + 84.40×30) / 100.
        hand = (Decimal(80) * 70 + Decimal("84.40") * 30) / 100
        assert hand == Decimal("81.32")
        assert (
            f"刘七 — 综合 {hand}(评议 84.40:自评 85,互评 83.50 [0 / 9 / 1 / 0],"
            "小组 85.00;日常 80.00)→ 合格"
        ) in lines[HAND]
        # Secrecy: the secretary sees counts; no ballot names its voter.
        columns = await _columns(bot, "appraisal_ballots")
        assert columns == ["id", "appraisal_id", "voter_token", "target_person_id", "grade"]
        assert not await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'appraisal.vote%'"
        )

        # Finalising waits for the group's decision on 不合格; confirmed with a reason.
        await sec.press(results, "结果定稿")
        await sec.wait_callback_answer()
        await sec.wait_edit(results)
        await sec.press(results, "✅ 定稿")
        assert (
            await sec.wait_callback_answer()
        ).text == "考评小组尚未对以下人员的不合格作出决定:孙差。"
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "评议结果")
        results = await sec.wait_reply()
        await sec.press(results, "确认不合格:孙差")
        await sec.wait_callback_answer()
        assert "理由" in ((await sec.wait_reply()).text or "")
        await sec.send("全年多次无故不参加组织生活,经教育仍不改正。")
        assert (await sec.wait_reply()).text == "已记录:考评小组确认 孙差 为不合格。"
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "评议结果")
        results = await sec.wait_reply()
        await sec.press(results, "结果定稿")
        await sec.wait_callback_answer()
        await sec.wait_edit(results)
        await sec.press(results, "✅ 定稿")
        assert (await sec.wait_callback_answer()).text == "已定稿。"
        assert await bot.scalar("SELECT salt FROM appraisals") is None  # tokens unlinkable now
        assert await bot.scalar("SELECT count(*) FROM appraisal_results") == 11
        # A second tap changes nothing.
        await sec.press_raw(results.message_id, "ap:0:final:yes")
        assert (await sec.wait_callback_answer()).text == "民主评议已定稿,不能再更改。"

        # -- members see their own result; the publication (公示) -----------------------
        chen = users[1003]
        chen.skip_pending()
        await chen.send("/appraisal")
        # 优秀 with the base score: 80×70% + 95×30% = 84.50 (the cap of the old rule)
        assert "您的评议结果:优秀;综合得分 84.50。" in ((await chen.wait_reply()).text or "")
        await sec.press(results, "公示")
        assert (await sec.wait_callback_answer()).text == "正在公示。"
        await sec.wait_edit(results)
        assert results.text == "2026 年度评议结果正在向 11 名党员公示。"
        await sec.press_raw(results.message_id, "ap:0:pub")  # a second tap: not twice
        assert (await sec.wait_callback_answer()).text == "评议结果已经公示。"
        assert await bot.scalar("SELECT count(*) FROM deliveries WHERE photo_id IS NOT NULL") == 11
        photo, notice = await chen.wait_replies(2, timeout=10)
        assert photo.photo and "2026 年度民主评议党员" in (photo.text or "")
        assert "您的评议结果:优秀;综合得分 84.50。" in (notice.text or "")
        assert "孙差 — 71.00 · 不合格" in (notice.text or "")
        users[LEAVER].skip_pending()
        await users[LEAVER].expect_no_reply(0.3)  # the leaver is not told

        # -- the register (民主评议党员登记表) ---------------------------------------------
        await sec.wait_replies(2, timeout=10)  # the secretary is a member: published to too
        await sec.send("/export appraisal 2026")
        doc = await sec.wait_reply()
        assert doc.document is not None
        name, _, data = doc.document
        assert name == "appraisal-2026.xlsx"
        sheet = load_workbook(io.BytesIO(data)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[1][:8] == (
            "党员",
            "个人自评",
            "自评等次",
            "优秀",
            "合格",
            "基本合格",
            "不合格",
            "互评得分",
        )
        by_name = {r[0]: r for r in rows[2:]}
        assert set(by_name) == set(NAMES.values()) - {"吴走"}
        assert by_name["陈一"][3:7] == (10, 0, 0, 0)
        assert by_name[HAND][3:7] == (0, 9, 1, 0)
        assert by_name[HAND][11] == 81.32
        assert by_name[BAD][13] == "不合格" and "全年多次无故" in by_name[BAD][14]
        cells = [str(c) for r in rows for c in r if c is not None]
        assert not any("voter" in c or len(c) == 64 for c in cells)  # no token, no pair


async def test_self_assessment_reminders_7_and_2_days_before(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(START)
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        users = await _setup(bot)
        sec = users[1001]
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "开启 2026 年度民主评议")
        await sec.wait_callback_answer()
        await _self_assess(users[1003], "excellent")
        await bot.settled()
        await run_reminders(bot.app)  # 21 days left: nothing yet
        assert not await bot.scalar("SELECT count(*) FROM appraisal_reminders")
        clock.set(datetime(2026, 12, 25, 2, 0, tzinfo=UTC))  # 6 days left
        await run_reminders(bot.app)
        await run_reminders(bot.app)  # once only
        # 11 Party members have not finished (the activist is not appraised).
        assert await bot.scalar("SELECT count(*) FROM appraisal_reminders WHERE kind='d7'") == 11
        li = users[1002]
        li.skip_pending()
        await drain(bot.app)
        reminder = await li.wait_reply()
        assert "个人自评尚未完成" in (reminder.text or "")
        assert "2026-12-31 23:59" in (reminder.text or "")
        clock.set(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
        await run_reminders(bot.app)
        assert await bot.scalar("SELECT count(*) FROM appraisal_reminders WHERE kind='d2'") == 11
        assert not await bot.scalar(
            "SELECT count(*) FROM appraisal_reminders r JOIN telegram_accounts a "
            "ON a.person_id = r.person_id WHERE a.telegram_user_id IN (1003, 1013)"
        )
        clock.advance(timedelta(days=5))  # past the deadline: no more
        await run_reminders(bot.app)
        assert await bot.scalar("SELECT count(*) FROM appraisal_reminders") == 22


async def _viewer(bot: Harness, telegram_id: int) -> Viewer:
    async with bot.uow() as svc:
        return await svc.membership.viewer_of(telegram_id)


async def _columns(bot: Harness, table: str) -> list[str]:
    async with bot.runtime.db.session() as session:
        if bot.runtime.db.dialect == "sqlite":
            rows = (await session.execute(text(f"PRAGMA table_info({table})"))).all()
            return [r[1] for r in rows]
        rows = (
            await session.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = :t ORDER BY ordinal_position"
                ),
                {"t": table},
            )
        ).all()
        return [r[0] for r in rows]


async def test_a_branch_of_120_members_stays_usable(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    """Telegram refuses keyboards over 100 buttons: every list is paged, one person a
    screen, and the results split into messages that fit."""
    clock = FrozenClock(START)
    roster = "name,status,telegram_id\n王书记,正式党员,1001\n李明,正式党员,1002\n" + "".join(
        f"党员{i:03},正式党员,\n" for i in range(118)
    )
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        branch = await bot.create_branch()
        await bot.import_roster(branch.join_code, roster)
        sec, li = bot.user(1001, "王书记"), bot.user(1002, "李明")
        for user in (sec, li):
            await user.send("/start")
            await user.wait_reply()
        await sec.send("/appraisal")
        home = await sec.wait_reply()
        await sec.press(home, "开启 2026 年度民主评议")
        await sec.wait_callback_answer()
        await sec.wait_edit(home)
        await sec.press(home, "考评小组成员")
        await sec.wait_edit(home)
        assert len(home.button_texts) <= 33 and "下一页 ▶" in home.button_texts

        # The scoring group scores 0–100 in this branch (buttons, no typing).
        await sec.send("/appraisal set mode scores")
        assert "考评小组按0–100 分评定" in ((await sec.wait_reply()).text or "")
        await sec.send("/appraisal set deadline 2026-12-09")  # before the opening day
        assert (await sec.wait_reply()).text == "开始日期不能晚于截止时间。"
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "考评小组评定")
        group = await sec.wait_reply()
        assert (group.text or "").startswith("考评小组评定 第 1/119 人")
        assert "100" in group.button_texts and "0" in group.button_texts
        await sec.press(group, "90")
        await sec.wait_edit(group)
        await sec.press(group, "◀ 上一页")
        await sec.wait_edit(group)
        assert "小组评定:90" in (group.text or "") and "✓90" in group.button_texts
        assert await bot.scalar("SELECT count(*) FROM appraisal_group_grades") == 1
        await sec.send("/appraisal set mode grades")  # graded already: the mode stays
        assert (await sec.wait_reply()).text == "考评小组已开始评定,评定方式不能再改。"
        assert "2026-12-31" in str(await bot.scalar("SELECT deadline FROM appraisals"))

        await li.send("/appraisal")
        await li.press(await li.wait_reply(), "党员互评")
        screen = await li.wait_reply()
        assert (screen.text or "").startswith("党员互评 第 1/119 人")
        await li.press(screen, data=data_ending(screen, ":pv:qualified"))
        await li.wait_edit(screen)
        assert (screen.text or "").startswith("党员互评 第 2/119 人")
        await li.press(screen, "名单")
        await li.wait_edit(screen)
        assert len(screen.button_texts) == 31  # 30 people and the next page
        assert sum(1 for b in screen.button_texts if b.startswith("✓ ")) == 1
        await li.press(screen, "下一页 ▶")
        await li.wait_edit(screen)
        assert "◀ 上一页" in screen.button_texts
        await li.press(screen, screen.button_texts[0])
        await li.wait_edit(screen)
        assert (screen.text or "").startswith("党员互评 第 31/119 人")

        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "评议结果")
        parts = await sec.wait_replies(1)
        assert "上限 36 人(120 人的 30%)" in (parts[0].text or "")


async def test_a_self_assessment_half_entered_survives_a_restart(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(START)
    async with lasting_world(tmp_path, template_db) as (url, telegram):
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            users = await _setup(bot)
            sec, li = users[1001], users[1002]
            await sec.send("/appraisal")
            await sec.press(await sec.wait_reply(), "开启 2026 年度民主评议")
            await sec.wait_callback_answer()
            await li.send("/appraisal")
            await li.press(await li.wait_reply(), "个人自评")
            assert "个人自评" in ((await li.wait_reply()).text or "")
        async with running_bot(tmp_path, template_db, clock=clock, url=url, emu=telegram) as bot:
            li = bot.user(1002, "李明")
            li.skip_pending()
            await li.send_document(b"MZ", "virus.exe", "application/octet-stream")
            assert (await li.wait_reply()).text == "请发送不超过 20 MB 的 PDF、Word 或文本文档。"
            await li.send_document(b"%PDF-1.4 self", "自评.pdf", "application/pdf")
            saved = await li.wait_reply()
            assert saved.text == "个人自评已保存。请选择自评等次:"
            assert await bot.scalar("SELECT document_name FROM appraisal_selfs") == "自评.pdf"


async def test_nobody_decides_on_their_own_unqualified_grade(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    """The secretary proposed 不合格 cannot record the group's decision on themselves; a
    committee member with review rights records it, and the appraisal can be final."""
    clock = FrozenClock(START)
    roster = (
        "name,status,telegram_id\n王书记,正式党员,1001\n李明,正式党员,1002\n张华,正式党员,1003\n"
    )
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        branch = await bot.create_branch()
        await bot.import_roster(branch.join_code, roster)
        users = {}
        for uid, name in ((1001, "王书记"), (1002, "李明"), (1003, "张华")):
            users[uid] = bot.user(uid, name)
            await users[uid].send("/start")
            await users[uid].wait_reply()
        sec, li = users[1001], users[1002]
        await sec.send("/reviewers")
        await sec.press(await sec.wait_reply(), "李明")
        await sec.wait_callback_answer()
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "开启 2026 年度民主评议")
        await sec.wait_callback_answer()
        await sec.send("/appraisal set daily 0")  # the appraisal alone decides here
        await sec.wait_reply()
        await _self_assess(sec, "unqualified")
        for uid in (1002, 1003):
            await _peer_votes(users[uid], {"王书记": "unqualified"}, ["王书记", "李明", "张华"])
        await bot.settled()
        sec.skip_pending()
        await sec.send("/appraisal")
        await sec.press(await sec.wait_reply(), "评议结果")
        results = await sec.wait_reply()
        assert "王书记 — 综合 50.00" in (results.text or "")  # self and peers: 不合格
        await sec.press(results, "不予确认")
        assert (
            await sec.wait_callback_answer()
        ).text == "任何人不能决定本人的评议等次,由其他审核人记录。"
        assert (
            await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'review.self_denied'")
            == 1
        )
        assert not await bot.scalar("SELECT count(*) FROM appraisal_confirmations")
        # 李明 (支委 with review rights) records the group's decision.
        li.skip_pending()
        await li.send("/appraisal")
        await li.press(await li.wait_reply(), "评议结果")
        view = await li.wait_reply()
        assert "结果定稿" not in " ".join(view.button_texts)  # finalising is the secretary's
        await li.press(view, "不予确认")
        await li.wait_callback_answer()
        await li.wait_edit(view)
        assert view.text == "已记录:王书记 评定为基本合格。"
        await sec.press(results, "结果定稿")
        await sec.wait_callback_answer()
        await sec.wait_edit(results)
        await sec.press(results, "✅ 定稿")
        assert (await sec.wait_callback_answer()).text == "已定稿。"
        assert (
            await bot.scalar(
                "SELECT final_grade FROM appraisal_results r JOIN telegram_accounts a "
                "ON a.person_id = r.person_id WHERE a.telegram_user_id = 1001"
            )
            == "basic"
        )
