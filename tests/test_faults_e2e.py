"""Bot API faults: 5xx, 429, dropped connections and slow answers never lose a user's
action; replies Telegram did not take are delivered later. Leader election."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.clock import FrozenClock
from scheduler.deliveries import deliver_due
from scheduler.leader import LeaderLease
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

pytestmark = pytest.mark.e2e

ROSTER = "name,status,telegram_id\n李明,正式党员,\n"


async def _code(bot: Harness) -> str:
    branch = await bot.create_branch()
    result = await bot.import_roster(branch.join_code, ROSTER)
    return result.codes[0][1]


async def test_reply_refused_by_telegram_is_kept_and_delivered_later(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        code = await _code(bot)
        li = bot.user(3001, "李明")
        bot.emu.inject_fault("sendMessage", status=502, count=8)  # outlasts the retries
        await li.send(f"/start {code}")
        await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)
        await bot.emu.wait_until(lambda: len(bot.emu.calls("sendMessage")) >= 4)
        await li.expect_no_reply(0.3)
        # The binding is kept although the user saw nothing yet.
        await bot.emu.wait_until(lambda: True)
        owner = None
        for _ in range(50):
            owner = await bot.scalar(
                "SELECT a.telegram_user_id FROM telegram_accounts a JOIN persons p "
                "ON p.id = a.person_id WHERE p.full_name = '李明'"
            )
            if owner:
                break
            await li.expect_no_reply(0.05)
        assert owner == 3001
        assert await bot.scalar("SELECT count(*) FROM deliveries WHERE status='pending'") == 2
        bot.emu.clear_faults()
        assert await deliver_due(bot.app) == 0  # not due yet (backoff)
        clock.advance(timedelta(minutes=1))
        assert await deliver_due(bot.app) == 2
        bound, menu = await li.wait_replies(2)
        assert "您的账号已绑定到心内科党支部" in bound.text
        assert "李明" in menu.text
        assert await bot.scalar("SELECT count(*) FROM deliveries WHERE status='sent'") == 2
        assert await deliver_due(bot.app) == 0  # sent once


async def test_a_delivery_claimed_by_a_process_that_died_is_sent_after_its_lease(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    clock = FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    async with running_bot(tmp_path, template_db, clock=clock) as bot:
        code = await _code(bot)
        li = bot.user(3001, "李明")
        await li.send(f"/start {code}")
        await li.wait_replies(2)
        async with bot.uow() as svc:
            await svc.deliveries.queue(3001, "补发的通知", None, "502 Bad Gateway")
        clock.advance(timedelta(minutes=1))
        async with bot.uow() as svc:  # a process claims it, then is killed before sending
            assert len(await svc.deliveries.claim_due()) == 1
        assert await deliver_due(bot.app) == 0  # still leased to the dead process
        clock.advance(timedelta(minutes=6))
        assert await deliver_due(bot.app) == 1
        assert (await li.wait_reply()).text == "补发的通知"
        assert await bot.scalar("SELECT status FROM deliveries") == "sent"
        assert await deliver_due(bot.app) == 0


async def test_server_error_and_rate_limit_are_retried(bot: Harness) -> None:
    code = await _code(bot)
    li = bot.user(3001, "李明")
    bot.emu.inject_fault("sendMessage", status=500, count=1)
    await li.send(f"/start {code}")
    assert "已绑定" in (await li.wait_reply()).text
    await li.wait_reply()
    bot.emu.inject_fault("sendMessage", retry_after=1, count=1)
    await li.send("/help")
    assert "/lang" in (await li.wait_reply(timeout=8)).text
    statuses = [r.status for r in bot.emu.calls("sendMessage")]
    assert 500 in statuses and 429 in statuses


async def test_dropped_and_slow_connections(bot: Harness) -> None:
    code = await _code(bot)
    li = bot.user(3001, "李明")
    bot.emu.inject_fault("getUpdates", drop_connection=True, count=2)
    await li.send(f"/start {code}")
    assert "已绑定" in (await li.wait_reply(timeout=15)).text
    await li.wait_reply()
    bot.emu.inject_fault("sendMessage", delay=1.5, count=1)
    await li.send("/help")
    assert "/lang" in (await li.wait_reply(timeout=8)).text
    # A dropped answer to an edit/answer (safe to repeat) is retried transparently.
    bot.emu.inject_fault("answerCallbackQuery", drop_connection=True, count=1)
    await li.send("/lang")
    choose = await li.wait_reply(timeout=10)
    await li.press(choose, "English")
    assert (await li.wait_reply(timeout=10)).text == "Language set: English."
    assert (
        await bot.scalar("SELECT locale FROM telegram_accounts WHERE telegram_user_id = 3001")
        == "en"
    )


async def test_one_leader_and_takeover_when_it_dies(bot: Harness) -> None:
    clock = FrozenClock(datetime(2026, 11, 20, tzinfo=UTC))
    bot.runtime.clock = clock
    first = LeaderLease(bot.runtime, name="test-lease", holder="first")
    second = LeaderLease(bot.runtime, name="test-lease", holder="second")
    assert await first.ensure() is True
    assert await second.ensure() is False
    clock.advance(timedelta(seconds=20))
    assert await first.ensure() is True  # renewed
    clock.advance(timedelta(seconds=20))
    assert await second.ensure() is False  # still within the renewed lease
    clock.advance(timedelta(seconds=31))  # first died: no renewal for longer than the ttl
    assert await second.ensure() is True
    assert await first.ensure() is False
    await second.release()
    assert await first.ensure() is True
