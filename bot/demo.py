"""``branchbot demo``: chat with the bot in a terminal, with no token and no network.

The real Application runs against the in-process local Bot API emulator (over HTTP on
127.0.0.1). A demo branch is created with a secretary and a few members; you type as one
of them and switch user with ``:as``. Inline buttons are shown numbered; press one with
``#N``. Reads standard input, so it can be scripted:
``printf '/start\\n:as new\\n/start CODE\\n' | branchbot demo``.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.app import LOCAL_TOKEN, build_application
from bot.context import BranchApp
from bot.runtime import Runtime
from bot.settings import Settings
from domain.roster import parse_roster
from emulator import BotAPIEmulator, BotMessage, EmulatedUser
from store.db import Database

DEMO_BRANCH = "示范党支部"
SECRETARY = (1001, "王书记")
DEMO_ORG = "示范医院党委"
ORG_ADMIN = 9000
ROSTER = """name,status,telegram_id,group,joined_on
王书记,正式党员,1001,第一党小组,2005-07-01
李明,正式党员,1002,第一党小组,2012-06-18
张丽,预备党员,1003,第二党小组,2026-05-20
赵强,入党积极分子,,第二党小组,
陈晨,入党申请人,1004,第二党小组,
"""
HELP = """\
Commands / 命令:
  (any text)        send it to the bot as the current user / 以当前用户身份发送
  #N                press button N of the last message with buttons / 按第 N 个按钮
  :as sec|member|probationary|new|ID [NAME]   switch user / 切换用户
  :who              list demo users / 列出示范用户
  {join_code} and {code:NAME} in a line are replaced by the branch join code and NAME's
  personal code, for scripts / 脚本中可用 {join_code} 与 {code:姓名} 代替加入码与个人码
  :dashboard        print a link that opens the Mini App dashboard (as this user) in a
                    browser / 在浏览器中以当前用户身份打开看板
  :meeting          the secretary schedules a meeting starting in 15 minutes and its
                    notice (参加 / 请假 / 签到) goes out now / 安排一次会议并立即发通知
  :help             this help
  :quit             leave / 退出
"""


@dataclass
class DemoUser:
    key: str
    user: EmulatedUser
    label: str


@dataclass
class Demo:
    emu: BotAPIEmulator
    app: BranchApp
    out: TextIO
    users: dict[str, DemoUser] = field(default_factory=dict)
    current: str = "sec"
    shown: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    answers_seen: int = 0
    placeholders: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, user_id: int, name: str, label: str) -> None:
        self.users[key] = DemoUser(key, self.emu.user(user_id, name), label)

    @property
    def me(self) -> DemoUser:
        return self.users[self.current]

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def render(self, owner: DemoUser, msg: BotMessage, edited: bool) -> None:
        head = f"── {owner.label} ← 支部助手" + (" (已编辑 edited)" if edited else "") + " ──"
        self.print(head)
        body = msg.text or ""
        if msg.photo is not None:
            body = f"[图片 photo, {len(msg.photo)} bytes] " + body
        if msg.document is not None:
            body = f"[文件 file: {msg.document[0]}] " + body
        self.print(body)
        buttons = [b for row in msg.buttons for b in row]
        if buttons:
            self.print("  " + "  ".join(f"[{i}] {b.text}" for i, b in enumerate(buttons, 1)))

    async def settle(self, quiet: float = 0.4, limit: float = 6.0) -> None:
        """Wait until the bot has been quiet for a moment, then print what it sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        last_count = -1
        quiet_since = loop.time()
        while loop.time() < deadline:
            count = len(self.emu.requests)
            if count != last_count:
                last_count, quiet_since = count, loop.time()
            elif loop.time() - quiet_since >= quiet and self.emu.pending_updates == 0:
                break
            await asyncio.sleep(0.05)
        self.flush()

    def flush(self) -> None:
        for owner in self.users.values():
            for msg in owner.user.inbox:
                key = (msg.chat_id, msg.message_id)
                state = (msg.text or "", repr(msg.buttons))
                before = self.shown.get(key)
                if before != state:
                    self.shown[key] = state
                    self.render(owner, msg, edited=before is not None)
        answers = self.emu.callback_answers()
        for answer in answers[self.answers_seen :]:
            if answer.text:
                self.print(f"  (提示 notice) {answer.text}")
        self.answers_seen = len(answers)

    def last_with_buttons(self) -> BotMessage | None:
        for msg in reversed(self.me.user.inbox):
            if msg.buttons and not msg.deleted:
                return msg
        return None

    async def handle(self, line: str) -> bool:
        line = line.strip()
        if not line:
            return True
        if line in {":quit", ":q", ":exit"}:
            return False
        if line == ":help":
            self.print(HELP)
        elif line == ":who":
            for key, u in self.users.items():
                mark = "*" if key == self.current else " "
                self.print(f" {mark} {key:<13} {u.label}")
        elif line == ":dashboard":
            self.print(self.dashboard_link())
        elif line == ":meeting":
            await self.meeting()
        elif line.startswith(":as"):
            self.switch(shlex.split(line)[1:])
        elif line.startswith("#") and line[1:].isdigit():
            await self.press(int(line[1:]))
        elif line.startswith(":"):
            self.print("unknown demo command; :help")
        else:
            for key, value in self.placeholders.items():
                line = line.replace("{" + key + "}", value)
            self.print(f"{self.me.label} → {line}")
            await self.me.user.send(line)
            await self.settle()
        return True

    def dashboard_link(self) -> str:
        """A URL with a valid Telegram initData for the current user (what Telegram puts
        in the fragment when it opens the Mini App)."""
        from urllib.parse import quote

        from bot.webapp_auth import make_init_data

        port = self.app.bot_data.get("webapp_port")
        if port is None:
            return "the dashboard server is not running"
        user = self.me.user
        init_data = make_init_data(LOCAL_TOKEN, user.id, self.me.label.split()[0])
        return f"http://127.0.0.1:{port}/webapp/#tgWebAppData={quote(init_data, safe='')}"

    def switch(self, args: list[str]) -> None:
        if not args:
            self.print("usage: :as sec|member|probationary|new|ID [NAME]")
            return
        key = args[0]
        if key not in self.users and key.isdigit():
            name = args[1] if len(args) > 1 else f"用户{key}"
            self.add(key, int(key), name, f"{name} ({key})")
        if key not in self.users:
            self.print(f"no such user {key!r}; :who lists them")
            return
        self.current = key
        self.print(f"(now typing as {self.me.label})")

    async def meeting(self) -> None:
        """One meeting from notice to minutes: scheduled by the secretary 15 minutes
        ahead (check-in is open), its notice sent at once to the people concerned."""
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        from handlers.meetings_jobs import run_notices

        for u in self.users.values():
            u.user.started = True
        when = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=15)
        line = f"/meeting_new 党员大会 {when:%Y-%m-%d %H:%M} 示范党员大会 | 三楼会议室"
        sec = self.users["sec"]
        self.print(f"{sec.label} → {line}")
        await sec.user.send(line)
        await self.settle()
        await run_notices(self.app)
        await self.settle()
        self.print(
            "(as a member press 参加 / 请假 / 签到; as sec: 点名, 会议记录, 结束会议 on the "
            "meeting message / 成员可按 参加、请假、签到；书记可点名、记会议记录、结束会议)"
        )

    async def press(self, number: int) -> None:
        msg = self.last_with_buttons()
        buttons = [b for row in msg.buttons for b in row] if msg else []
        if msg is None or not 1 <= number <= len(buttons):
            self.print("no such button")
            return
        chosen = buttons[number - 1]
        self.print(f"{self.me.label} presses [{number}] {chosen.text}")
        await self.me.user.press_raw(msg.message_id, chosen.callback_data or "")
        await self.settle()


