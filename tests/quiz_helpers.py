"""Helpers shared by the quiz tests."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from domain.membership import BranchInfo
from emulator import BotMessage, EmulatedUser
from handlers.callbacks import parse
from tests.harness import Harness

ROSTER = (
    "name,status,telegram_id\n"
    "张三,member,2001\n"
    "李四,probationary,2002\n"
    "赵积极,activist,2003\n"
    "钱发展,target,2004\n"
)

#: A small branch bank: 4 single, 3 multiple, 3 true/false (answers as letters / 对错).
BRANCH_BANK_CSV = (
    "kind,text,option_a,option_b,option_c,option_d,answer,explanation,topics,source\n"
    "single,支部单选一,甲,乙,丙,丁,B,解析一,org_life,支部自编\n"
    "单选,支部单选二,甲,乙,丙,,C,解析二,org_life,支部自编\n"
    "single,支部单选三,甲,乙,,,A,解析三,points,支部自编\n"
    "single,支部单选四,甲,乙,丙,丁,D,解析四,points,支部自编\n"
    "multiple,支部多选一,甲,乙,丙,丁,AC,多选解析一,org_life,支部自编\n"
    '多选,支部多选二,甲,乙,丙,丁,"B,C,D",多选解析二,org_life,支部自编\n'
    "multiple,支部多选三,甲,乙,丙,,AB,多选解析三,points,支部自编\n"
    "truefalse,支部判断一,,,,,对,判断解析一,org_life,支部自编\n"
    "判断,支部判断二,,,,,错,判断解析二,org_life,支部自编\n"
    "truefalse,支部判断三,,,,,false,判断解析三,points,支部自编\n"
)


async def setup_branch(bot: Harness) -> BranchInfo:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    return branch


async def started(bot: Harness, user_id: int, name: str) -> EmulatedUser:
    u = bot.user(user_id, name)
    await u.send("/start")
    await u.wait_reply()
    return u


async def execute(bot: Harness, sql: str, **params: Any) -> None:
    async with bot.runtime.db.session() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def item_of(bot: Harness, msg: BotMessage) -> tuple[int, str, list[int]]:
    """(item id, kind, correct indices) of a question message with buttons."""
    data = [b.callback_data for row in msg.buttons for b in row if b.callback_data]
    cb = parse(data[0])
    assert cb is not None
    import asyncio

    row = None
    for _ in range(150):  # the bot commits just after sending the message
        async with bot.runtime.db.session() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT q.kind, q.answer FROM quiz_items i "
                        "JOIN quiz_questions q ON q.id = i.question_id WHERE i.id = :id"
                    ),
                    {"id": cb.id},
                )
            ).first()
        if row is not None:
            break
        await asyncio.sleep(0.02)
    assert row is not None
    answer = row[1] if isinstance(row[1], list) else json.loads(row[1])
    return cb.id, str(row[0]), list(answer)


async def use_only_branch_bank(bot: Harness, sec: EmulatedUser, filename: str = "bank.csv") -> None:
    """The secretary imports BRANCH_BANK_CSV through the chat and turns the shared bank off."""
    await sec.send("/questions")
    shared, _info = await sec.wait_replies(2)
    assert "共享" in shared.text
    await sec.press(shared, "只用本支部")
    assert (await sec.wait_callback_answer()).text == "已完成。"
    await sec.send_document(BRANCH_BANK_CSV.encode(), filename, "text/csv")
    done = await sec.wait_reply()
    assert "新增 10" in done.text, done.text


async def settled(bot: Harness, sql: str, expected: Any, **params: Any) -> Any:
    """The value of ``sql`` once it equals ``expected`` (the bot commits an update's
    transaction just after its last message was sent), or the last value seen."""
    import asyncio
    import time

    deadline = time.monotonic() + 3.0
    value = await bot.scalar(sql, **params)
    while value != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        value = await bot.scalar(sql, **params)
    return value
