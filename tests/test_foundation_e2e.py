"""Foundation, end to end over HTTP: the real Application polling the local emulator."""

from __future__ import annotations

import pytest

from tests.harness import Harness

pytestmark = pytest.mark.e2e


async def test_stranger_without_code_is_told_how_to_join(bot: Harness) -> None:
    u = bot.user(5001, "陌生人")
    await u.send("/start")
    msg = await u.wait_reply()
    assert "支部助手" in msg.text
    assert "/start" in msg.text and "加入码" in msg.text


async def test_join_with_branch_code_and_secretary_approval(bot: Harness) -> None:
    branch = await bot.create_branch()
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    menu = await sec.wait_reply()
    assert "支部书记" in menu.text and "心内科党支部" in menu.text

    newcomer = bot.user(5002, "陈", last_name="新")
    await newcomer.send(f"/start {branch.join_code}")
    ack = await newcomer.wait_reply()
    assert "已发送给支部书记" in ack.text
    request = await sec.wait_reply()
    assert "陈 新" in request.text
    assert any("预备党员" in b for b in request.button_texts)
    await sec.press(request, "预备党员")
    answer = await sec.wait_callback_answer()
    assert answer.text == "已完成。"
    welcome = await newcomer.wait_reply()
    assert "欢迎加入心内科党支部" in welcome.text
    status = await bot.scalar(
        "SELECT p.status FROM persons p JOIN telegram_accounts a ON a.person_id = p.id "
        "WHERE a.telegram_user_id = 5002"
    )
    assert status == "probationary"
    await newcomer.send("/start")
    menu = await newcomer.wait_reply()
    assert "预备党员" in menu.text


async def test_double_tap_and_other_decisions_refused(bot: Harness) -> None:
    branch = await bot.create_branch()
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    newcomer = bot.user(5003, "赵六")
    await newcomer.send(f"/start {branch.join_code}")
    await newcomer.wait_reply()
    request = await sec.wait_reply()
    approve_data = request.buttons[0][0].callback_data or ""
    await sec.press(request, "拒绝")
    assert (await sec.wait_callback_answer()).text == "已完成。"
    await newcomer.wait_reply()
    # Second tap on the (stale) approve button of the same request.
    assert request.buttons == [] and "已被 王书记 拒绝" in request.text
    await sec.press_raw(request.message_id, approve_data)
    answer = await sec.wait_callback_answer()
    assert answer.show_alert and "已由 王书记 处理" in (answer.text or "")
    rows = await bot.scalar("SELECT count(*) FROM persons WHERE full_name = '赵六'")
    assert rows == 0
