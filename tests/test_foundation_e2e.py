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


ROSTER = """name,status,telegram_id,group
王书记,正式党员,1001,
李明,正式党员,1002,第一党小组
赵强,入党积极分子,,第二党小组
"""


async def _branch_with_roster(bot: Harness) -> tuple[str, dict[str, str]]:
    branch = await bot.create_branch()
    result = await bot.import_roster(branch.join_code, ROSTER)
    return branch.join_code, dict(result.codes)


async def test_personal_code_binds_once(bot: Harness) -> None:
    _, codes = await _branch_with_roster(bot)
    zhao = bot.user(3001, "Qiang")
    await zhao.send(f"/start {codes['赵强'].lower()}")  # deep-link payload, any case
    bound, menu = await zhao.wait_replies(2)
    assert "您的账号已绑定到心内科党支部" in bound.text
    assert "赵强" in menu.text and "入党积极分子" in menu.text
    assert "/export" not in menu.text  # members do not see secretary commands
    await zhao.send(f"/start {codes['赵强']}")
    assert "您已绑定到心内科党支部" in (await zhao.wait_reply()).text
    await zhao.wait_reply()  # menu again
    thief = bot.user(3002, "冒用者")
    await thief.send(f"/start {codes['赵强']}")
    assert "已被其他账号使用" in (await thief.wait_reply()).text
    owner = await bot.scalar(
        "SELECT telegram_user_id FROM telegram_accounts a "
        "JOIN persons p ON p.id = a.person_id WHERE p.full_name = '赵强'"
    )
    assert owner == 3001
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'account.bind'") == 1


async def test_menus_by_role(bot: Harness) -> None:
    code, _ = await _branch_with_roster(bot)
    member = bot.user(1002, "李明")
    await member.send("/start")
    menu = await member.wait_reply()
    assert "身份：正式党员" in menu.text and "职务" not in menu.text
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    newcomer = bot.user(3003, "新人")
    await newcomer.send(f"/start {code}")
    await newcomer.wait_reply()
    await sec.wait_reply()  # the join request
    await sec.send("/start")
    sec_menu = await sec.wait_reply()
    assert "职务：支部书记" in sec_menu.text
    assert "有 1 条入支部申请等待您审批" in sec_menu.text
    assert "/export" in sec_menu.text
    await member.send("/help")
    help_text = (await member.wait_reply()).text
    assert "/lang" in help_text and "/export" not in help_text


async def test_language_switch_and_telegram_language(bot: Harness) -> None:
    await _branch_with_roster(bot)
    member = bot.user(1002, "李明")
    await member.send("/lang")
    choose = await member.wait_reply()
    assert choose.button_texts == ["简体中文", "繁體中文", "English"]
    await member.press(choose, "English")
    assert (await member.wait_reply()).text == "Language set: English."
    await member.send("/start")
    menu = await member.wait_reply()
    assert "Status: full member" in menu.text and "What you can do:" in menu.text
    await member.send("/lang zh-TW")
    assert (await member.wait_reply()).text == "語言已設置為：繁體中文。"
    await member.send("/lang klingon")
    unknown = await member.wait_reply()
    assert "不支持的語言 klingon" in unknown.text
    # A stranger whose Telegram is in English gets English without choosing.
    visitor = bot.user(4001, "Visitor", language_code="en")
    await visitor.send("/start")
    assert "To join, ask your branch secretary" in (await visitor.wait_reply()).text
    hk = bot.user(4002, "訪客", language_code="zh-hant-hk")
    await hk.send("/start")
    assert "支部書記" in (await hk.wait_reply()).text


async def test_commands_published_per_language(bot: Harness) -> None:
    zh = {c["command"]: c["description"] for c in bot.emu.commands(language_code="zh")}
    en = {c["command"]: c["description"] for c in bot.emu.commands(language_code="en")}
    assert zh["help"] == "我能为您做什么"
    assert en["help"] == "What I can do for you"
    assert "export" not in zh  # secretary commands only in secretaries' own chats


async def test_stranger_refused_politely(bot: Harness) -> None:
    await _branch_with_roster(bot)
    stranger = bot.user(4003, "路人")
    await stranger.send("我想看看积分")
    assert "我只为支部成员服务" in (await stranger.wait_reply()).text
    await stranger.send("/nonsense")
    assert "没有这个命令" in (await stranger.wait_reply()).text
    await stranger.send("/start 12")
    assert "这个码无效" in (await stranger.wait_reply()).text


