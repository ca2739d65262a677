"""The reviewers' command menus: published in each reviewer's own chat by the leader's
periodic task, only when the menu changed since it was last published (a start of a bot
serving 5,000 branches makes three ``setMyCommands`` calls, not 5,000)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from bot.menus import menu_fingerprint, sync_chat_menus
from store.models import ChatMenu
from tests.harness import Harness


def _chat(call: Any) -> int | None:
    """The chat of a recorded ``setMyCommands`` (None: a default scope)."""
    scope = call.params.get("scope")
    scope = json.loads(scope) if isinstance(scope, str) else scope
    return scope.get("chat_id") if scope else None


async def test_reviewer_menus_published_once_until_they_change(bot: Harness) -> None:
    await bot.create_branch("甲支部", 1001)
    await bot.create_branch("乙支部", 2001)
    await bot.create_branch("丙支部", 3001)
    for tid, name in ((1001, "甲书记"), (2001, "乙书记")):  # 3001 never pressed /start
        user = bot.user(tid, name)
        await user.send("/start")
        await user.wait_reply()
    calls = len(bot.emu.calls("setMyCommands"))

    await sync_chat_menus(bot.app)
    published = bot.emu.calls("setMyCommands")[calls:]
    assert sorted(_chat(c) for c in published) == [1001, 2001]
    mine = {c["command"] for c in bot.emu.commands({"type": "chat", "chat_id": 1001})}
    assert {"pending", "ranking", "export"} <= mine
    assert await bot.scalar("SELECT count(*) FROM chat_menus") == 2

    # Nothing changed: nothing published again (the next start, the next period).
    calls = len(bot.emu.calls("setMyCommands"))
    await sync_chat_menus(bot.app)
    assert len(bot.emu.calls("setMyCommands")) == calls

    # A menu that changed (another release, another language) is published again.
    async with bot.runtime.db.session() as session:
        await session.execute(
            update(ChatMenu).where(ChatMenu.telegram_user_id == 2001).values(fingerprint="old")
        )
        await session.commit()
    await sync_chat_menus(bot.app)
    again = bot.emu.calls("setMyCommands")[calls:]
    assert [_chat(c) for c in again] == [2001]
    registry = bot.app.bot_data["registry"]
    assert await bot.scalar(
        "SELECT fingerprint FROM chat_menus WHERE telegram_user_id = 2001"
    ) == menu_fingerprint(registry, "zh_Hans")
