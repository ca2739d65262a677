"""Webhook mode, end to end: two bot instances serving one webhook (through a small
round-robin proxy standing in for the load balancer) on one database and one Bot API
emulator. Updates are handled on either instance, acknowledged only once committed,
re-deliveries have their effect once, one instance runs the scheduler, and a dialog
started on one instance continues on the other."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import LOCAL_TOKEN, build_application
from bot.context import BranchApp
from bot.runtime import Runtime
from bot.webhook import SECRET_HEADER, ChatLocks, WebhookServer, register_webhook, serve_webhook
from domain.clock import Clock, FrozenClock
from emulator import BotAPIEmulator, EmulatedUser
from scheduler.leader import LeaderLease
from store.db import Database
from tests.databases import TemplateDatabase
from tests.harness import Harness, make_settings, stop_app

pytestmark = pytest.mark.e2e

SECRET = "s3cret-token_for-tests"
PATH = "/telegram/webhook"
NOW = datetime(2026, 8, 15, 2, 0, tzinfo=UTC)  # a quarter in which thought reports are due
ROSTER = "name,status,telegram_id\n张预备,probationary,2001\n李明,正式党员,\n"
LEASE_TTL = timedelta(seconds=2)
REPO_ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass
class Instance:
    name: str
    app: BranchApp
    runtime: Runtime
    server: WebhookServer
    stopped: bool = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def leader(self) -> LeaderLease:
        lease: LeaderLease = self.app.bot_data["leader"]
        return lease

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.server.stop(timeout=5)
            await stop_app(self.app)


async def start_instance(
    name: str, emu: BotAPIEmulator, url: str, tmp_path: Path, clock: Clock
) -> Instance:
    runtime = Runtime(settings=make_settings(emu, url, tmp_path), db=Database(url), clock=clock)
    app = build_application(runtime)
    app.bot_data["leader"] = LeaderLease(runtime, ttl=LEASE_TTL, holder=name)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    server = await serve_webhook(
        app, listen_host="127.0.0.1", listen_port=0, url_path=PATH, secret=SECRET
    )
    return Instance(name, app, runtime, server)


@dataclass
class Delivery:
    update_id: int
    backend: str
    status: int
    answered: int


@dataclass
class Balancer:
    """A round-robin reverse proxy (the load balancer in front of the instances).
    ``pin`` sends everything to one instance; ``lose_acks`` answers the emulator 500
    after the instance handled the update (the acknowledgement is lost on the way)."""

    backends: list[Instance]
    pin: Instance | None = None
    lose_acks: int = 0
    log: list[Delivery] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _turn: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        self._turn = itertools.count()
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _choose(self) -> Instance:
        if self.pin is not None:
            return self.pin
        alive = [b for b in self.backends if not b.stopped]
        return alive[next(self._turn) % len(alive)]

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        backend = self._choose()
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k == SECRET_HEADER}
        headers["Content-Type"] = "application/json"
        try:
            async with self._session.post(backend.base + PATH, data=body, headers=headers) as r:
                status = r.status
        except aiohttp.ClientError:
            status = 502
        answered = status
        if status == 200 and self.lose_acks > 0:
            self.lose_acks -= 1
            answered = 500
        self.log.append(Delivery(json.loads(body)["update_id"], backend.name, status, answered))
        return web.Response(status=answered)

    def handled_by(self, update_id: int) -> list[str]:
        return [d.backend for d in self.log if d.update_id == update_id and d.status == 200]


@dataclass
class Cluster:
    emu: BotAPIEmulator
    a: Instance
    b: Instance
    lb: Balancer
    harness: Harness  # database helpers, on instance a's runtime

    def user(self, user_id: int, name: str) -> EmulatedUser:
        return self.harness.user(user_id, name)

    async def scalar(self, sql: str, **params: Any) -> Any:
        return await self.harness.scalar(sql, **params)

    async def db(self, sql: str, expected: Any, **params: Any) -> None:
        """The bot commits just after it replies, so wait briefly for a value."""
        value = None
        for _ in range(100):
            value = await self.scalar(sql, **params)
            if value == expected:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{sql!r} gave {value!r}, expected {expected!r}")

    async def idle(self) -> None:
        await self.emu.wait_until(lambda: self.emu.pending_updates == 0)


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Poll a condition that no emulator event announces (leases, counters)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


async def get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json()


async def post(url: str, payload: Any, secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=payload, headers=headers) as resp,
    ):
        return resp.status


@pytest.fixture
async def cluster(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Cluster]:
    emu = BotAPIEmulator(token=LOCAL_TOKEN)
    await emu.start()
    url = await template_db.fresh(tmp_path)
    a = await start_instance("instance-a", emu, url, tmp_path, FrozenClock(NOW))
    b = await start_instance("instance-b", emu, url, tmp_path, FrozenClock(NOW))
    lb = Balancer([a, b])
    await lb.start()
    await register_webhook(a.app, lb.url, SECRET)
    harness = Harness(emu=emu, app=a.app, runtime=a.runtime, tmp_path=tmp_path)
    try:
        yield Cluster(emu, a, b, lb, harness)
    finally:
        await lb.stop()
        for instance in (a, b):
            await instance.stop()
        await emu.stop()
        await template_db.discard(url)


async def setup_branch(c: Cluster) -> tuple[str, str, EmulatedUser]:
    branch = await c.harness.create_branch()
    result = await c.harness.import_roster(branch.join_code, ROSTER)
    sec = c.user(1001, "王书记")
    await sec.send("/start")
    await sec.wait_reply()
    await c.idle()  # acknowledged
    return branch.join_code, result.codes[0][1], sec


async def test_webhook_is_set_with_secret_and_kept(cluster: Cluster) -> None:
    (call,) = cluster.emu.calls("setWebhook")
    assert call.params["url"] == cluster.lb.url
    assert call.params["secret_token"] == SECRET
    assert not call.params.get("drop_pending_updates")
    assert "callback_query" in call.params["allowed_updates"]
    await cluster.a.stop()
    assert cluster.emu.calls("deleteWebhook") == []
    assert cluster.emu.webhook_url == cluster.lb.url  # the other instance still serves it


async def test_join_request_handled_across_instances(cluster: Cluster) -> None:
    join_code, _, sec = await setup_branch(cluster)
    newcomer = cluster.user(5002, "陈新")
    ask = await newcomer.send(f"/start {join_code}")
    assert "已发送给支部书记" in (await newcomer.wait_reply()).text
    request = await sec.wait_reply()
    assert "陈新" in request.text
    press = await sec.press(request, "预备党员")
    assert (await sec.wait_callback_answer()).text == "已完成。"
    assert "欢迎加入心内科党支部" in (await newcomer.wait_reply()).text
    await cluster.db(
        "SELECT p.status FROM persons p JOIN telegram_accounts a ON a.person_id = p.id "
        "WHERE a.telegram_user_id = 5002",
        "probationary",
    )
    await cluster.idle()
    # The request and the decision were handled by different instances.
    assert cluster.lb.handled_by(ask) != cluster.lb.handled_by(press)
    assert {d.backend for d in cluster.lb.log} == {"instance-a", "instance-b"}
    assert all(d.answered == 200 for d in cluster.lb.log)
    processed = 0
    for instance in (cluster.a, cluster.b):
        status, health = await get_json(instance.base + "/healthz")
        assert status == 200 and health["updates_processed"] >= 1
        processed += health["updates_processed"]
    assert processed == len(cluster.lb.log) == 3


async def test_wrong_or_missing_secret_is_refused(cluster: Cluster) -> None:
    sec = cluster.user(1001, "王书记")
    update_id = await sec.send("/start")
    await sec.wait_reply()
    payload = dict(cluster.emu._history[update_id], update_id=990001)
    target = cluster.a.base + PATH
    assert await post(target, payload, "wrong-secret") == 403
    assert await post(target, payload, None) == 403
    assert await post(target, payload, SECRET[:-1]) == 403
    await sec.expect_no_reply(0.2)
    assert (
        await cluster.scalar("SELECT count(*) FROM processed_updates WHERE update_id=990001") == 0
    )
    assert await post(target, {"not": "an update"}, SECRET) == 400
    assert await post(target, payload, SECRET) == 200
    assert "支部书记" in (await sec.wait_reply()).text
    assert (
        await cluster.scalar("SELECT count(*) FROM processed_updates WHERE update_id=990001") == 1
    )


async def test_failed_handler_is_acknowledged_once(cluster: Cluster) -> None:
    from telegram.ext import CommandHandler

    async def boom(update: object, ctx: object) -> None:
        raise RuntimeError("a bug")

    for instance in (cluster.a, cluster.b):  # /help has a bug now
        for handler in instance.app.handlers[0]:
            if isinstance(handler, CommandHandler) and "help" in handler.commands:
                handler.callback = boom
    user = cluster.user(5001, "陌生人")
    update_id = await user.send("/help")
    assert "本次操作未生效" in (await user.wait_reply()).text
    await cluster.idle()
    # The member was told; Telegram gets 200 and does not re-deliver a poisoned update.
    assert [d.answered for d in cluster.lb.log if d.update_id == update_id] == [200]
    await cluster.db(
        "SELECT outcome FROM processed_updates WHERE update_id = :u", "error", u=update_id
    )
    await user.expect_no_reply(0.3)


async def test_health_and_unreachable_database(cluster: Cluster, tmp_path: Path) -> None:
    status, health = await get_json(cluster.a.base + "/healthz")
    assert status == 200
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["instance"] == "instance-a"
    assert isinstance(health["scheduler_leader"], bool)
    assert {"updates_processed", "in_flight", "uptime_s"} <= health.keys()

    await setup_branch(cluster)
    cluster.lb.pin = cluster.a
    good = cluster.a.runtime.db
    if good.dialect == "sqlite":
        gone = Database(f"sqlite:///{tmp_path / 'gone' / 'branchbot.sqlite3'}")
    else:
        gone = Database("postgresql://branchbot:branchbot@127.0.0.1:1/branchbot")
    cluster.a.runtime.db = gone
    try:
        status, health = await get_json(cluster.a.base + "/healthz")
        assert status == 503 and health["database"] == "unreachable"
        li = cluster.user(1001, "王书记")
        update_id = await li.send("/help")
        # Not acknowledged: Telegram (the emulator) keeps it and retries.
        await eventually(lambda: sum(d.update_id == update_id for d in cluster.lb.log) >= 2)
        assert {d.answered for d in cluster.lb.log if d.update_id == update_id} == {503}
        assert cluster.emu.pending_updates == 1
        await li.expect_no_reply(0.1)
    finally:
        cluster.a.runtime.db = good
        await gone.dispose()
    await cluster.idle()
    assert "/lang" in (await li.wait_reply()).text
    await li.expect_no_reply(0.3)
    assert (await get_json(cluster.a.base + "/healthz"))[0] == 200
    await cluster.db("SELECT count(*) FROM processed_updates WHERE update_id = :u", 1, u=update_id)


async def test_lost_acknowledgement_redelivered_has_effect_once(cluster: Cluster) -> None:
    join_code, _, sec = await setup_branch(cluster)
    newcomer = cluster.user(3005, "重复")
    cluster.lb.lose_acks = 1
    update_id = await newcomer.send(f"/start {join_code}")
    await newcomer.wait_reply()
    request = await sec.wait_reply()
    await cluster.idle()
    # Delivered twice (the first 200 never reached Telegram), to both instances.
    assert [d.answered for d in cluster.lb.log if d.update_id == update_id] == [500, 200]
    assert sorted(cluster.lb.handled_by(update_id)) == ["instance-a", "instance-b"]
    await cluster.emu.redeliver(update_id)  # and once more, as Telegram may
    await cluster.idle()
    await newcomer.expect_no_reply(0.3)
    await sec.expect_no_reply(0.05)
    assert await cluster.scalar("SELECT count(*) FROM join_requests") == 1
    assert (
        await cluster.scalar(
            "SELECT count(*) FROM processed_updates WHERE update_id = :u", u=update_id
        )
        == 1
    )
    cluster.lb.lose_acks = 1
    press = await sec.press(request, "正式党员")
    await sec.wait_callback_answer()
    assert "欢迎加入" in (await newcomer.wait_reply()).text
    await cluster.idle()
    assert len(cluster.lb.handled_by(press)) == 2
    await newcomer.expect_no_reply(0.3)
    assert await cluster.scalar("SELECT count(*) FROM persons WHERE full_name = '重复'") == 1


async def test_one_scheduler_leader_and_takeover(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    await eventually(lambda: a.leader.is_leader or b.leader.is_leader)
    await asyncio.sleep(LEASE_TTL.total_seconds() / 2)  # both have ticked at least once
    leaders = [i for i in (a, b) if i.leader.is_leader]
    assert len(leaders) == 1
    first = leaders[0]
    other = b if first is a else a
    holder = await cluster.scalar("SELECT holder FROM leases WHERE name = 'scheduler'")
    assert holder == first.name
    assert (await get_json(first.base + "/healthz"))[1]["scheduler_leader"] is True
    assert (await get_json(other.base + "/healthz"))[1]["scheduler_leader"] is False

    # The leader dies without releasing the lease: the other takes over after the ttl.
    await first.server.stop(timeout=1)
    first.stopped = True
    await first.app.stop()  # its scheduler stops renewing
    # Both clocks are frozen: time passes for the survivor only.
    clock = other.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(LEASE_TTL + timedelta(seconds=1))
    await eventually(lambda: other.leader.is_leader, timeout=LEASE_TTL.total_seconds() * 3)
    holder = await cluster.scalar("SELECT holder FROM leases WHERE name = 'scheduler'")
    assert holder == other.name
    await first.app.shutdown()
    assert first.app.post_shutdown is not None
    await first.app.post_shutdown(first.app)  # releasing a lease it lost changes nothing
    assert await cluster.scalar("SELECT holder FROM leases WHERE name = 'scheduler'") == other.name


async def test_report_dialog_continues_on_the_other_instance(cluster: Cluster) -> None:
    await setup_branch(cluster)
    zhang = cluster.user(2001, "张预备")
    await zhang.send("/start")
    await zhang.wait_reply()
    cluster.lb.pin = cluster.a
    await zhang.send("/report")
    assert "思想汇报" in (await zhang.wait_reply()).text
    first = await zhang.send("在甲实例写的第一段。")
    assert "已收到第 1 段" in (await zhang.wait_reply()).text
    await cluster.idle()
    await cluster.a.stop()  # the instance dies in the middle of the dialog
    cluster.lb.pin = cluster.b
    second = await zhang.send("在乙实例写的第二段。")
    part = await zhang.wait_reply()
    assert "已收到第 2 段" in part.text
    await zhang.press(part, "提交")
    assert (await zhang.wait_callback_answer()).text == "已提交。"
    assert "思想汇报已提交" in (await zhang.wait_reply()).text
    assert cluster.lb.handled_by(first) == ["instance-a"]
    assert cluster.lb.handled_by(second) == ["instance-b"]
    await cluster.idle()
    await cluster.db(
        "SELECT text FROM thought_reports", "在甲实例写的第一段。\n在乙实例写的第二段。"
    )


async def test_stop_finishes_updates_in_flight(cluster: Cluster) -> None:
    await setup_branch(cluster)
    cluster.lb.pin = cluster.a
    sec = cluster.user(1001, "王书记")
    cluster.emu.inject_fault("sendMessage", delay=0.6)
    update_id = await sec.send("/help")
    await eventually(lambda: cluster.a.server.in_flight == 1)
    await cluster.a.server.stop(timeout=5)
    assert "/lang" in (await sec.wait_reply()).text
    await cluster.idle()
    assert [d.answered for d in cluster.lb.log if d.update_id == update_id] == [200]
    cluster.a.stopped = True
    # A stopped instance takes nothing: the balancer sends to the one left.
    cluster.lb.pin = None
    again = await sec.send("/help")
    assert "/lang" in (await sec.wait_reply()).text
    await cluster.idle()
    assert cluster.lb.handled_by(again) == ["instance-b"]


async def test_updates_of_one_chat_are_serialised() -> None:
    locks = ChatLocks()
    events: list[str] = []

    async def work(chat: int, name: str, delay: float) -> None:
        async with locks.hold(chat):
            events.append(f"{name}+")
            await asyncio.sleep(delay)
            events.append(f"{name}-")

    await asyncio.gather(work(1, "a1", 0.05), work(1, "a2", 0.0), work(2, "b", 0.01))
    assert events.index("a1-") < events.index("a2+")  # same chat: in order, one at a time
    assert events.index("b+") < events.index("a1-")  # another chat: concurrently
    assert len(locks) == 0  # nothing kept for idle chats


def test_run_refuses_a_webhook_without_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", LOCAL_TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.delenv("BRANCHBOT_WEBHOOK_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--webhook", "https://bot.example.org/hook"])
    assert result.exit_code == 2 and "secret token" in result.output
    bad = runner.invoke(
        app, ["run", "--webhook", "https://bot.example.org/hook", "--secret-token", "a b"]
    )
    assert bad.exit_code == 2 and "may only contain" in bad.output
    port = runner.invoke(
        app,
        ["run", "--webhook", "https://x.org/h", "--secret-token", SECRET, "--listen", "localhost"],
    )
    assert port.exit_code == 2 and "HOST:PORT" in port.output
    assert not (tmp_path / "x.sqlite3").exists()  # refused before touching the database


async def test_branchbot_run_webhook_process(tmp_path: Path, template_db: TemplateDatabase) -> None:
    """The real command: ``branchbot run --webhook … --listen …`` in a subprocess, JSON
    logs, a user served, SIGTERM stops it cleanly."""
    import os
    import signal
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = await template_db.fresh(tmp_path)
    async with BotAPIEmulator(token=LOCAL_TOKEN) as emu:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": LOCAL_TOKEN,
            "TELEGRAM_API_BASE_URL": emu.base_url,
            "TELEGRAM_API_BASE_FILE_URL": emu.base_file_url,
            "DATABASE_URL": url,
            "BRANCHBOT_WEBHOOK_SECRET": SECRET,
            "BRANCHBOT_LOG_FORMAT": "json",
            "BRANCHBOT_STORAGE_DIR": str(tmp_path / "storage"),
            "PYTHONPATH": REPO_ROOT,
        }
        hook = f"http://127.0.0.1:{port}{PATH}"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook",
            hook,
            "--listen",
            f"127.0.0.1:{port}",
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await emu.wait_until(lambda: emu.webhook_url == hook, timeout=60)
            assert emu.webhook_secret == SECRET
            user = emu.user(5001, "陌生人")
            await user.send("/start")
            assert "支部助手" in (await user.wait_reply(timeout=10)).text
            status, health = await get_json(f"http://127.0.0.1:{port}/healthz")
            assert status == 200 and health["updates_processed"] == 1
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert emu.calls("deleteWebhook") == []
    await template_db.discard(url)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any(e["msg"] == "webhook server stopped" for e in lines)
    assert all({"ts", "level", "logger", "msg"} <= e.keys() for e in lines)
