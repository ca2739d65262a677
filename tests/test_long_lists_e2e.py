"""Lists of people in a large branch: Telegram refuses a keyboard of more than 100
buttons (the emulator too), so /grant and /reviewers show the branch a page at a time."""

from __future__ import annotations

from emulator import BotMessage, EmulatedUser
from tests.harness import Harness

MEMBERS = 130
ROSTER = "name,status\n" + "".join(f"党员{n:03d},正式党员\n" for n in range(1, MEMBERS + 1))


async def _secretary(bot: Harness) -> EmulatedUser:
    branch = await bot.create_branch()
    result = await bot.import_roster(branch.join_code, ROSTER)
    assert len(result.codes) == MEMBERS
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    return sec


def _names(message: BotMessage) -> list[str]:
    return [t for t in message.button_texts if "党员" in t]


async def test_grant_pages_through_a_large_branch(bot: Harness) -> None:
    sec = await _secretary(bot)
    await sec.send("/grant")
    first = await sec.wait_reply()
    assert "请选择党员" in first.text
    assert len(first.button_texts) <= 100
    assert _names(first)[0] == "党员001" and "党员031" not in _names(first)
    assert "下一页 ▶" in first.button_texts and "◀ 上一页" not in first.button_texts
    for _ in range(4):  # 131 people, 30 a page: to the fifth and last page
        await sec.press(first, "下一页 ▶")
        await sec.wait_edit(first)
    assert "下一页 ▶" not in first.button_texts and "◀ 上一页" in first.button_texts
    assert "王书记" in first.button_texts and _names(first)[0] == "党员121"
    await sec.press(first, "党员125")
    ask = await sec.wait_reply()
    assert "党员125" in ask.text and ask.buttons  # on to the indicator


async def test_reviewers_pages_and_a_toggle_keeps_its_page(bot: Harness) -> None:
    sec = await _secretary(bot)
    await sec.send("/reviewers")
    view = await sec.wait_reply()
    assert len(view.button_texts) <= 100
    assert "☐ 党员001" in view.button_texts and "☐ 党员031" not in view.button_texts
    await sec.press(view, "下一页 ▶")
    await sec.wait_edit(view)
    assert "☐ 党员031" in view.button_texts and "☐ 党员001" not in view.button_texts
    await sec.press(view, "☐ 党员045")
    await sec.wait_callback_answer()
    await sec.wait_edit(view)
    assert "☑ 党员045" in view.button_texts  # still the second page, now ticked
    assert await bot.scalar(
        "SELECT can_review FROM memberships m JOIN persons p ON p.id = m.person_id "
        "WHERE p.full_name = '党员045'"
    ) in (1, True)
