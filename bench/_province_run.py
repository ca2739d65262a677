"""Province mode of ``bench/scale.py`` (``--postgres``): the province data set on
PostgreSQL (``bench._province``), two bot instances in webhook mode as OS processes
behind a small round-robin balancer, and a local Bot API emulator.

Measured:

* start-up of each instance: from exec of ``branchbot run --webhook …`` to its
  ``/healthz`` answering and to the answer of its first update (``/start``); ``a``
  alone on the database, ``b`` next to a running ``a`` after a's quarter close;
* the quarter close of every branch by the real periodic task on the lease leader: its
  duration and statements (``bench._instance`` times it inside the process), the
  branches closed and the messages queued (from the database);
* each instance's resident memory (VmRSS, peak VmHWM from ``/proc/PID/status``) after
  the close and after ``updates`` ``/points`` updates spread over both instances.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PATH = "/telegram/webhook"
SECRET = "bench-province-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DATABASE = "province_bench"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Balancer:
    """Round robin over the instances that are up (the webhook URL Telegram posts to)."""

    backends: list[str] = field(default_factory=list)
    port: int = 0
    _runner: Any = None
    _session: Any = None
    _turn: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        import aiohttp
        from aiohttp import web

        self._turn = itertools.count()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: Any) -> Any:
        import aiohttp
        from aiohttp import web

        if not self.backends:
            return web.Response(status=502)
        body = await request.read()
        backend = self.backends[next(self._turn) % len(self.backends)]
        headers = {SECRET_HEADER: request.headers.get(SECRET_HEADER, "")}
        headers["Content-Type"] = "application/json"
        try:
            async with self._session.post(backend + PATH, data=body, headers=headers) as r:
                return web.Response(status=r.status)
        except aiohttp.ClientError:
            return web.Response(status=502)


@dataclass
class Instance:
    name: str
    port: int
    proc: Any = None
    exec_at: float = 0.0
    health_s: float = 0.0
    first_answer_s: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _healthy(instance: Instance, within: float) -> None:
    import aiohttp

    deadline = time.perf_counter() + within
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() < deadline:
            if instance.proc.returncode is not None:
                raise RuntimeError(f"instance {instance.name} exited: {instance.proc.returncode}")
            try:
                async with session.get(instance.base + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"instance {instance.name} not healthy within {within} s")


async def _start(
    instance: Instance, env: dict[str, str], lb: Balancer, log: Path, emu: Any, user: Any
) -> None:
    """Exec the instance; time /healthz and its first answer (a /start through it)."""
    out = log.open("ab")
    instance.exec_at = time.perf_counter()
    instance.proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench._instance",
        "run",
        "--webhook",
        lb.url,
        "--listen",
        f"127.0.0.1:{instance.port}",
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=out,
    )
    await _healthy(instance, within=300)
    instance.health_s = time.perf_counter() - instance.exec_at
    lb.backends = [instance.base]  # its first update goes to it
    await emu.wait_until(lambda: emu.webhook_url == lb.url, timeout=60)
    await user.send("/start")
    await user.wait_reply(timeout=120)
    instance.first_answer_s = time.perf_counter() - instance.exec_at


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def _close_figures(path: Path, within: float) -> dict[str, Any]:
    """The first quarter close that closed something (the leader's first run)."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        for line in _lines(path):
            figures: dict[str, Any] = json.loads(line)
            if figures["statements"] > 5:
                return figures
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no quarter close within {within} s")


async def _scalar(url: str, sql: str, *args: Any) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def reset_close(url: str) -> None:
    """Undo a quarter close (reusing a built database for another run)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        for statement in (
            "DELETE FROM point_quarter_scores",
            "DELETE FROM point_quarter_closes",
            "DELETE FROM deliveries",
            "DELETE FROM audit_log WHERE action = 'points.quarter.close'",
            "DELETE FROM leases",
            "DELETE FROM processed_updates",
            "UPDATE telegram_accounts SET blocked_at = NULL WHERE blocked_at IS NOT NULL",
        ):
            await conn.execute(statement)
    finally:
        await conn.close()


async def measure(
    members: int,
    branches: int,
    orgs: int,
    entries: int,
    updates: int,
    reuse: bool,
    database: str = DATABASE,
) -> dict[str, Any]:
    from bench import _pg
    from bench._data import proc_memory
    from bench._province import FIRST_TG, build_province
    from bot.app import LOCAL_TOKEN
    from emulator import BotAPIEmulator

    out: dict[str, Any] = {"members": members, "branches": branches, "orgs": orgs}
    server = await _pg.server()
    url = f"{server}/{database}"
    built = False
    if reuse:
        try:
            built = await _scalar(url, "SELECT count(*) FROM branches") == branches
        except Exception:  # no such database yet
            built = False
    if built:
        await reset_close(url)
        out["build_s"] = None
    else:
        url = await _pg.fresh_database(database)
        province = await build_province(
            url, members=members, branches=branches, orgs=orgs, entries=entries
        )
        out["build_s"] = province.build_s
    out["ledger"] = await _scalar(url, "SELECT count(*) FROM point_ledger")
    out["quarter"] = await _scalar(url, "SELECT max(quarter) FROM point_ledger")

    emu = BotAPIEmulator(token=LOCAL_TOKEN)
    await emu.start()
    lb = Balancer()
    await lb.start()
    tmp = Path(tempfile.mkdtemp(prefix="province-"))
    figures_path = tmp / "close.jsonl"
    log = tmp / "instances.log"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": LOCAL_TOKEN,
        "TELEGRAM_API_BASE_URL": emu.base_url,
        "TELEGRAM_API_BASE_FILE_URL": emu.base_file_url,
        "DATABASE_URL": url,
        "BRANCHBOT_WEBHOOK_SECRET": SECRET,
        "BRANCHBOT_LOG_FORMAT": "json",
        "BRANCHBOT_LOG_LEVEL": "INFO",
        "BRANCHBOT_STORAGE_DIR": str(tmp / "storage"),
        "BRANCHBOT_FLOOD_BURST": "10000000",
        "BENCH_FIGURES": str(figures_path),
        "PYTHONPATH": str(ROOT),
    }
    # The users the close writes to (secretaries; every 50th member ends below 60) have
    # pressed /start in Telegram too: the emulator knows their chats.
    per = members // branches
    for n in range(members):
        if n % per == 0 or n % 50 == 0:
            emu.user(FIRST_TG + n, f"党员{n:06d}").started = True
    a, b = Instance("a", _free_port()), Instance("b", _free_port())
    rng = random.Random(15)
    try:
        # a starts alone and becomes the scheduler's leader: its periodic tasks' first
        # runs (the quarter close among them) start 5 s later. b starts once that close
        # is done (a rolling restart next to a running instance).
        await _start(a, env, lb, log, emu, emu.user(FIRST_TG + 1, "党员000001"))
        close = await _close_figures(figures_path, within=600)
        await _start(b, env, lb, log, emu, emu.user(FIRST_TG + 2, "党员000002"))
        lb.backends = [a.base, b.base]
        out.update(close_s=close["close_s"], close_statements=close["statements"])
        out["rss_close_a"] = proc_memory(a.proc.pid)[0]
        out["close_by"] = "a" if close["pid"] == a.proc.pid else "b"
        out["closed"] = await _scalar(url, "SELECT count(*) FROM point_quarter_closes")
        out["scores"] = await _scalar(url, "SELECT count(*) FROM point_quarter_scores")
        out["queued"] = await _scalar(url, "SELECT count(*) FROM deliveries")
        out["rss_close_b"] = proc_memory(b.proc.pid)[0]  # after its start
        durations: list[float] = []
        for _ in range(updates):
            n = rng.randrange(members)
            user = emu.user(FIRST_TG + n, f"党员{n:06d}")
            started = time.perf_counter()
            await user.send("/points")
            reply = await user.wait_reply(timeout=60)
            durations.append((time.perf_counter() - started) * 1000)
            assert reply.text and "积分" in reply.text, reply.text
        out["points_ms"] = sorted(durations)[len(durations) // 2] if durations else 0.0
        out["updates"] = len(durations)
        for inst in (a, b):
            rss, hwm = proc_memory(inst.proc.pid)
            out[f"rss_{inst.name}"], out[f"hwm_{inst.name}"] = rss, hwm
            out[f"health_s_{inst.name}"] = inst.health_s
            out[f"ready_s_{inst.name}"] = inst.first_answer_s
        out["sent"] = len(emu.calls("sendMessage"))
    finally:
        for inst in (a, b):
            if inst.proc is not None and inst.proc.returncode is None:
                inst.proc.send_signal(signal.SIGTERM)
        for inst in (a, b):
            if inst.proc is not None:
                try:
                    await asyncio.wait_for(inst.proc.wait(), 30)
                except TimeoutError:
                    inst.proc.kill()
                    await inst.proc.wait()
        await lb.stop()
        await emu.stop()
    out["log"] = str(log)
    return out


def report(r: dict[str, Any]) -> tuple[str, list[tuple[str, str, str, bool | None]]]:
    """The table, and (name, goal, measured, met) per target."""
    from bench._data import table

    ready = max(r["ready_s_a"], r["ready_s_b"])
    rss = max(r["hwm_a"], r["hwm_b"])
    build = "reused" if r["build_s"] is None else f"{r['build_s']:.0f} s"
    rows = [
        ("members / branches / orgs", f"{r['members']:,}", f"{r['branches']:,} / {r['orgs']}"),
        ("ledger entries", f"{r['ledger']:,}", f"last quarter {r['quarter']}"),
        ("build (COPY / INSERT…SELECT)", build, "set-up, not a target"),
        ("start-up a: /healthz", f"{r['health_s_a']:.2f} s", "exec → 200"),
        ("start-up a: first answer", f"{r['ready_s_a']:.2f} s", "< 5 s (exec → /start answered)"),
        ("start-up b: /healthz", f"{r['health_s_b']:.2f} s", "a running, after its close"),
        ("start-up b: first answer", f"{r['ready_s_b']:.2f} s", "< 5 s"),
        (
            "quarter close, all branches",
            f"{r['close_s']:.2f} s",
            f"< 60 s (on {r['close_by']}, {r['closed']:,} branches, {r['scores']:,} scores)",
        ),
        ("close: SQL statements", f"{r['close_statements']:,}", "in the leader meanwhile"),
        ("close: messages queued", f"{r['queued']:,}", "reports + notices, sent by the outbox"),
        ("/points through the balancer", f"{r['points_ms']:.1f} ms", f"median of {r['updates']}"),
        ("RSS a (after close / end)", f"{r['rss_close_a']:.0f} MB", f"{r['rss_a']:.0f} MB"),
        ("RSS b (after start / end)", f"{r['rss_close_b']:.0f} MB", f"{r['rss_b']:.0f} MB"),
        ("peak RSS (VmHWM) a / b", f"{r['hwm_a']:.0f} MB", f"{r['hwm_b']:.0f} MB; < 300 MB each"),
    ]
    size = f"{r['members']:,} members, {r['branches']:,} branches, PostgreSQL"
    targets: list[tuple[str, str, str, bool | None]] = [
        (
            f"quarter close of all branches ({size})",
            "< 60 s",
            f"{r['close_s']:.2f} s",
            r["close_s"] < 60,
        ),
        (
            f"branchbot run to its first answer ({size})",
            "< 5 s",
            f"{ready:.2f} s (a {r['ready_s_a']:.2f}, b {r['ready_s_b']:.2f})",
            ready < 5,
        ),
        (
            "peak RSS per instance (two webhook instances)",
            "< 300 MB",
            f"{rss:.0f} MB (a {r['hwm_a']:.0f}, b {r['hwm_b']:.0f})",
            rss < 300,
        ),
    ]
    ok = all(t[3] for t in targets)
    text = table("Province scale (PostgreSQL, two webhook instances)", rows)
    return text + "\nRESULT  " + ("OK" if ok else "NOT MET"), targets
