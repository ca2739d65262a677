"""Webhook mode: our own small aiohttp server in front of the PTB Application.

``POST <path>`` receives one update from Telegram:

- the ``X-Telegram-Bot-Api-Secret-Token`` header must equal our secret (compared in
  constant time), else 403;
- the update is handled (``application.process_update``: one database transaction)
  *before* we answer, so an update is acknowledged only once its effects are committed.
  A re-delivery is harmless (``processed_updates``);
- 200 when it was handled — also when a handler failed: the error handler has told the
  user and the update is recorded as ``error``; 503 when the database could not be
  reached (nothing was recorded), so Telegram delivers it again later;
- updates of different chats are handled concurrently, updates of one chat one after the
  other, in the order they arrived (a member's double tap).

``GET /healthz`` answers 200 with a JSON status (database reachable, scheduler leader,
counters) for the process manager or load balancer, 503 when the database is unreachable
or the server is stopping.

Several instances may serve one webhook URL behind a load balancer: they share the
database, the scheduler runs on exactly one of them (``scheduler.leader``), and dialogs
live in the database. Stopping an instance therefore never deletes the webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update

from bot.context import BranchApp
from bot.runtime import Runtime
from scheduler.leader import LeaderLease

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
#: The update types the bot handles (webhook and polling alike).
ALLOWED_UPDATES = ["message", "callback_query", "poll_answer", "my_chat_member"]
#: Telegram's rule for ``secret_token``.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: Updates handled at once (Telegram's default ``max_connections`` is 40).
MAX_CONCURRENCY = 40
HEALTH_DB_TIMEOUT = 5.0


class WebhookError(RuntimeError):
    """A webhook setting that cannot work (no secret, a malformed one, a bad path)."""


class ChatLocks:
    """One :class:`asyncio.Lock` per chat, forgotten when nobody holds or awaits it.
    asyncio locks are fair (FIFO), so a chat's updates run in the order they arrived."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: int | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def chat_key(update: Update) -> int | None:
    """What to serialise an update on: its chat, else its user (poll answers)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


def check_secret(secret: str | None) -> str:
    if not secret:
        raise WebhookError(
            "webhook mode needs a secret token (BRANCHBOT_WEBHOOK_SECRET or --secret-token); "
            'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    if not SECRET_PATTERN.fullmatch(secret):
        raise WebhookError("the webhook secret may only contain A-Z, a-z, 0-9, _ and - (1-256)")
    return secret


class WebhookServer:
    """The HTTP server; create it with :func:`serve_webhook`."""

    def __init__(
        self,
        app: BranchApp,
        *,
        url_path: str,
        secret: str,
        max_concurrency: int = MAX_CONCURRENCY,
    ) -> None:
        if not url_path.startswith("/") or url_path == HEALTH_PATH:
            raise WebhookError(f"bad webhook path {url_path!r}")
        self.app = app
        self.url_path = url_path
        self._secret = check_secret(secret).encode()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._locks = ChatLocks()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.in_flight = 0
        self.updates_processed = 0
        self.updates_failed = 0
        self.started = time.monotonic()
        self.host = ""
        self.port = 0

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.bot_data["runtime"]
        return runtime

    async def start(self, host: str, port: int) -> None:
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        web_app.router.add_post(self.url_path, self._handle_update)
        web_app.router.add_get(HEALTH_PATH, self._handle_health)
        # Handlers are not cancelled when Telegram hangs up: the transaction finishes.
        self._runner = web.AppRunner(web_app, access_log=None, handler_cancellation=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = int(self._runner.addresses[0][1])
        log.info("webhook server listening on %s:%s%s", host, self.port, self.url_path)

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Stop accepting updates, let the ones in flight finish (up to ``timeout``),
        close. The webhook stays set: another instance may be serving it."""
        if self._runner is None:
            return
        self._closing = True
        for site in list(self._runner.sites):
            await site.stop()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("%s update(s) still in flight after %ss; closing", self.in_flight, timeout)
        await self._runner.cleanup()
        self._runner = None
        log.info("webhook server stopped")

    # ------------------------------------------------------------------ handlers
    async def _handle_update(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            return web.Response(status=503, text="stopping")
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request with a wrong secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, self.app.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("malformed webhook body: %s", exc)
            update = None
        if update is None:
            return web.Response(status=400, text="bad update")
        self.in_flight += 1
        self._idle.clear()
        try:
            # The chat first: a burst from one chat must not take every slot.
            async with self._locks.hold(chat_key(update)), self._semaphore:
                await self.app.process_update(update)
        except (OperationalError, DBAPIError, OSError):
            self.updates_failed += 1
            log.exception("database unavailable; update %s left for re-delivery", update.update_id)
            return web.Response(status=503, text="database unavailable")
        except Exception:
            self.updates_failed += 1
            log.exception("update %s not handled; left for re-delivery", update.update_id)
            return web.Response(status=500, text="not handled")
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()
        self.updates_processed += 1
        return web.Response(status=200)

    async def _handle_health(self, request: web.Request) -> web.StreamResponse:
        database = await self._database_status()
        leader = self.app.bot_data.get("leader")
        ok = database == "ok" and not self._closing
        body: dict[str, Any] = {
            "status": "ok" if ok else ("stopping" if self._closing else "error"),
            "database": database,
            "scheduler_leader": bool(isinstance(leader, LeaderLease) and leader.is_leader),
            "updates_processed": self.updates_processed,
            "updates_failed": self.updates_failed,
            "in_flight": self.in_flight,
            "uptime_s": round(time.monotonic() - self.started, 1),
        }
        if isinstance(leader, LeaderLease):
            body["instance"] = leader.holder
        return web.Response(
            status=200 if ok else 503, text=json.dumps(body), content_type="application/json"
        )

    async def _database_status(self) -> str:
        try:
            async with asyncio.timeout(HEALTH_DB_TIMEOUT), self.runtime.db.session() as session:
                await session.execute(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            return "unreachable"
        return "ok"


async def serve_webhook(
    app: BranchApp,
    *,
    listen_host: str,
    listen_port: int,
    url_path: str,
    secret: str,
) -> WebhookServer:
    """Start the webhook server for an initialised and started ``app`` (port 0: any free
    port, see ``server.port``). Does not call ``setWebhook``: see :func:`register_webhook`."""
    server = WebhookServer(app, url_path=url_path, secret=secret)
    await server.start(listen_host, listen_port)
    return server


async def register_webhook(app: BranchApp, url: str, secret: str) -> None:
    """``setWebhook`` with our secret; pending updates are kept (never dropped)."""
    await app.bot.set_webhook(
        url,
        secret_token=check_secret(secret),
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False,
        max_connections=MAX_CONCURRENCY,
    )
    log.info("webhook set to %s", url)


def url_path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise WebhookError(f"bad webhook URL {url!r}: use https://HOST/PATH")
    return parts.path or "/"


async def run_webhook(
    app: BranchApp, *, url: str, listen_host: str, listen_port: int, secret: str
) -> None:
    """``branchbot run --webhook``: start everything, serve until SIGINT/SIGTERM, stop
    gracefully (updates in flight finish; the scheduler lease is released)."""
    path = url_path_of(url)
    check_secret(secret)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    server: WebhookServer | None = None
    try:
        server = await serve_webhook(
            app, listen_host=listen_host, listen_port=listen_port, url_path=path, secret=secret
        )
        await register_webhook(app, url, secret)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
    finally:
        if server is not None:
            await server.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
