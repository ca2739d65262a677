"""The Mini App dashboard over HTTP: the /dashboard button, initData exchanged once for a
session, the JSON scoped by the chat's rights (a secretary their branch, a member only
their own scores, an administrator the comparison), and forged, expired, replayed and
other-branch requests refused."""

from __future__ import annotations

import asyncio
import io
import queue
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest

from bot.app import LOCAL_TOKEN
from bot.webapp_auth import make_init_data
from domain import meetings_rules as mrules
from domain.clock import FrozenClock
from store.models import WebAppLogin
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot
from tests.test_organisation_e2e import ADMIN, NOVEMBER, _world, hold_meetings

WEBAPP_URL = "http://127.0.0.1/webapp/"


@pytest.fixture
async def bot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    extra = {"BRANCHBOT_WEBAPP_LISTEN": "127.0.0.1:0", "BRANCHBOT_WEBAPP_URL": WEBAPP_URL}
    async with running_bot(tmp_path, template_db, extra_settings=extra) as harness:
        yield harness


class Client:
    def __init__(self, bot: Harness, http: aiohttp.ClientSession) -> None:
        self.base = f"http://127.0.0.1:{bot.app.bot_data['webapp_port']}/webapp/"
        self.http = http

    async def login(self, init_data: str) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.base + "api/session", json={"init_data": init_data}) as r:
            return r.status, await r.json()

    async def session_of(self, user_id: int, name: str = "") -> str:
        status, body = await self.login(make_init_data(LOCAL_TOKEN, user_id, name))
        assert status == 200, body
        return str(body["session"])

    async def dashboard(self, session: str, branch: object = None) -> tuple[int, dict[str, Any]]:
        url = self.base + "api/dashboard" + (f"?branch={branch}" if branch is not None else "")
        async with self.http.get(url, headers={"Authorization": f"Bearer {session}"}) as r:
            return r.status, await r.json()


@pytest.fixture
async def client(bot: Harness) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as http:
        yield Client(bot, http)


@pytest.fixture
async def fbot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    """The bot on 20 November 2026 (2026Q4), with the Mini App."""
    extra = {"BRANCHBOT_WEBAPP_LISTEN": "127.0.0.1:0", "BRANCHBOT_WEBAPP_URL": WEBAPP_URL}
    clock = FrozenClock(NOVEMBER)
    async with running_bot(tmp_path, template_db, clock=clock, extra_settings=extra) as harness:
        yield harness


async def test_dashboard_button_opens_the_mini_app(bot: Harness) -> None:
    await _world(bot)
    secretary = bot.user(1001, "王书记")
    await secretary.send("/dashboard")
    msg = await secretary.wait_reply()
    assert msg.text == "积分、党费、思想汇报图表："
    button = (msg.reply_markup or {})["inline_keyboard"][0][0]
    assert button["text"] == "📊 打开看板"
    assert button["web_app"] == {"url": WEBAPP_URL}


async def test_secretary_sees_their_branch(bot: Harness, client: Client) -> None:
    _, a_id, b_id = await _world(bot)
    session = await client.session_of(1001, "王书记")
    status, data = await client.dashboard(session)
    assert status == 200, data
    assert data["role"] == "secretary" and data["branches"] == []
    branch = data["branch"]
    assert (branch["id"], branch["name"]) == (a_id, "心内科党支部")
    assert data["labels"]["title"] == "支部看板"
    async with bot.uow() as svc:
        own = await svc.membership.viewer_of(1001)
        fees = await svc.fees.month_summary(own)
        scores = await svc.points.scores_for(own, await svc.points.default_quarter(own))
        reports = await svc.reports.overview(own)
    assert branch["fees"][-1] == {
        "month": fees.month.key,
        "liable": fees.liable,
        "paid": fees.confirmed_count,
        "pending": fees.pending_count,
        "due": float(fees.due_total),
        "confirmed": float(fees.confirmed_total),
    }
    assert len(branch["fees"]) == 6 and len(branch["scores"]) == 4
    assert [m["name"] for m in branch["members"]] == [s.name for s in scores]
    assert branch["scores"][-1]["members"] == len(scores)
    assert branch["reports"]["owed"] == len(reports.owed)
    # Another branch: refused, and audited.
    status, refused = await client.dashboard(session, b_id)
    assert status == 403 and refused == {"ok": False, "error": "您无权查看该支部。"}
    assert (
        await bot.scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'access.denied' "
            "AND subject_type = 'branch' AND subject_id = :b",
            b=str(b_id),
        )
        == 1
    )
    status, _ = await client.dashboard(session, "1;DROP")
    assert status == 400


