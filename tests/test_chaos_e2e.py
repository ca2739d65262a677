"""Crash safety: the bot process is killed with SIGKILL at random moments during a
scripted run of about 1,000 updates from 100 users, and restarted each time.

The local Bot API emulator runs in the test process; the bot runs as a separate OS
process (``python -m bot run``), exactly as in production. Users act concurrently, each one
sequentially: send, wait for the bot's answer (the acknowledgement), send the next.

Verdict (see docs/architecture.md, "Crash safety"):
- every action a user got an acknowledgement for has its effect in the database exactly
  once (report text parts, language changes, join requests and their approval);
- no effect is present twice, although some updates are delivered twice (a killed
  process never confirmed them) and some replies are seen twice (sent, then killed
  before the commit);
- every update the users sent is recorded once in ``processed_updates`` and nothing is
  left pending in the emulator after the final restart (liveness: no update is lost).

The random kill moments are seeded; the verdict does not depend on where they fall.
Runs on SQLite, or on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import LOCAL_TOKEN
from bot.runtime import Runtime
from domain.roster import parse_roster
from emulator import BotAPIEmulator, BotMessage, EmulatedUser
from store.db import Database
from tests.databases import TemplateDatabase
from tests.harness import Harness, make_settings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SEED = 20260707
SECRETARY = 1001
MEMBERS = 80  # bound by the roster: language changes and report parts
STRANGERS = 20  # join with the branch code; the secretary approves them
PARTS = 8  # report text parts per member: 12 updates each
#: A process lives this long (seconds) after its first getUpdates before it is killed.
LIFETIME = (0.5, 5.0)
#: Now and then a process is killed while still starting (imports, migrations).
EARLY_KILL_CHANCE = 0.15
#: How long a user waits for an answer before giving up on that action.
ACK_TIMEOUT = 45.0
#: The scripted run must be over by then.
RUN_TIMEOUT = 150.0

PART_ACK = re.compile(r"(?:Part (\d+) received|已收到第 (\d+) 段)")
LANG_ACK = ("Language set:", "语言已设置为", "語言已設置為")
REPORT_ACK = ("Thought report", "思想汇报", "思想匯報")
JOIN_ACK = "您加入心内科党支部的申请已发送给支部书记"
WELCOME = "欢迎加入心内科党支部"
LANG_STEPS = (("/lang en", "en"), ("/lang zh-TW", "zh_Hant"), ("/lang zh", "zh_Hans"))


# -- the bot as an OS process ---------------------------------------------------------
class BotProcess:
    """``branchbot run`` against the emulator as a separate OS process: started, killed
    with SIGKILL, restarted. The processes are forked by ``tests/chaos_launcher.py``
    (started with ``asyncio.create_subprocess_exec``), which has imported the bot once:
    a restart then costs the bot's own start-up, not seconds of Python imports."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.launcher: asyncio.subprocess.Process | None = None
        self.pid: int | None = None
        self.starts = 0
        self.kills = 0

    async def _ask(self, line: str) -> str:
        if self.launcher is None:
            self.launcher = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.chaos_launcher",
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        assert self.launcher.stdin is not None and self.launcher.stdout is not None
        self.launcher.stdin.write(line.encode() + b"\n")
        await self.launcher.stdin.drain()
        answer = await asyncio.wait_for(self.launcher.stdout.readline(), 120)
        assert answer, "the launcher died"
        return answer.decode().strip()

    async def start(self) -> None:
        assert self.pid is None
        self.starts += 1
        self.pid = int(await self._ask("start"))

    async def kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        self.kills += 1
        status = int(await self._ask(f"reap {self.pid}"))
        self.pid = None
        assert os.WIFSIGNALED(status), f"the bot process had exited by itself ({status})"

    async def close(self) -> None:
        if self.pid is not None:
            await self.kill()
        if self.launcher is not None:
            assert self.launcher.stdin is not None
            self.launcher.stdin.close()
            await self.launcher.wait()