async def _seed(runtime: Runtime) -> tuple[str, list[tuple[str, str]]]:
    """Create the demo branch (once per database) and import its roster (idempotent)."""
    from sqlalchemy import select

    from store.models import Branch

    async with runtime.unit_of_work() as svc:
        existing = (
            await svc.session.scalars(select(Branch).where(Branch.name == DEMO_BRANCH))
        ).first()
        if existing is None:
            info = await svc.membership.create_branch(
                DEMO_BRANCH, SECRETARY[0], secretary_name=SECRETARY[1]
            )
            join_code = info.join_code
        else:
            join_code = existing.join_code
        result = await svc.membership.import_roster(
            join_code, parse_roster(ROSTER.encode(), "roster.csv")
        )
        if not await svc.organisation.is_admin(ORG_ADMIN):
            org = await svc.organisation.create(DEMO_ORG, admin_telegram_id=ORG_ADMIN)
            await svc.organisation.attach(org.id, join_code)
    return join_code, result.codes


async def run_demo(
    database: Path | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    with tempfile.TemporaryDirectory(prefix="branchbot-demo-") as tmp:
        db_path = database or Path(tmp) / "demo.sqlite3"
        emu = BotAPIEmulator(token=LOCAL_TOKEN)
        await emu.start()
        settings = Settings(
            TELEGRAM_BOT_TOKEN=LOCAL_TOKEN,
            TELEGRAM_API_BASE_URL=emu.base_url,
            TELEGRAM_API_BASE_FILE_URL=emu.base_file_url,
            DATABASE_URL=f"sqlite:///{db_path}",
            BRANCHBOT_STORAGE_DIR=Path(tmp) / "storage",
            BRANCHBOT_WEBAPP_LISTEN="127.0.0.1:0",
            BRANCHBOT_WEBAPP_URL="http://127.0.0.1/webapp/",
        )
        runtime = Runtime(settings=settings, db=Database(settings.database_url))
        await runtime.db.upgrade()
        join_code, codes = await _seed(runtime)
        app = build_application(runtime)
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        port = app.bot_data.get("webapp_port")
        settings.webapp_url = f"http://127.0.0.1:{port}/webapp/"
        demo = Demo(emu=emu, app=app, out=out)
        demo.placeholders["join_code"] = join_code
        demo.placeholders.update({f"code:{name}": code for name, code in codes})
        demo.add("sec", SECRETARY[0], SECRETARY[1], "王书记 (支部书记 secretary, 1001)")
        demo.add("member", 1002, "李明", "李明 (正式党员 member, 1002)")
        demo.add("probationary", 1003, "张丽", "张丽 (预备党员 probationary, 1003)")
        demo.add("new", 2001, "陈新", "陈新 (新人 newcomer, 2001)")
        demo.add(
            "admin", ORG_ADMIN, "院党委", f"院党委 (organisation admin 组织管理员, {ORG_ADMIN})"
        )
        demo.print("支部助手 Branch Assistant — local demo (no Telegram, no network)")
        demo.print(f"Branch 支部: {DEMO_BRANCH}; join code 加入码: {join_code}")
        for name, code in codes:
            demo.print(f"Personal code 个人码 of {name}: {code}")
        demo.print(HELP)
        demo.print(f"(now typing as {demo.me.label})")
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, stdin.readline)
                if not line:
                    break
                if not await demo.handle(line):
                    break
        finally:
            await demo.settle(quiet=0.2, limit=2.0)
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
            await emu.stop()
            demo.print("bye 再见")