async def test_member_sees_only_their_own_scores(bot: Harness, client: Client) -> None:
    _, a_id, _ = await _world(bot)
    session = await client.session_of(1002, "李明")
    status, data = await client.dashboard(session)
    assert status == 200, data
    assert data["role"] == "member" and data["branch"] is None and data["branches"] == []
    assert data["own"]["quarters"] and all("total" in q for q in data["own"]["quarters"])
    status, refused = await client.dashboard(session, a_id)
    assert status == 403 and "无权" in refused["error"]
    stranger = await client.session_of(9001, "路人")
    status, refused = await client.dashboard(stranger)
    assert status == 403


async def test_admin_compares_branches(bot: Harness, client: Client) -> None:
    _, _a_id, b_id = await _world(bot)
    session = await client.session_of(ADMIN, "院党委")
    status, data = await client.dashboard(session)
    assert status == 200 and data["role"] == "org" and data["branch"] is None
    rows = {b["name"]: b for b in data["branches"]}
    assert set(rows) == {"心内科党支部", "外科党支部"}
    assert rows["心内科党支部"]["flags"] == ["连续6个月未缴党费"]
    assert rows["外科党支部"]["flags"] == []
    status, one = await client.dashboard(session, b_id)
    assert status == 200 and one["branch"]["name"] == "外科党支部"


async def test_forged_expired_and_replayed_init_data_refused(bot: Harness, client: Client) -> None:
    await _world(bot)
    good = make_init_data(LOCAL_TOKEN, 1001, "王书记")
    forged_user = good.replace("1001", "1101")
    assert (await client.login(forged_user)) == (401, {"ok": False, "error": "bad signature"})
    other_bot = make_init_data("999:OTHER-BOT", 1001, "王书记")
    assert (await client.login(other_bot))[0] == 401
    expired = make_init_data(LOCAL_TOKEN, 1001, "王书记", auth_date=int(time.time()) - 7200)
    assert (await client.login(expired)) == (401, {"ok": False, "error": "expired"})
    assert (await client.login(""))[0] == 401
    async with bot.uow() as svc:  # a login from long ago: dropped at the next login
        svc.session.add(
            WebAppLogin(
                init_hash="0" * 64,
                telegram_user_id=1001,
                at=datetime.now(UTC) - timedelta(days=1),
            )
        )
    assert (await client.login(good))[0] == 200
    assert (await client.login(good)) == (401, {"ok": False, "error": "replayed"})
    assert await bot.scalar("SELECT count(*) FROM webapp_logins") == 1
    # Without a session, or with a forged one.
    for header in ({}, {"Authorization": "Bearer 1001.9999999999.deadbeef"}):
        async with client.http.get(client.base + "api/dashboard", headers=header) as r:
            assert r.status == 401
    async with client.http.post(client.base + "api/session", data=b"not json") as r:
        assert r.status == 400


async def test_page_and_files_are_served_with_a_strict_policy(client: Client) -> None:
    async with client.http.get(client.base) as r:
        assert r.status == 200
        page = await r.text()
        csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "支部助手" in page and "static/chart.umd.min.js" in page and "http" not in page
    async with client.http.get(client.base + "static/chart.umd.min.js") as r:
        assert r.status == 200 and "Chart.js v4" in (await r.text())[:200]
    for bad in ("static/index.html", "static/..%2F..%2Fsettings.py", "static/nothing.js"):
        async with client.http.get(client.base + bad) as r:
            assert r.status == 404, bad
            assert "Content-Security-Policy" in r.headers