async def test_forged_and_foreign_callbacks_refused(bot: Harness) -> None:
    code, _ = await _branch_with_roster(bot)
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    newcomer = bot.user(3004, "新人")
    await newcomer.send(f"/start {code}")
    await newcomer.wait_reply()
    request = await sec.wait_reply()
    approve = request.buttons[0][0].callback_data or ""
    member = bot.user(1002, "李明")
    await member.send("/start")
    menu = await member.wait_reply()
    # A member replays the secretary's approve button on one of their own messages.
    await member.press_raw(menu.message_id, approve)
    answer = await member.wait_callback_answer()
    assert answer.show_alert and answer.text == "只有支部书记可以处理此事。"
    for forged in ["jr:1:ok:emperor", "xx", "jr:abc:ok", "lang:0:set:fr", "pt:99999:zz"]:
        await member.press_raw(menu.message_id, forged)
        answer = await member.wait_callback_answer()
        assert answer.text == "这个按钮已失效。", forged
    assert await bot.scalar("SELECT count(*) FROM persons WHERE full_name = '新人'") == 0
    assert await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'join.denied'") == 1
    # A secretary of another branch cannot decide this branch's request either.
    other = await bot.create_branch("外科党支部", secretary=1009, secretary_name="外科书记")
    assert other.join_code != code
    outsider = bot.user(1009, "外科书记")
    await outsider.send("/start")
    outsider_menu = await outsider.wait_reply()
    await outsider.press_raw(outsider_menu.message_id, approve)
    assert (await outsider.wait_callback_answer()).text == "只有支部书记可以处理此事。"


async def test_duplicated_update_applied_once(bot: Harness) -> None:
    code, _ = await _branch_with_roster(bot)
    sec = bot.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    newcomer = bot.user(3005, "重复")
    update_id = await newcomer.send(f"/start {code}")
    await newcomer.wait_reply()
    request = await sec.wait_reply()
    await bot.emu.redeliver(update_id)
    await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)
    await newcomer.expect_no_reply(0.5)
    await sec.expect_no_reply(0.1)
    assert await bot.scalar("SELECT count(*) FROM join_requests") == 1
    press_id = await sec.press(request, "正式党员")
    await sec.wait_callback_answer()
    await bot.emu.redeliver(press_id)
    await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)
    await newcomer.wait_reply()  # welcome, once
    await newcomer.expect_no_reply(0.5)
    assert await bot.scalar("SELECT count(*) FROM persons WHERE full_name = '重复'") == 1
    assert (
        await bot.scalar("SELECT count(*) FROM processed_updates WHERE update_id = :u", u=update_id)
        == 1
    )


async def test_secretary_gives_a_committee_member_review_rights(bot: Harness) -> None:
    code, _ = await _branch_with_roster(bot)
    sec = bot.user(1001, "王书记")
    member = bot.user(1002, "李明")
    for u in (sec, member):
        await u.send("/start")
        await u.wait_reply()
    await member.send("/reviewers")
    assert "只有支部书记" in (await member.wait_reply()).text
    await sec.send("/reviewers")
    view = await sec.wait_reply()
    assert "审核权限" in view.text and "☐ 李明" in view.button_texts
    grant_data = view.buttons[[b for b in view.button_texts].index("☐ 李明")][0].callback_data
    # A member replaying the secretary's button is refused and audited.
    await member.press_raw(member.inbox[-1].message_id, grant_data or "")
    assert (await member.wait_callback_answer()).text == "只有支部书记才能进行此操作。"
    await sec.press(view, "☐ 李明")
    assert (await sec.wait_callback_answer()).text == "李明 现在可以审核。"
    await sec.wait_edit(view)
    assert "☑ 李明" in view.button_texts
    # Their own command menu gains the reviewers' commands at once (not at the next start).
    chat_scope = {"type": "chat", "chat_id": 1002}
    await bot.emu.wait_until(lambda: bool(bot.emu.commands(chat_scope)))
    mine = {c["command"]: c["description"] for c in bot.emu.commands(chat_scope)}
    assert "pending" in mine and "claim" in mine
    # Switching language re-publishes it in the new language.
    await member.send("/lang en")
    assert (await member.wait_reply()).text == "Language set: English."
    await bot.emu.wait_until(
        lambda: any(
            c["command"] == "pending" and c["description"] != mine["pending"]
            for c in bot.emu.commands(chat_scope)
        )
    )
    await member.send("/lang zh_cn")
    await member.wait_reply()
    await member.send("/start")
    menu = await member.wait_reply()
    assert "职务：支委" in menu.text and "/pending" in menu.text
    # The new reviewer gets the next join request too.
    newcomer = bot.user(3010, "新人")
    await newcomer.send(f"/start {code}")
    await newcomer.wait_reply()
    assert "入支部申请" in (await member.wait_reply()).text
    await sec.wait_reply()
    await sec.press(view, "☑ 李明")
    assert (await sec.wait_callback_answer()).text == "李明 不再审核。"
    await bot.emu.wait_until(lambda: bot.emu.commands(chat_scope) == [])  # default menu again
    assert (
        await bot.scalar("SELECT count(*) FROM audit_log WHERE action = 'membership.reviewer'") == 2
    )
    assert (
        await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'access.denied' "
            "AND actor_telegram_id = 1002"
        )
        == 2
    )
