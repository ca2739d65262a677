"""The Mini App in a real browser: headless Chromium (Debian's chromium and
chromium-driver, driven by selenium) opens the dashboard as Telegram would, with the
initData in the URL fragment. With valid initData a secretary sees their branch's
charts and figures; forged, expired and other-branch access show the refusal.
Screenshots are kept in test-artefacts/ (BRANCHBOT_TEST_ARTEFACTS)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from bot.app import LOCAL_TOKEN
from bot.webapp_auth import make_init_data
from domain import meetings_rules as mrules
from domain.clock import FrozenClock
from store.models import PointBlock, PointItem
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot
from tests.test_organisation_e2e import ADMIN, NOVEMBER, _world, hold_meetings

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTEFACTS = Path(
    os.environ.get("BRANCHBOT_TEST_ARTEFACTS", Path(__file__).parent.parent / "test-artefacts")
)
THEME = '{"bg_color":"#17212b","text_color":"#f5f5f5","button_color":"#5288c1"}'

if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium and chromium-driver (.ci/run installs them)")
    pytest.skip("chromium / chromedriver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=420,1400",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
async def bot(tmp_path: Path, template_db: TemplateDatabase) -> AsyncIterator[Harness]:
    extra = {
        "BRANCHBOT_WEBAPP_LISTEN": "127.0.0.1:0",
        "BRANCHBOT_WEBAPP_URL": "http://127.0.0.1/webapp/",
        "BRANCHBOT_WEBAPP_MAX_AGE": 600,
    }
    clock = FrozenClock(NOVEMBER)  # 2026Q4: October's meetings are due
    async with running_bot(tmp_path, template_db, clock=clock, extra_settings=extra) as harness:
        yield harness


_visits = 0


def _open(driver: WebDriver, bot: Harness, init_data: str, query: str = "") -> str:
    """Open the page as Telegram does (a fresh load, no kept session); its final state."""
    global _visits
    _visits += 1
    port = bot.app.bot_data["webapp_port"]
    driver.get(f"http://127.0.0.1:{port}/webapp/static/dashboard.css")  # same origin
    driver.execute_script("sessionStorage.clear()")
    fragment = f"tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0"
    fragment += f"&tgWebAppThemeParams={quote(THEME, safe='')}"
    driver.get(f"http://127.0.0.1:{port}/webapp/?visit={_visits}{query}#{fragment}")
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
    )
    return str(driver.find_element(By.TAG_NAME, "body").get_attribute("data-state"))


def _shot(driver: WebDriver, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTEFACTS / f"{name}.png"))


def _text(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


async def test_secretary_sees_their_branch_and_forgeries_are_refused(
    bot: Harness, browser: WebDriver
) -> None:
    _, a_id, b_id = await _world(bot, compliant=False)
    await hold_meetings(bot, b_id)
    await hold_meetings(bot, a_id, only={(mrules.COMMITTEE, "2026-10")})
    async with bot.uow() as svc:  # 李明 pays this month and the secretary confirms it
        own = await svc.membership.viewer_of(1001)
        li = await svc.membership.viewer_of(1002)
        month = svc.fees.current_month(await svc.fees._branch(a_id))
        paid = await svc.fees.submit(li, [month])
        await svc.fees.confirm(own, paid.id)
        item = await svc.session.scalar(
            select(PointItem.id).where(
                PointItem.branch_id == a_id,
                PointItem.points > 0,
                PointItem.block != PointBlock.BASE,
            )
        )
        assert item is not None and li.person_id is not None
        await svc.points.direct_grant(own, person_id=li.person_id, item_id=item, reason="志愿服务")
    async with bot.uow() as svc:
        fees = await svc.fees.month_summary(own)
        scores = await svc.points.scores_for(own, await svc.points.default_quarter(own))

    def valid() -> None:
        state = _open(browser, bot, make_init_data(LOCAL_TOKEN, 1001, "王书记"))
        _shot(browser, "dashboard-secretary")
        assert state == "ready", _text(browser, "#error")
        assert _text(browser, "#title") == "支部看板"
        assert _text(browser, "#branch-name").startswith("心内科党支部 · ")
        fee_row = browser.find_element(By.CSS_SELECTOR, f'#fees tr[data-month="{fees.month}"]')
        cells = [c.text for c in fee_row.find_elements(By.TAG_NAME, "td")]
        assert cells == [str(fees.month), f"已缴 {fees.confirmed_count}/{fees.liable}"]
        assert fees.confirmed_count == 1
        members = [r.text.split()[1] for r in browser.find_elements(By.CSS_SELECTOR, "#members tr")]
        # Organisational life this quarter: per kind held of required, 🔴 where missed.
        assert _text(browser, "h3[data-label=meetings]") == "本季度应开会议（已开/应开）"
        meetings = {
            r.get_attribute("data-kind"): (
                [c.text for c in r.find_elements(By.TAG_NAME, "td")],
                r.get_attribute("class"),
            )
            for r in browser.find_elements(By.CSS_SELECTOR, "#meetings tr")
        }
        assert meetings[mrules.COMMITTEE] == (["支委会", "1/2", ""], "")
        assert meetings[mrules.GROUP] == (["党小组会", "0/2", "未开 2026-10"], "flagged")
        assert meetings[mrules.THEME_DAY][1] == "flagged" and len(meetings) == 6
        assert _text(browser, "#lecture") == "书记本年尚未讲党课。"
        assert _text(browser, "#talks") == "本年与支委谈心谈话人数 0/3"
        assert members == [s.name for s in scores]
        # The charts were drawn by the vendored Chart.js, in the Telegram theme colours.
        drawn = browser.execute_script(
            "return ['scores-chart','fees-chart'].map(id => !!Chart.getChart(id))"
        )
        assert drawn == [True, True]
        background = browser.execute_script(
            "return getComputedStyle(document.body).backgroundColor"
        )
        assert background == "rgb(23, 33, 43)"
        assert browser.find_element(By.ID, "compare-section").is_displayed() is False
        # The ledger: one entry (李明's); the search filters it in the page.
        ledger = browser.find_elements(By.CSS_SELECTOR, "#ledger tbody tr")
        assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in ledger] == ["李明"]
        search = browser.find_element(By.ID, "search")
        search.send_keys("王书记")
        assert _text(browser, "#ledger tbody") == "暂无内容。"
        search.clear()
        search.send_keys("李")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#ledger tbody tr td")) == 4

    def refused(init_data: str, expected: str, name: str, query: str = "") -> None:
        state = _open(browser, bot, init_data, query)
        _shot(browser, name)
        assert state == "error"
        assert _text(browser, "#error") == expected
        assert not browser.find_element(By.ID, "main").is_displayed()

    await asyncio.to_thread(valid)
    forged = make_init_data(LOCAL_TOKEN, 1001, "王书记").replace("1001", "1101")
    await asyncio.to_thread(refused, forged, "bad signature", "dashboard-forged")
    old = make_init_data(LOCAL_TOKEN, 1001, "王书记", auth_date=int(time.time()) - 3600)
    await asyncio.to_thread(refused, old, "expired", "dashboard-expired")
    other = make_init_data(LOCAL_TOKEN, 1101, "外科书记")
    await asyncio.to_thread(
        refused, other, "您无权查看该支部。", "dashboard-other-branch", f"&branch={a_id}"
    )
    assert b_id != a_id
    assert await bot.scalar("SELECT count(*) FROM webapp_logins") == 2  # valid ones only

    def administrator() -> None:
        state = _open(browser, bot, make_init_data(LOCAL_TOKEN, ADMIN, "院党委"))
        assert state == "ready", _text(browser, "#error")
        rows = browser.find_elements(By.CSS_SELECTOR, "#compare tbody tr")
        flagged = {
            r.find_elements(By.TAG_NAME, "td")[0].text: r.get_attribute("class") for r in rows
        }
        assert flagged == {"心内科党支部": "flagged", "外科党支部": ""}
        held = {
            r.find_elements(By.TAG_NAME, "td")[0].text: r.find_element(
                By.CSS_SELECTOR, "td.meetings"
            )
            for r in rows
        }
        assert held["心内科党支部"].text == "1/9"
        assert held["心内科党支部"].get_attribute("class") == "meetings missed"
        assert held["心内科党支部"].get_attribute("title") == (
            "未开 2026-10 党小组会、2026-10 主题党日"
        )
        assert (held["外科党支部"].text, held["外科党支部"].get_attribute("class")) == (
            "9/9",
            "meetings",
        )
        assert browser.execute_script("return !!Chart.getChart('compare-chart')") is True
        assert not browser.find_element(By.ID, "branch-section").is_displayed()
        surgery = next(r for r in rows if r.get_attribute("data-branch") == str(b_id))
        surgery.find_element(By.TAG_NAME, "button").click()
        WebDriverWait(browser, 10).until(
            lambda d: d.find_element(By.ID, "branch-name").text.startswith("外科党支部")
        )
        _shot(browser, "dashboard-organisation")

    await asyncio.to_thread(administrator)