# -- what the users did and saw -------------------------------------------------------
@dataclass
class Journal:
    update_ids: list[int] = field(default_factory=list)
    #: member id -> report parts the member got "Part N received" for
    acked_parts: dict[int, list[str]] = field(default_factory=dict)
    #: member id -> every part sent (acknowledged or not)
    sent_parts: dict[int, list[str]] = field(default_factory=dict)
    #: member id -> locales the member got "Language set" for, in order
    acked_locales: dict[int, list[str]] = field(default_factory=dict)
    sent_locales: dict[int, list[str]] = field(default_factory=dict)
    join_acked: set[int] = field(default_factory=set)
    approved_acked: set[int] = field(default_factory=set)
    timeouts: list[str] = field(default_factory=list)


async def _send_until(
    emu: BotAPIEmulator,
    user: EmulatedUser,
    journal: Journal,
    text_: str,
    matches: Callable[[BotMessage], bool],
    *,
    chat: EmulatedUser | None = None,
) -> bool:
    """Send ``text_`` and wait for a new message in ``chat`` (default: the user's own)
    that ``matches``; False when it does not come in time (the action is then not
    acknowledged, and the verdict does not count on it)."""
    watched = chat or user
    seen = len(watched.inbox)
    journal.update_ids.append(await user.send(text_))
    return await _wait_for(emu, watched, seen, matches, journal, f"{user.id}: {text_!r}")


async def _wait_for(
    emu: BotAPIEmulator,
    watched: EmulatedUser,
    seen: int,
    matches: Callable[[BotMessage], bool],
    journal: Journal,
    what: str,
    timeout: float = ACK_TIMEOUT,  # noqa: ASYNC109
) -> bool:
    try:
        await emu.wait_until(lambda: any(matches(m) for m in watched.inbox[seen:]), timeout=timeout)
    except AssertionError:
        journal.timeouts.append(what)
        return False
    return True


def _part_ack(n: int) -> Callable[[BotMessage], bool]:
    def check(m: BotMessage) -> bool:
        found = PART_ACK.search(m.text or "")
        return found is not None and int(found.group(1) or found.group(2)) == n

    return check


def _contains(*needles: str) -> Callable[[BotMessage], bool]:
    return lambda m: any(n in (m.text or "") for n in needles)


