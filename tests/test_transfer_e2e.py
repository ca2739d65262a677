"""/transfer (组织关系转出): the secretary moves a member out of the branch; the member's
records stay, they leave the branch's lists, and another branch can take them in as the
same person."""

from __future__ import annotations

from tests.harness import Harness

ROSTER = """name,status,telegram_id
王书记,正式党员,1001
李明,正式党员,1002
张华,预备党员,1003
"""


async def _setup(bot: Harness) -> str:
    branch = await bot.create_branch()
    await bot.import_roster(branch.join_code, ROSTER)
    for uid, name in ((1001, "王书记"), (1002, "李明"), (1003, "张华")):
        user = bot.user(uid, name)
        await user.send("/start")
        await user.wait_reply()
    return branch.join_code


async def _person(bot: Harness, telegram_id: int) -> int:
    return int(
        await bot.scalar(
            "SELECT person_id FROM telegram_accounts WHERE telegram_user_id = :t", t=telegram_id
        )
    )


async def test_secretary_transfers_a_member_out_and_another_branch_takes_them_in(
    bot: Harness,
) -> None:
    await _setup(bot)
    sec, li = bot.user(1001, "王书记"), bot.user(1002, "李明")
    li_person = await _person(bot, 1002)
    await sec.send("/transfer")
    view = await sec.wait_reply()
    assert "组织关系转出" in view.text
    assert sorted(view.button_texts) == ["张华", "李明"]  # everyone but the secretary
    await sec.press(view, "李明")
    await sec.wait_edit(view)
    assert "确定将 李明 的组织关系转出本支部吗" in view.text
    assert view.button_texts == ["✅ 确认转出", "✖ 取消"]
    confirm = next(b.callback_data for row in view.buttons for b in row if "确认" in b.text)
    await sec.press(view, "确认转出")
    await sec.wait_edit(view)
    assert view.text == "已将 李明 的组织关系转出本支部。"
    notice = await li.wait_reply()
    assert "您的组织关系已从心内科党支部转出" in notice.text
    assert await bot.scalar(
        "SELECT count(*) FROM memberships WHERE person_id = :p AND ended_at IS NOT NULL",
        p=li_person,
    )
    assert (
        await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'membership.transfer_out' "
            "AND subject_id = :p",
            p=str(li_person),
        )
        == 1
    )
    # A second tap (or an old confirmation) changes nothing and says why.
    await sec.press_raw(view.message_id, confirm or "")
    assert (await sec.wait_callback_answer()).text == "该党员不在您的支部。"
    # Li is no longer a member here: no member menu, no member commands.
    await li.send("/points")
    assert "我只为支部成员服务" in (await li.wait_reply()).text
    await sec.send("/transfer")
    assert (await sec.wait_reply()).button_texts == ["张华"]

    # Another branch takes him in with its join code: the same person, history kept.
    async with bot.uow() as svc:
        other = await svc.membership.create_branch("外科党支部", 2001, secretary_name="刘书记")
    sec2 = bot.user(2001, "刘书记")
    await sec2.send("/start")
    await sec2.wait_reply()
    await li.send(f"/start {other.join_code}")
    await li.wait_reply()
    request = await sec2.wait_reply()
    await sec2.press(request, "正式党员")
    await sec2.wait_callback_answer()
    await li.wait_reply()
    assert await _person(bot, 1002) == li_person
    assert (
        await bot.scalar(
            "SELECT count(*) FROM memberships WHERE person_id = :p AND ended_at IS NULL",
            p=li_person,
        )
        == 1
    )


async def test_transfer_is_the_secretarys_alone(bot: Harness) -> None:
    await _setup(bot)
    sec, li = bot.user(1001, "王书记"), bot.user(1002, "李明")
    await li.send("/transfer")
    assert "只有支部书记" in (await li.wait_reply()).text
    zhang = await _person(bot, 1003)
    await li.press_raw(li.inbox[-1].message_id, f"mb:{zhang}:tro")
    assert (await li.wait_callback_answer()).text == "只有支部书记才能进行此操作。"
    # The secretary cannot transfer themselves (not even with a forged button).
    await sec.send("/transfer")
    view = await sec.wait_reply()
    assert "王书记" not in view.button_texts
    await sec.press_raw(view.message_id, f"mb:{await _person(bot, 1001)}:tro")
    assert (await sec.wait_callback_answer()).text == "支部书记不能转出自己的组织关系。"
    await sec.press(view, "张华")
    await sec.wait_edit(view)
    await sec.press(view, "取消")
    await sec.wait_edit(view)
    assert view.text == "未作任何更改。"
    assert await bot.scalar("SELECT count(*) FROM memberships WHERE ended_at IS NOT NULL") == 0
    assert (
        await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'access.denied' "
            "AND actor_telegram_id = 1002"
        )
        == 2
    )


async def test_a_roster_import_takes_a_transferred_member_back_as_the_same_person(
    bot: Harness,
) -> None:
    code = await _setup(bot)
    li_person = await _person(bot, 1002)
    async with bot.uow() as svc:
        viewer = await svc.membership.viewer_of(1001)
        await svc.membership.transfer_out(viewer, li_person)
    result = await bot.import_roster(code, ROSTER.replace("李明,正式党员", "李明,预备党员"))
    assert (result.created, result.updated, result.unchanged) == (1, 0, 2)
    assert await _person(bot, 1002) == li_person  # the same person, history kept
    assert (
        await bot.scalar("SELECT count(*) FROM memberships WHERE person_id = :p", p=li_person) == 2
    )  # the old, ended membership and the new one
    assert await bot.scalar("SELECT status FROM persons WHERE id = :p", p=li_person) == (
        "probationary"
    )
    again = await bot.import_roster(code, ROSTER.replace("李明,正式党员", "李明,预备党员"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)  # idempotent
