"""Practice quizzes end to end over HTTP: buttons (single, multiple, true/false), native
quiz polls, refusals, the monthly ranking and points."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from emulator import BotMessage, EmulatedUser
from tests.harness import Harness
from tests.quiz_helpers import item_of, settled, setup_branch, started, use_only_branch_bank

pytestmark = pytest.mark.e2e

LETTERS = "ABCDEF"


async def test_practice_with_every_kind_of_question(bot: Harness) -> None:
    await setup_branch(bot)
    sec = await started(bot, 1001, "王书记")
    await use_only_branch_bank(bot, sec)
    member = await started(bot, 2001, "张三")

    await member.send("/quiz")
    intro = await member.wait_reply()
    assert "10 道题" in intro.text
    kinds: set[str] = set()
    wrong_shown = False
    for position in range(1, 11):
        msg = await member.wait_reply()
        assert f"{position}/10" in msg.text
        item_id, kind, answer = await item_of(bot, msg)
        kinds.add(kind)
        # Answer the first question wrongly, every other one right.
        right = position != 1
        if kind == "truefalse":
            assert msg.button_texts == ["✔ 正确", "✘ 错误"]
            choice = answer[0] if right else 1 - answer[0]
            await member.press(msg, "正确" if choice == 0 else "错误")
        elif kind == "single":
            assert "单选题" in msg.text
            choice = answer[0] if right else (answer[0] + 1) % 2
            await member.press(msg, data=f"qz:{item_id}:pick:{choice}")
        else:
            assert "多选题" in msg.text and "提交" in msg.button_texts[-1]
            # Toggle one option on and off again, then pick the right set.
            await member.press(msg, f"☐ {LETTERS[answer[0]]}")
            await member.wait_callback_answer()
            await member.wait_edit(msg)
            assert f"☑ {LETTERS[answer[0]]}" in msg.button_texts
            await member.press(msg, f"☑ {LETTERS[answer[0]]}")
            await member.wait_callback_answer()
            await member.wait_edit(msg)
            for i in answer if right else answer[:1]:
                await member.press(msg, f"☐ {LETTERS[i]}")
                await member.wait_callback_answer()
                await member.wait_edit(msg)
            await member.press(msg, "提交")
        feedback = await member.wait_callback_answer()
        assert feedback.text == ("回答正确！" if right else "回答错误。")
        if not msg.edits or msg.buttons:
            await member.wait_edit(msg)
        assert msg.buttons == []
        if right:
            assert "✅ 回答正确" in msg.text
        else:
            wrong_shown = True
            assert "❌ 回答错误" in msg.text and "正确答案" in msg.text and "解析" in msg.text
    assert kinds == {"single", "multiple", "truefalse"}
    assert wrong_shown
    result = await member.wait_reply()
    assert "练习结束" in result.text and "答对 9 题" in result.text and "90 分" in result.text
    status = await settled(
        bot,
        "SELECT status || ':' || correct || ':' || score FROM quiz_attempts WHERE exam_id IS NULL",
        "finished:9:90",
    )
    assert status == "finished:9:90"


async def test_refusals_for_finished_foreign_and_forged_answers(bot: Harness) -> None:
    await setup_branch(bot)
    sec = await started(bot, 1001, "王书记")
    await use_only_branch_bank(bot, sec)
    a = await started(bot, 2001, "张三")
    b = await started(bot, 2002, "李四")
    await a.send("/quiz")
    await a.wait_reply()
    first = await a.wait_reply()
    item_id, kind, answer = await item_of(bot, first)
    choice = answer[0]
    action = "pick" if kind != "multiple" else "tog"
    data = f"qz:{item_id}:{action}:{choice}"

    # Another member forging a press on A's question is refused.
    await b.send("/help")
    await b.wait_reply()
    b_msg_id = b.last_message.message_id if b.last_message else 0
    await b.press_raw(b_msg_id, data)
    refused = await b.wait_callback_answer()
    assert refused.show_alert and "不是你的" in (refused.text or "")

    # Forged garbage is refused.
    await a.press_raw(first.message_id, "qz:abc")
    garbage = await a.wait_callback_answer()
    assert garbage.show_alert and "已失效" in (garbage.text or "")

    # Answer properly, then press the same (finished) question again.
    if kind == "multiple":
        for i in answer:
            await a.press(first, data=f"qz:{item_id}:tog:{i}")
            await a.wait_callback_answer()
        await a.press(first, data=f"qz:{item_id}:done")
    else:
        await a.press(first, data=data)
    await a.wait_callback_answer()
    await a.wait_reply()  # the next question
    await a.press_raw(first.message_id, f"qz:{item_id}:pick:0")
    again = await a.wait_callback_answer()
    assert again.show_alert and "已经回答" in (again.text or "")
    answered = await bot.scalar(
        "SELECT count(*) FROM quiz_items WHERE answered_at IS NOT NULL AND attempt_id = "
        "(SELECT attempt_id FROM quiz_items WHERE id = :id)",
        id=item_id,
    )
    assert answered == 1


async def attempt_questions(bot: Harness, person_tid: int) -> list[set[int]]:
    """The question ids of each attempt of a member, oldest first."""
    async with bot.runtime.db.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT i.attempt_id, i.question_id FROM quiz_items i "
                    "JOIN quiz_attempts a ON a.id = i.attempt_id "
                    "JOIN telegram_accounts t ON t.person_id = a.person_id "
                    "WHERE t.telegram_user_id = :t ORDER BY i.attempt_id"
                ),
                {"t": person_tid},
            )
        ).all()
    by_attempt: dict[int, set[int]] = {}
    for attempt_id, question_id in rows:
        by_attempt.setdefault(int(attempt_id), set()).add(int(question_id))
    return [by_attempt[k] for k in sorted(by_attempt)]


async def test_practice_with_quiz_polls_and_recent_questions_avoided(bot: Harness) -> None:
    await setup_branch(bot)
    member = await started(bot, 2001, "张三")
    await member.send("/quiz poll")
    await member.wait_reply()
    kinds: set[bool] = set()
    for position in range(1, 11):
        msg = await member.wait_reply()
        poll = msg.poll
        assert poll is not None, msg.text
        assert poll["type"] == "quiz" and poll["is_anonymous"] is False
        assert poll["question"].startswith(f"({position}/10) ")
        kinds.add(poll["allows_multiple_answers"])
        right = poll["correct_option_ids"]
        # The last answer is wrong: 9 of 10.
        wrong = [i for i in range(len(poll["options"])) if i not in right][:1]
        choice = right if position < 10 else wrong
        await member.answer_poll(poll["id"], choice)
    result = await member.wait_reply()
    assert "答对 9 题" in result.text and "90 分" in result.text
    assert "已记入积分台账" in result.text  # 90 ≥ 80: the quiz catalogue item
    assert await settled(bot, "SELECT count(*) FROM quiz_items WHERE correct", 9) == 9

    # The next round avoids the ten questions just seen.
    await member.send("/quiz")
    await member.wait_reply()
    await member.wait_reply()
    await settled(bot, "SELECT count(*) FROM quiz_attempts", 2)
    first, second = await attempt_questions(bot, 2001)
    assert len(first) == 10 and len(second) == 10 and not (first & second)


async def test_stranger_poll_vote_is_refused(bot: Harness) -> None:
    await setup_branch(bot)
    member = await started(bot, 2001, "张三")
    other = await started(bot, 2002, "李四")
    await member.send("/quiz poll")
    await member.wait_reply()
    msg = await member.wait_reply()
    assert msg.poll is not None
    await other.answer_poll(msg.poll["id"], [0])
    refusal = await other.wait_reply()
    assert "不是你的" in refusal.text
    answered = await bot.scalar("SELECT count(*) FROM quiz_items WHERE answered_at IS NOT NULL")
    assert answered == 0
    await member.expect_no_reply(0.2)


async def play_polls(member: EmulatedUser, wrong: int) -> BotMessage:
    """Answer a /quiz poll round, the first ``wrong`` questions wrongly; the result."""
    await member.send("/quiz poll")
    await member.wait_reply()
    for position in range(1, 11):
        poll = (await member.wait_reply()).poll
        assert poll is not None
        right = poll["correct_option_ids"]
        bad = [i for i in range(len(poll["options"])) if i not in right][:1]
        await member.answer_poll(poll["id"], bad if position <= wrong else right)
    return await member.wait_reply()


async def test_points_granted_once_per_month_for_practice(bot: Harness) -> None:
    await setup_branch(bot)
    member = await started(bot, 2001, "张三")
    low = await play_polls(member, wrong=3)  # 70: no points
    assert "70 分" in low.text and "已记入积分台账" not in low.text
    first = await play_polls(member, wrong=2)  # 80: points
    assert "80 分" in first.text and "已记入积分台账" in first.text
    second = await play_polls(member, wrong=0)  # 100, same month: not again
    assert "100 分" in second.text and "已记入积分台账" not in second.text
    ledger = await settled(bot, "SELECT count(*) FROM point_ledger WHERE source = 'quiz'", 1)
    assert ledger == 1
    ref = await bot.scalar("SELECT source_ref FROM point_ledger WHERE source = 'quiz'")
    person = await bot.scalar(
        "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 2001"
    )
    assert ref.startswith(f"practice:{person}:")
    item = await bot.scalar(
        "SELECT i.key FROM point_ledger l JOIN point_items i ON i.id = l.item_id "
        "WHERE l.source = 'quiz'"
    )
    assert item == "study_quiz_passed"


async def test_monthly_leaderboard(bot: Harness) -> None:
    await setup_branch(bot)
    a = await started(bot, 2001, "张三")
    b = await started(bot, 2002, "李四")
    await a.send("/quiz top")
    assert "本月还没有人答题" in (await a.wait_reply()).text
    await play_polls(a, wrong=1)
    await play_polls(b, wrong=4)
    await settled(bot, "SELECT count(*) FROM quiz_items WHERE answered_at IS NOT NULL", 20)
    await b.send("/quiz top")
    board = await b.wait_reply()
    lines = board.text.splitlines()
    assert "知识竞赛排行" in lines[0]
    assert lines[1] == "1. 张三 — 答对 9/10 题"
    assert lines[2] == "2. 李四 — 答对 6/10 题 👈"
