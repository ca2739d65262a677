# i18n-domain: org
"""The Mini App dashboard's web server (aiohttp, in the bot's process and event loop).

- ``GET /webapp/`` the page, ``GET /webapp/static/NAME`` its script, style and the
  vendored Chart.js (no CDN: it works offline); every answer carries a strict CSP
  (``'self'`` only) so the page runs nothing from elsewhere.
- ``POST /webapp/api/session`` ``{"init_data": …}``: Telegram's initData, validated
  (``bot.webapp_auth``: HMAC with the bot token, ``auth_date`` younger than
  BRANCHBOT_WEBAPP_MAX_AGE) and used once (its hash is stored in ``webapp_logins``), is
  exchanged for a session token valid as long.
- ``GET /webapp/api/dashboard[?branch=ID]`` with ``Authorization: Bearer TOKEN``: the
  viewer's dashboard (``domain.dashboard``), scoped by the chat's rights; 403 for a
  branch they may not see (audited).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.runtime import Runtime
from bot.settings import parse_listen
from bot.webapp_auth import InitDataError, issue_session, read_session, validate_init_data
from domain.errors import DomainError
from locales.i18n import N_, translator
from store.models import WebAppLogin

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "dashboard.js": "application/javascript",
    "dashboard.css": "text/css",
    "chart.umd.min.js": "application/javascript",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)
RUNTIME_KEY = web.AppKey("runtime", Runtime)

#: The page's words, translated for the viewer and sent with the data.
LABELS = {
    "title": N_("Branch dashboard"),
    "scores": N_("Average points per quarter"),
    "below": N_("Below 60"),
    "average": N_("Average"),
    "fees": N_("Fee collection (people who paid)"),
    "liable": N_("Due"),
    "paid": N_("Paid"),
    "reports": N_("Thought reports this period"),
    "submitted": N_("Reports handed in"),
    "owed": N_("Owed"),
    "overdue": N_("Overdue"),
    "members": N_("Members this quarter"),
    "ledger": N_("Points ledger"),
    "search": N_("Search name or item"),
    "all_kinds": N_("All kinds"),
    "date": N_("Date"),
    "member": N_("Member"),
    "item": N_("Item"),
    "points": N_("Points"),
    "compare": N_("Branch comparison"),
    "branch": N_("Branch"),
    "reports_owed": N_("Reports owed"),
    "fee_rate": N_("Fees paid %"),
    "exam_rate": N_("Exam pass %"),
    "flags": N_("Flags"),
    "own": N_("My points this year"),
    "open_branch": N_("Open"),
    "empty": N_("Nothing yet."),
    "meetings": N_("Meetings held / required this quarter"),
    "meetings_short": N_("Meetings held"),
    "not_held": N_("Not held"),
    "talks": N_("Talks with a committee member this year"),
    "lectured": N_("The secretary gave a Party lecture this year."),
    "not_lectured": N_("The secretary has not given a Party lecture this year."),
}


def _token(runtime: Runtime) -> str:
    from bot.app import LOCAL_TOKEN

    token = runtime.settings.telegram_bot_token
    return token.get_secret_value() if token is not None else LOCAL_TOKEN


_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(_SECURITY_HEADERS)
        raise
    response.headers.update(_SECURITY_HEADERS)
    return response


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html"})


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={"Content-Type": STATIC_FILES[name]})


async def session(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    try:
        body = await request.json()
        init_data = str(body.get("init_data", "")) if isinstance(body, dict) else ""
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return _refuse(400, "bad request")
    max_age = runtime.settings.webapp_max_age
    now = time.time()
    try:
        user = validate_init_data(init_data, _token(runtime), max_age=max_age, now=now)
    except InitDataError as exc:
        log.info("Mini App login refused: %s", exc.reason)
        return _refuse(401, exc.reason)
    try:
        async with runtime.db.session() as db:
            # Older logins can no longer be replayed (their initData has expired).
            cutoff = runtime.clock.now() - timedelta(seconds=2 * max_age)
            await db.execute(delete(WebAppLogin).where(WebAppLogin.at < cutoff))
            db.add(
                WebAppLogin(init_hash=user.hash, telegram_user_id=user.id, at=runtime.clock.now())
            )
            await db.commit()
    except IntegrityError:
        log.info("Mini App login refused: initData of %s replayed", user.id)
        return _refuse(401, "replayed")
    token = issue_session(_token(runtime), user.id, ttl=max_age, now=now)
    return web.json_response({"ok": True, "session": token})


async def dashboard(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME_KEY]
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return _refuse(401, "no session")
    try:
        user_id = read_session(_token(runtime), auth[7:].strip(), now=time.time())
    except InitDataError as exc:
        return _refuse(401, exc.reason)
    raw_branch = request.query.get("branch")
    branch_id: int | None = None
    if raw_branch:
        if not raw_branch.isascii() or not raw_branch.isdigit() or len(raw_branch) > 18:
            return _refuse(400, "bad branch")
        branch_id = int(raw_branch)
    async with runtime.unit_of_work() as svc:
        try:
            data = await svc.dashboard.view(user_id, branch_id)
        except DomainError as exc:
            viewer_locale = "zh_Hans"
            with contextlib.suppress(DomainError):
                viewer_locale = (await svc.membership.viewer_of(user_id)).locale
            text = translator(viewer_locale).gettext(exc.msgid).format(**exc.params)
            return web.json_response({"ok": False, "error": text}, status=403)
    t = translator(data["user"]["locale"]).gettext
    data["labels"] = {k: t(v) for k, v in LABELS.items()}
    data["ok"] = True
    return web.json_response(data)


def build_webapp(runtime: Runtime) -> web.Application:
    app = web.Application(middlewares=[_headers], client_max_size=16 * 1024)
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/webapp/", page)
    app.router.add_get("/webapp/static/{name}", static)
    app.router.add_post("/webapp/api/session", session)
    app.router.add_get("/webapp/api/dashboard", dashboard)
    return app


async def start_webapp(runtime: Runtime, listen: str) -> tuple[web.AppRunner, int]:
    """Serve the dashboard on ``HOST:PORT`` (port 0: any free port); (runner, port)."""
    host, port = parse_listen(listen)
    runner = web.AppRunner(build_webapp(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    log.info("dashboard served on %s:%s", host, bound)
    return runner, int(bound)