async def _member(
    emu: BotAPIEmulator, user: EmulatedUser, rng: random.Random, journal: Journal
) -> None:
    """/lang en, /report, parts 1–4, /lang zh-TW, parts 5–8, /lang zh."""
    uid = user.id
    journal.acked_parts[uid] = []
    journal.sent_parts[uid] = []
    journal.acked_locales[uid] = []
    journal.sent_locales[uid] = []
    await asyncio.sleep(rng.uniform(0, 2))

    async def set_lang(step: int) -> None:
        command, locale = LANG_STEPS[step]
        journal.sent_locales[uid].append(locale)
        if await _send_until(emu, user, journal, command, _contains(*LANG_ACK)):
            journal.acked_locales[uid].append(locale)

    async def part(n: int) -> None:
        body = "".join(rng.choice("学习贯彻党的理论思想汇报") for _ in range(rng.randint(4, 30)))
        part_text = f"u{uid}#{n} {body}"
        journal.sent_parts[uid].append(part_text)
        if await _send_until(emu, user, journal, part_text, _part_ack(n)):
            journal.acked_parts[uid].append(part_text)

    await set_lang(0)
    await _send_until(emu, user, journal, "/report", _contains(*REPORT_ACK))
    for n in range(1, PARTS // 2 + 1):
        await part(n)
    await set_lang(1)
    for n in range(PARTS // 2 + 1, PARTS + 1):
        await part(n)
    await set_lang(2)


async def _stranger(
    emu: BotAPIEmulator,
    user: EmulatedUser,
    secretary: EmulatedUser,
    code: str,
    rng: random.Random,
    journal: Journal,
) -> None:
    """/start CODE (a join request), then the secretary approves it with the button of
    the newest request message about this user (an older one may name a request whose
    transaction died with the process)."""
    uid = user.id
    await asyncio.sleep(rng.uniform(0, 8))
    if not await _send_until(emu, user, journal, f"/start {code}", _contains(JOIN_ACK)):
        return
    journal.join_acked.add(uid)
    seen = len(user.inbox)
    about = re.compile(rf"Telegram ID {uid}\D")
    if not await _wait_for(
        emu, secretary, 0, lambda m: bool(about.search(m.text or "")), journal, f"ask {uid}"
    ):
        return
    for _attempt in range(5):
        asks = [m for m in secretary.inbox if about.search(m.text or "")]
        approve = (
            [b.callback_data for row in asks[-1].buttons for b in row if b.callback_data]
            if asks
            else []
        )
        approve = [data for data in approve if data.endswith(":ok:member")]
        if not approve:  # decided: the message was edited (perhaps before a kill)
            break
        journal.update_ids.append(await secretary.press(asks[-1], data=approve[0]))
        press = secretary._last_callback_id
        refused = False

        def answered(press: str | None = press) -> bool:
            nonlocal refused
            if any(WELCOME in (m.text or "") for m in user.inbox[seen:]):
                return True
            # On PostgreSQL a request whose transaction died keeps its id: its button
            # is refused ("no longer exists"), and the secretary takes the newer one.
            refused = any(
                a.callback_query_id == press and a.show_alert for a in emu.callback_answers()
            )
            return refused

        try:
            await emu.wait_until(answered, timeout=ACK_TIMEOUT)
        except AssertionError:
            break
        if not refused:
            journal.approved_acked.add(uid)
            return
    if await _wait_for(emu, user, seen, _contains(WELCOME), journal, f"approve {uid}"):
        journal.approved_acked.add(uid)


async def _chaos(
    emu: BotAPIEmulator, bot: BotProcess, rng: random.Random, done: asyncio.Event
) -> None:
    """Start the bot, let it live a random while, SIGKILL it; again, until the script is
    done. The last process is left running."""
    while True:
        polls = len(emu.calls("getUpdates"))
        await bot.start()
        early = rng.random() < EARLY_KILL_CHANCE
        if early:
            await asyncio.sleep(rng.uniform(0.2, 2.0))
        else:
            await emu.wait_until(
                lambda polls=polls: len(emu.calls("getUpdates")) > polls,
                timeout=60,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), rng.uniform(*LIFETIME))
        if done.is_set():
            return
        await bot.kill()


async def _verdict(db: Database, journal: Journal, members: list[int]) -> dict[str, Any]:
    async with db.session() as session:

        async def rows(sql: str, **params: Any) -> list[Any]:
            return list((await session.execute(text(sql), params)).all())

        processed = Counter(r[0] for r in await rows("SELECT update_id FROM processed_updates"))
        outcomes = Counter(r[0] for r in await rows("SELECT outcome FROM processed_updates"))
        buffers = {
            r[0]: r[1]
            for r in await rows("SELECT telegram_user_id, text_buffer FROM dialog_states")
        }
        parts_data = {
            r[0]: r[1] for r in await rows("SELECT telegram_user_id, data FROM dialog_states")
        }
        locale_audits = Counter(
            int(r[0])
            for r in await rows("SELECT subject_id FROM audit_log WHERE action = 'account.locale'")
        )
        locales = {
            r[0]: r[1] for r in await rows("SELECT telegram_user_id, locale FROM telegram_accounts")
        }
        join_requests = Counter(
            r[0] for r in await rows("SELECT telegram_user_id FROM join_requests")
        )
        approved = Counter(
            r[0]
            for r in await rows(
                "SELECT a.telegram_user_id FROM telegram_accounts a "
                "JOIN persons p ON p.id = a.person_id "
                "JOIN memberships m ON m.person_id = p.id "
                "WHERE a.telegram_user_id >= 30000"
            )
        )
        people = Counter(
            r[0] for r in await rows("SELECT full_name FROM persons WHERE full_name LIKE '新人%'")
        )

    problems: list[str] = []
    # Updates: every one the users sent is processed, once, without error.
    lost = [u for u in journal.update_ids if u not in processed]
    if lost:
        problems.append(f"{len(lost)} update(s) never processed: {lost[:10]}")
    if outcomes.get("error"):
        problems.append(f"{outcomes['error']} update(s) failed")
    assert all(c == 1 for c in processed.values())  # primary key
    # Report parts: each acknowledged part stored exactly once, none twice, in order.
    for uid in members:
        stored = (buffers.get(uid) or "").split("\n") if buffers.get(uid) else []
        counts = Counter(stored)
        doubled = [p for p, c in counts.items() if c > 1]
        if doubled:
            problems.append(f"member {uid}: part(s) stored twice: {doubled}")
        missing = [p for p in journal.acked_parts[uid] if p not in counts]
        if missing:
            problems.append(f"member {uid}: acknowledged part(s) missing: {missing}")
        order = [p for p in journal.sent_parts[uid] if p in counts]
        if stored != order:
            problems.append(f"member {uid}: parts out of order or unknown: {stored}")
        data = parts_data.get(uid)
        if isinstance(data, str):
            data = json.loads(data)
        if stored and (data or {}).get("parts") != len(stored):
            problems.append(f"member {uid}: dialog counts {data}, {len(stored)} parts stored")
        # Locale: one audit row per effective change, each acknowledged change present.
        audits = locale_audits.get(uid, 0)
        if not len(journal.acked_locales[uid]) <= audits <= len(journal.sent_locales[uid]):
            problems.append(
                f"member {uid}: {audits} locale audit rows for "
                f"{journal.acked_locales[uid]} acknowledged of {journal.sent_locales[uid]}"
            )
        if journal.acked_locales[uid][-1:] == ["zh_Hans"] and locales.get(uid) != "zh_Hans":
            problems.append(f"member {uid}: locale {locales.get(uid)}")
    # Joining: one request and (when approved) one person per applicant.
    for uid in range(30001, 30001 + STRANGERS):
        if join_requests.get(uid, 0) > 1:
            problems.append(f"stranger {uid}: {join_requests[uid]} join requests")
        if uid in journal.join_acked and join_requests.get(uid, 0) != 1:
            problems.append(f"stranger {uid}: acknowledged join request missing")
        if approved.get(uid, 0) > 1:
            problems.append(f"stranger {uid}: {approved[uid]} memberships")
        if uid in journal.approved_acked and approved.get(uid, 0) != 1:
            problems.append(f"stranger {uid}: acknowledged approval missing")
    doubled_people = [name for name, c in people.items() if c > 1]
    if doubled_people:
        problems.append(f"person rows created twice: {doubled_people}")
    assert not problems, "\n".join(problems[:40])
    return {
        "updates": len(journal.update_ids),
        "processed": len(processed),
        "parts": sum(len(v) for v in journal.acked_parts.values()),
        "approved": len(journal.approved_acked),
    }


async def _run(tmp_path: Path, url: str) -> None:
    rng = random.Random(SEED)
    emu = BotAPIEmulator(token=LOCAL_TOKEN)
    await emu.start()
    settings = make_settings(emu, url, tmp_path)
    runtime = Runtime(settings=settings, db=Database(url))
    log_path = tmp_path / "bot.log"
    bot: BotProcess | None = None
    try:
        # The branch, its secretary and a roster of members bound to Telegram ids.
        roster = "name,status,telegram_id\n" + "".join(
            f"党员{i:03d},正式党员,{20001 + i}\n" for i in range(MEMBERS)
        )
        async with runtime.unit_of_work() as svc:
            branch = await svc.membership.create_branch(
                "心内科党支部", SECRETARY, secretary_name="王书记"
            )
            await svc.membership.import_roster(
                branch.join_code, parse_roster(roster.encode(), "roster.csv")
            )
        secretary = emu.user(SECRETARY, "王书记", language_code="zh-hans")
        members = [emu.user(20001 + i, f"党员{i:03d}") for i in range(MEMBERS)]
        strangers = [emu.user(30001 + i, f"新人{i:02d}") for i in range(STRANGERS)]
        journal = Journal()
        # The secretary has talked to the bot before (or it could not write to them).
        journal.update_ids.append(await secretary.send("/start"))

        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": LOCAL_TOKEN,
            "TELEGRAM_API_BASE_URL": emu.base_url,
            "TELEGRAM_API_BASE_FILE_URL": emu.base_file_url,
            "DATABASE_URL": url,
            "BRANCHBOT_STORAGE_DIR": str(tmp_path / "storage"),
            "BRANCHBOT_RETRY_BACKOFF": "0.01",
            "BRANCHBOT_FLOOD_BURST": "10000000",  # every update must be handled
            "BRANCHBOT_REMINDER_TICK_SECONDS": "0",
            "BRANCHBOT_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "CHAOS_LOG": str(log_path),
        }
        bot = BotProcess(env)
        done = asyncio.Event()
        started = time.monotonic()
        chaos = asyncio.create_task(_chaos(emu, bot, random.Random(rng.random()), done))
        users = [_member(emu, m, random.Random(rng.random()), journal) for m in members] + [
            _stranger(emu, s, secretary, branch.join_code, random.Random(rng.random()), journal)
            for s in strangers
        ]

        async def progress() -> None:
            while True:
                await asyncio.sleep(10)
                print(
                    f"{time.monotonic() - started:5.1f} s: {len(journal.update_ids)} sent, "
                    f"{emu.pending_updates} pending, {bot.kills} kills, "
                    f"{len(journal.timeouts)} timeouts",
                    flush=True,
                )

        reporter = asyncio.create_task(progress())
        finished = True
        try:
            await asyncio.wait_for(asyncio.gather(*users), RUN_TIMEOUT)
        except TimeoutError:
            finished = False  # the verdict below says why
        finally:
            reporter.cancel()
            done.set()
            await chaos
        scripted = time.monotonic() - started
        # Liveness: the last process works off everything still pending.
        await emu.wait_until(lambda: emu.pending_updates == 0, timeout=30)
        figures = await _wait_settled(runtime.db, journal, members)
        # Deliveries of an update already committed (the process was killed before
        # it confirmed it), skipped thanks to processed_updates.
        skipped = len(re.findall(r"update \d+ was already processed", log_path.read_text()))
        # Replies sent by a process killed before its commit, and sent again after.
        acks = [(u.id, m.text) for u in members for m in u.inbox if PART_ACK.search(m.text or "")]
        repeated = len(acks) - len(set(acks))
        print(
            f"\nchaos: {figures['updates']} updates sent, {figures['processed']} processed, "
            f"{skipped} repeated deliveries skipped, {repeated} report replies repeated, "
            f"{bot.kills} kills in {bot.starts} starts, {scripted:.1f} s; "
            f"{figures['parts']} acknowledged parts, {figures['approved']} approvals; "
            f"{len(journal.timeouts)} unacknowledged: {journal.timeouts[:5]}"
        )
        assert finished, f"the script did not finish in {RUN_TIMEOUT} s"
        assert len(journal.update_ids) >= 1000
        assert bot.kills >= 10
        assert skipped > 0  # the run did deliver updates twice
    except BaseException:
        if log_path.exists():
            tail = log_path.read_text(errors="replace")[-3000:]
            print(f"bot log (tail):\n{tail}")
        raise
    finally:
        if bot is not None:
            await bot.close()
        await runtime.db.dispose()
        await emu.stop()


async def _wait_settled(db: Database, journal: Journal, members: list[EmulatedUser]) -> Any:
    """The verdict, once the last process has committed what it took (it may still be
    working on the last update when the emulator's queue is already empty)."""
    ids = [m.id for m in members]
    deadline = time.monotonic() + 20
    while True:
        try:
            return await _verdict(db, journal, ids)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, template_db: TemplateDatabase
) -> None:
    url = await template_db.fresh(tmp_path)
    try:
        await _run(tmp_path, url)
    finally:
        await template_db.discard(url)


async def test_an_update_is_confirmed_only_after_it_is_processed(bot: Harness) -> None:
    """The mechanism behind the run above, in one process: while an update's handler is
    still at work (its reply is out, the Bot API's answer slow), the bot has not asked
    for more updates, so Telegram still holds it and would deliver it to a restarted bot."""
    li = bot.user(3001, "李明")
    bot.emu.inject_fault("sendMessage", delay=1.0, after_effect=True)
    await li.send("/lang")
    await li.send("/help")
    assert "语言" in (await li.wait_reply()).text
    assert bot.emu.pending_updates == 2  # neither confirmed: the first is not done yet
    assert "支部助手" in (await li.wait_reply(timeout=5)).text
    await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)