class _Typed:
    """A terminal the test types into while the demo runs (``readline`` blocks)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self) -> str:
        return self.lines.get(timeout=30)


async def test_the_demo_opens_the_dashboard_locally(tmp_path: Path) -> None:
    from bot.demo import run_demo

    typed, out = _Typed(), io.StringIO()
    demo = asyncio.create_task(run_demo(tmp_path / "demo.sqlite3", stdin=typed, stdout=out))  # type: ignore[arg-type]
    typed.lines.put(":dashboard\n")
    for _ in range(500):
        links = re.findall(r"http://127\.0\.0\.1:\d+/webapp/#tgWebAppData=\S+", out.getvalue())
        if links:
            break
        await asyncio.sleep(0.02)
    base, fragment = links[0].split("#", 1)
    init_data = unquote(fragment.removeprefix("tgWebAppData="))
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as r:
            assert r.status == 200 and "支部助手" in await r.text()
        async with http.post(base + "api/session", json={"init_data": init_data}) as r:
            session = (await r.json())["session"]
        async with http.get(
            base + "api/dashboard", headers={"Authorization": f"Bearer {session}"}
        ) as r:
            data = await r.json()
    typed.lines.put(":quit\n")
    await asyncio.wait_for(demo, 30)
    assert data["role"] == "secretary" and data["branch"]["name"] == "示范党支部"


async def test_meetings_compliance_on_the_dashboard(fbot: Harness) -> None:
    _, a_id, b_id = await _world(fbot, compliant=False)
    await hold_meetings(fbot, b_id)
    await hold_meetings(fbot, a_id, only={(mrules.COMMITTEE, "2026-10")})
    async with aiohttp.ClientSession() as http:
        client = Client(fbot, http)
        # The administrator's comparison: held of due per branch, what was not held.
        status, data = await client.dashboard(await client.session_of(ADMIN, "院党委"))
        assert status == 200, data
        rows = {b["name"]: b for b in data["branches"]}
        a, b = rows["心内科党支部"]["meetings"], rows["外科党支部"]["meetings"]
        assert (a["held"], a["due"], a["rate"]) == (1, 9, 11)
        assert a["missed"] == ["2026-10 党小组会", "2026-10 主题党日"]
        assert rows["心内科党支部"]["flags"] == ["连续6个月未缴党费", "应开会议未开"]
        assert (b["held"], b["due"], b["missed"]) == (9, 9, [])
        assert rows["外科党支部"]["flags"] == []
        assert data["labels"]["meetings_short"] == "会议已开"
        # The secretary's own branch: per kind, held of required, as /meetings says.
        status, own = await client.dashboard(await client.session_of(1001, "王书记"))
        assert status == 200, own
        life = own["branch"]["meetings"]
        kinds = {k["kind"]: (k["label"], k["held"], k["due"], k["missed"]) for k in life["kinds"]}
        assert kinds == {
            mrules.PARTY_CONGRESS: ("党员大会", 0, 1, []),
            mrules.COMMITTEE: ("支委会", 1, 2, []),
            mrules.GROUP: ("党小组会", 0, 2, ["2026-10"]),
            mrules.LECTURE: ("党课", 0, 1, []),
            mrules.THEME_DAY: ("主题党日", 0, 2, ["2026-10"]),
            mrules.LIFE_MEETING: ("组织生活会", 0, 1, []),
        }
        assert (life["lectured"], life["talk_people"], life["talk_uncovered"]) == (False, 3, 3)
        assert own["labels"]["meetings"] == "本季度应开会议（已开/应开）"
        # The administrator opening branch B sees that branch's figures.
        status, one = await client.dashboard(await client.session_of(ADMIN, "院党委"), b_id)
        assert status == 200 and one["branch"]["meetings"]["held"] == 9
        assert one["branch"]["meetings"]["lectured"] is True
