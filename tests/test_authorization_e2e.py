"""Authorization, end to end over HTTP: every secretary/reviewer action of the bot,
attempted by a plain member of the same branch, by the secretary of another branch and
by a stranger — as commands, by replaying the real callback data a secretary received,
and by forged variants of it. Every attempt is refused with a translated answer,
changes nothing in the database, and is audited (``access.denied``, or the feature's own
``….denied`` entry).

One bot with two branches is shared by the module (setup takes a few seconds); each
case compares a dump of every domain table before and after, so cases cannot hide
changes from one another."""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text

import domain
from domain.appraisal_base import GROUP_ONLY, NO_APPRAISAL, NOT_APPRAISED
from domain.points import REVIEWERS_ONLY
from emulator import BotMessage, EmulatedUser
from handlers.callbacks import Callback, parse
from locales.i18n import translator
from store.models import Base
from tests.databases import TemplateDatabase
from tests.harness import Harness, running_bot

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ROSTER_A = """name,status,telegram_id,joined_on,fee_basis,monthly_income
王书记,正式党员,1001,2001-07-01,在职,4000
李明,正式党员,1002,2001-07-01,在职,4000
张预备,预备党员,1003,2025-01-15,在职,5000
钱预备,预备党员,1005,2025-01-15,在职,5000
"""
ROSTER_B = """name,status,telegram_id
外科书记,正式党员,1101
外科成员,正式党员,1102
"""

MEMBER, OTHER_SECRETARY, STRANGER = "member", "other_secretary", "stranger"
ACTORS = {MEMBER: (1002, "李明"), OTHER_SECRETARY: (1101, "外科书记"), STRANGER: (9001, "路人")}

#: Tables a refused action must not touch. Left out: bookkeeping of every update
#: (processed_updates, telegram_accounts' last seen), the audit log (checked apart) and
#: what periodic tasks write on their own schedule.
IGNORED_TABLES = {
    "processed_updates",
    "telegram_accounts",
    "audit_log",
    "leases",
    "deliveries",
    "reminder_occurrences",
    "reminder_outbox",
    "point_review_digests",
    "point_quarter_closes",
    "point_quarter_scores",
    "fee_arrears_alerts",
    "meeting_alerts",
    "quiz_questions",  # the starter bank: large, and only an import adds to it (counted)
    "appraisal_reminders",
    "chat_menus",  # the leader's menus task, in the background
}

_ZH = translator("zh_Hans").gettext


def _domain_refusals() -> set[str]:
    """The msgids of every NotAllowed / NotFound the domain raises (read from the
    source, so a new refusal is known here without listing it)."""
    found: set[str] = set()
    for path in Path(domain.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"NotAllowed", "NotFound"}
                and node.args
                and isinstance(node.args[0], ast.Call)
                and node.args[0].args
                and isinstance(node.args[0].args[0], ast.Constant)
            ):
                found.add(str(node.args[0].args[0].value))
    return found


#: Every answer that means "no" (simplified Chinese, as the actors read it).
REFUSALS = {
    _ZH(m)
    for m in [
        *_domain_refusals(),
        REVIEWERS_ONLY,
        "Only the branch secretary can do this.",
        "This button is no longer valid.",
        "This button is not for you.",
        "This is no longer open. Send /grant to start again.",
        "I can only help members of a branch. Send /start to see how to join.",
        "Only members of a branch can use /fees. Send /start first.",
        "Only members of a branch can see its calendar.",
        "Only members of a branch get reminders.",
        "There is nothing you can export.",
        NO_APPRAISAL,
        GROUP_ONLY,
        NOT_APPRAISED,
    ]
}
ERROR_TEXT = _ZH(
    "Sorry, something went wrong on my side and nothing was changed. Please try again in a moment."
)


@dataclass
class World:
    bot: Harness
    users: dict[str, EmulatedUser]
    #: name → callback data the real secretary (or reviewer) of branch A received
    buttons: dict[str, str] = field(default_factory=dict)
    claim_pending: int = 0
    claim_approved: int = 0
    #: a message in each actor's chat that forged presses are sent "from"
    hosts: dict[str, int] = field(default_factory=dict)


# -- helpers -------------------------------------------------------------------------------
def data_of(msg: BotMessage, action: str, arg: str | None = None) -> str:
    for row in msg.buttons:
        for b in row:
            cb = parse(b.callback_data)
            if cb is not None and cb.action == action and (arg is None or cb.arg == arg):
                return b.callback_data or ""
    raise AssertionError(f"no {action} button in {msg.text!r}: {msg.buttons}")


async def settle(bot: Harness, update_id: int) -> str:
    """Wait until the update's transaction is over; its outcome ("ok" / "error")."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        outcome = await bot.scalar(
            "SELECT outcome FROM processed_updates WHERE update_id = :u", u=update_id
        )
        if outcome is not None:
            return str(outcome)
        await asyncio.sleep(0.01)
    raise AssertionError(f"update {update_id} was never committed")


async def snapshot(bot: Harness) -> dict[str, list[tuple[Any, ...]]]:
    tables = [t for t in Base.metadata.sorted_tables if t.name not in IGNORED_TABLES]
    result: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.runtime.db.session() as session:
        for table in tables:
            rows = (await session.execute(select(table))).all()
            result[table.name] = sorted((tuple(r) for r in rows), key=repr)
        result["quiz_questions"] = [
            (await session.scalar(text("SELECT count(*) FROM quiz_questions")),)
        ]
    return result


async def started(bot: Harness, uid: int, name: str) -> EmulatedUser:
    user = bot.user(uid, name)
    await user.send("/start")
    await user.wait_reply()
    return user


# -- the shared world ----------------------------------------------------------------------
async def _claim(bot: Harness, user: EmulatedUser, item_id: int, indicator: str) -> None:
    await user.send("/claim")
    start = await user.wait_reply()
    await user.press(start, data=f"pt:0:ind:{indicator}")
    await user.wait_callback_answer()
    items = await user.wait_reply()
    await user.press(items, data=f"pt:{item_id}:item")
    await user.wait_callback_answer()
    when = await user.wait_reply()
    await user.press(when, "今天")
    await user.wait_callback_answer()
    await user.wait_reply()
    await user.send("参加支部主题党日活动。")
    confirm = await user.wait_reply()
    await user.press(confirm, "提交")
    await user.wait_callback_answer()
    await user.wait_reply()


async def build_world(bot: Harness) -> World:
    a = await bot.create_branch("心内科党支部", secretary=1001, secretary_name="王书记")
    await bot.import_roster(a.join_code, ROSTER_A)
    b = await bot.create_branch("外科党支部", secretary=1101, secretary_name="外科书记")
    await bot.import_roster(b.join_code, ROSTER_B)
    sec = await started(bot, 1001, "王书记")
    users = {name: await started(bot, uid, first) for name, (uid, first) in ACTORS.items()}
    hosts = {name: u.inbox[-1].message_id for name, u in users.items()}
    zhang = await started(bot, 1003, "张预备")
    qian = await started(bot, 1005, "钱预备")
    await started(bot, 1102, "外科成员")
    world = World(bot, users, hosts=hosts)
    buttons = world.buttons

    # jr: a join request.
    newcomer = bot.user(5001, "新人")
    await newcomer.send(f"/start {a.join_code}")
    await newcomer.wait_reply()
    request = await sec.wait_reply()
    buttons["jr approve"] = data_of(request, "ok", "member")
    buttons["jr reject"] = data_of(request, "no")

    # pt: two claims; the second approved (for revoke).
    item_id, indicator = (
        (
            await bot.scalar(
                "SELECT id FROM point_items WHERE branch_id = :b AND evidence_required = false "
                "AND points > 0 ORDER BY id LIMIT 1",
                b=a.id,
            )
        ),
        await bot.scalar(
            "SELECT indicator FROM point_items WHERE branch_id = :b AND evidence_required = false "
            "AND points > 0 ORDER BY id LIMIT 1",
            b=a.id,
        ),
    )
    await _claim(bot, zhang, item_id, indicator)
    review = await sec.wait_reply()
    buttons["pt approve"] = data_of(review, "ap")
    buttons["pt reject"] = data_of(review, "rj")
    buttons["pt adjust"] = data_of(review, "adj")
    world.claim_pending = parse(buttons["pt approve"]).id  # type: ignore[union-attr]
    await _claim(bot, qian, item_id, indicator)
    review2 = await sec.wait_reply()
    await sec.press(review2, "批准")
    await sec.wait_callback_answer()
    await qian.wait_reply()
    buttons["pt revoke"] = data_of(review2, "rv")
    world.claim_approved = parse(buttons["pt revoke"]).id  # type: ignore[union-attr]
    await sec.send("/pending")
    pending = await sec.wait_reply()
    buttons["pt open"] = data_of(pending, "open")
    await sec.send("/grant")
    grant = await sec.wait_reply()
    buttons["pt grant person"] = data_of(grant, "gp")
    buttons["pt grant page"] = "pt:1:gpp"  # the list's ◀ / ▶ (one page in a small branch)
    await sec.press(grant, data=buttons["pt grant person"])
    await sec.wait_callback_answer()
    grant_ind = await sec.wait_reply()
    buttons["pt grant indicator"] = data_of(grant_ind, "gi")
    await sec.press(grant_ind, data=buttons["pt grant indicator"])
    await sec.wait_callback_answer()
    grant_item = await sec.wait_reply()
    buttons["pt grant item"] = data_of(grant_item, "gt")
    await sec.send("/cancel")
    await sec.wait_reply()

    # mb: review rights.
    await sec.send("/reviewers")
    reviewers = await sec.wait_reply()
    buttons["mb reviewer switch"] = data_of(reviewers, "rv")
    buttons["mb reviewers page"] = "mb:1:rvp"
    await sec.send("/transfer")
    transfer = await sec.wait_reply()
    buttons["mb transfer pick"] = data_of(transfer, "tr")
    buttons["mb transfer confirm"] = buttons["mb transfer pick"].replace(":tr", ":tro")
    buttons["mb transfer page"] = "mb:1:trp"

    # cat: the catalogue.
    await sec.send("/catalogue")
    catalogue = await sec.wait_reply()
    buttons["cat indicator"] = data_of(catalogue, "ind")
    buttons["cat add"] = data_of(catalogue, "add")
    await sec.press(catalogue, data=buttons["cat indicator"])
    await sec.wait_callback_answer()
    listing = await sec.wait_reply()
    buttons["cat show"] = data_of(listing, "show")
    await sec.press(listing, data=buttons["cat show"])
    await sec.wait_callback_answer()
    detail = await sec.wait_reply()
    for action, name in [("pts", "points"), ("cap", "cap"), ("ev", "evidence"), ("ret", "retire")]:
        buttons[f"cat {name}"] = data_of(detail, action)
    buttons["cat restore"] = buttons["cat retire"].replace(":ret", ":res")
    await sec.press(catalogue, data=buttons["cat add"])
    await sec.wait_callback_answer()
    add = await sec.wait_reply()
    buttons["cat add indicator"] = data_of(add, "ai")
    await sec.press(add, data=buttons["cat add indicator"])
    await sec.wait_callback_answer()
    block = await sec.wait_reply()
    buttons["cat add block"] = data_of(block, "ab")
    await sec.send("/cancel")
    await sec.wait_reply()

    # rp: a thought report and the nudge.
    await zhang.send("/report")
    await zhang.wait_reply()
    await zhang.send("思想汇报：认真学习党章。")
    draft = await zhang.wait_reply()
    await zhang.press(draft, "提交")
    await zhang.wait_callback_answer()
    await zhang.wait_reply()
    shown = await sec.wait_reply()
    buttons["rp acknowledge"] = data_of(shown, "ack")
    buttons["rp comment"] = data_of(shown, "comment")
    await sec.send("/reports")
    overview = await sec.wait_reply()
    buttons["rp nudge"] = data_of(overview, "nudge")

    # qz / ex: the shared bank switch, scheduling an exam, its results.
    await sec.send("/questions")
    shared, _info = await sec.wait_replies(2)
    buttons["qz shared off"] = data_of(shared, "shared")
    buttons["qz shared on"] = buttons["qz shared off"].replace(":off", ":on")
    await sec.send("/cancel")
    await sec.wait_reply()
    await sec.send("/exam")
    exams = await sec.wait_reply()
    buttons["ex new"] = data_of(exams, "new")
    await sec.press(exams, data=buttons["ex new"])
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send("党章知识考试")
    await sec.wait_reply()
    await sec.send("3")
    await sec.wait_reply()
    await sec.send("20")
    await sec.wait_reply()
    today = bot.runtime.clock.now().date()
    await sec.send(
        f"{today.isoformat()} {today.replace(year=today.year + 1).isoformat()[:4]}-01-01"
    )
    window = await sec.wait_reply()
    if not window.buttons:  # the window was refused (e.g. too long): a short one
        from datetime import timedelta

        await sec.send(f"{today.isoformat()} {(today + timedelta(days=7)).isoformat()}")
        window = await sec.wait_reply()
    buttons["ex pass mark"] = data_of(window, "pass")
    await sec.press(window, data=buttons["ex pass mark"])
    await sec.wait_callback_answer()
    audience = await sec.wait_reply()
    buttons["ex audience"] = data_of(audience, "aud")
    await sec.press(audience, data=buttons["ex audience"])
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.wait_reply()  # their own invitation
    for u in (sec, zhang, qian):
        u.skip_pending()
    await sec.send("/exam")
    exams = await sec.wait_reply()
    buttons["ex results"] = data_of(exams, "res")

    # fee: the month overview, the amount table, a payment to confirm or query.
    await zhang.send("/fees")
    my_fees = await zhang.wait_reply()
    await zhang.press(my_fees, data=data_of(my_fees, "pay"))
    await zhang.wait_callback_answer()
    pay = await zhang.wait_reply()
    await zhang.press(pay, data=data_of(pay, "submit"))
    await zhang.wait_callback_answer()
    await zhang.wait_reply()
    payment = await sec.wait_reply()
    buttons["fee confirm"] = data_of(payment, "ok")
    buttons["fee query"] = data_of(payment, "ask")
    await sec.send("/fees")
    summary = await sec.wait_reply()
    buttons["fee nudge"] = data_of(summary, "nudge")
    buttons["fee month"] = data_of(summary, "month")
    buttons["fee amount table"] = data_of(summary, "list")
    await sec.send("/fees set")
    payers = await sec.wait_reply()
    buttons["fee pick"] = data_of(payers, "pick")
    await sec.press(payers, data=buttons["fee pick"])
    await sec.wait_callback_answer()
    bases = await sec.wait_reply()
    buttons["fee basis none"] = data_of(bases, "basis", "none")
    buttons["fee basis employed"] = data_of(bases, "basis", "employed")
    zhang_pid = await bot.scalar("SELECT id FROM persons WHERE full_name = '张预备'")
    buttons["fee remind"] = Callback("fee", zhang_pid, "remind").pack()

    # rm: the calendar rules, a one-off event, the unknown list.
    await sec.send("/calendar")
    calendar = await sec.wait_reply()
    buttons["rm rules"] = data_of(calendar, "rules")
    buttons["rm add"] = data_of(calendar, "add")
    await sec.press(calendar, data=buttons["rm add"])
    await sec.wait_callback_answer()
    await sec.wait_reply()
    await sec.send(f"{today.year + 1}-06-30 15:00 专题党课")
    aud = await sec.wait_reply()
    buttons["rm event audience"] = data_of(aud, "aud")
    await sec.press(aud, data=buttons["rm event audience"])
    await sec.wait_callback_answer()  # answered after the message was edited
    buttons["rm event reminders"] = data_of(aud, "remset")
    await sec.press(aud, data=buttons["rm event reminders"])
    await sec.wait_callback_answer()  # answered after the message was edited
    for action in ("when", "rems", "toggle", "del"):
        buttons[f"rm {action}"] = data_of(aud, action)
    buttons["rm view"] = buttons["rm when"].replace(":when", ":view")
    buttons["rm unknown checked"] = Callback("rm", 0, "ack").pack()
    # og: the organisation oversight's sort/page button (only organisation admins).
    buttons["og view"] = Callback("og", 0, "view", "flags").pack()
    # tr / nt: a transfer's take-in button and a notice's read button (none addressed here).
    buttons["tr accept"] = Callback("tr", 1, "ok").pack()
    buttons["nt read"] = Callback("nt", 1, "read").pack()

    # pl: the admission pipeline (the probationary members are in it).
    await sec.send("/pipeline")
    candidates = await sec.wait_reply()
    buttons["pl open"] = data_of(candidates, "open")
    buttons["pl list"] = Callback("pl", 0, "list").pack()
    await sec.press(candidates, data=buttons["pl open"])
    await sec.wait_callback_answer()
    dossier = await sec.wait_reply()
    buttons["pl step"] = data_of(dossier, "step")
    buttons["pl record"] = buttons["pl step"].replace(":step:", ":rec:")
    buttons["pl poll"] = buttons["pl step"].split(":step:")[0] + ":poll:meeting"
    buttons["pl extend"] = data_of(dossier, "ext", "6")
    buttons["pl adopt"] = data_of(dossier, "adopt")

    # mt: a meeting (notice, a leave request), its record's secretary buttons.
    for u in (sec, zhang, qian):
        u.skip_pending()
    from datetime import timedelta as _td
    from zoneinfo import ZoneInfo as _Zone

    from handlers.meetings_jobs import run_notices

    soon = (bot.runtime.clock.now() + _td(hours=12)).astimezone(_Zone("Asia/Shanghai"))
    await sec.send(f"/meeting_new 党课 {soon:%Y-%m-%d %H:%M} 授权测试党课 | 会议室")
    created = await sec.wait_reply()
    for action, name in [
        ("cls", "close"),
        ("roll", "roll"),
        ("who", "who"),
        ("min", "minutes"),
        ("off", "call off"),
    ]:
        buttons[f"mt {name}"] = data_of(created, action)
    await sec.press(created, data=buttons["mt roll"])
    await sec.wait_callback_answer()
    roll = await sec.wait_reply()
    buttons["mt tick"] = data_of(roll, "tk")
    await sec.press(created, data=buttons["mt who"])
    await sec.wait_callback_answer()
    who = await sec.wait_reply()
    buttons["mt set"] = data_of(who, "set")
    buttons["mt minutes save"] = buttons["mt minutes"].replace(":min", ":msave")
    await sec.send("/meetings")
    buttons["mt calendar"] = data_of(await sec.wait_reply(), "cal")
    await run_notices(bot.app)
    notice = await zhang.wait_reply()
    await zhang.press(notice, "请假")
    await zhang.wait_callback_answer()
    await zhang.wait_reply()
    await zhang.send("外出学习")
    await zhang.wait_reply()
    leave = await sec.wait_reply()
    while "lok" not in str(leave.buttons):  # the secretary's own notice came first
        leave = await sec.wait_reply()
    buttons["mt leave approve"] = data_of(leave, "lok")
    buttons["mt leave refuse"] = data_of(leave, "lno")
    for u in (sec, zhang, qian):
        u.skip_pending()

    # tk: a planned heart-to-heart talk between 张预备 and the secretary.
    await zhang.send("/talks")
    talks = await zhang.wait_reply()
    await zhang.press(talks, "计划谈话")
    await zhang.wait_callback_answer()
    partners = await zhang.wait_reply()
    await zhang.press(partners, "王书记")
    await zhang.wait_callback_answer()
    await zhang.wait_reply()
    await zhang.send(f"{soon + _td(days=2):%Y-%m-%d}")
    await zhang.wait_reply()
    await sec.wait_reply()  # told of the plan
    talk_id = await bot.scalar("SELECT max(id) FROM talks")
    buttons["tk done"] = Callback("tk", talk_id, "done").pack()
    # ap: the democratic appraisal (opened by the secretary; its control buttons).
    await sec.send("/appraisal")
    appraisal = await sec.wait_reply()
    buttons["ap open"] = data_of(appraisal, "open")
    await sec.press(appraisal, data=buttons["ap open"])
    await sec.wait_callback_answer()
    await sec.wait_edit(appraisal)
    buttons["ap home"] = Callback("ap", 0, "home").pack()
    buttons["ap group"] = data_of(appraisal, "group")
    buttons["ap results"] = data_of(appraisal, "res")
    await sec.press(appraisal, data=buttons["ap group"])
    await sec.wait_callback_answer()
    await sec.wait_edit(appraisal)
    li_person = int(
        await bot.scalar("SELECT person_id FROM telegram_accounts WHERE telegram_user_id = 1002")
    )
    buttons["ap seat"] = data_of(appraisal, "seat")
    assert buttons["ap seat"].startswith("ap:")
    await sec.press_raw(appraisal.message_id, buttons["ap results"])
    await sec.wait_callback_answer()
    results = await sec.wait_reply()
    await sec.press(results, data=data_of(results, "final"))
    await sec.wait_callback_answer()
    await sec.wait_edit(results)
    buttons["ap finalise"] = data_of(results, "final", "yes")
    buttons["ap publish"] = Callback("ap", 0, "pub").pack()
    buttons["ap unqualified"] = Callback("ap", li_person, "unq", "yes").pack()
    buttons["ap not unqualified"] = Callback("ap", li_person, "unq", "no").pack()
    for u in [sec, zhang, qian, *users.values()]:
        u.skip_pending()
    # og: the oversight sorted by meetings compliance (only organisation admins).
    buttons["og view meetings"] = Callback("og", 0, "view", "meetings").pack()
    # am: the appraisal's 组织生活会 (schedule, pick, unlink: the secretary's).
    buttons["am menu"] = Callback("am", 0, "menu").pack()
    buttons["am new"] = Callback("am", 0, "new").pack()
    buttons["am off"] = Callback("am", 0, "off").pack()
    meeting_id = int(await bot.scalar("SELECT max(id) FROM meetings"))
    buttons["am pick"] = Callback("am", meeting_id, "pick").pack()
    await bot.emu.wait_until(lambda: bot.emu.pending_updates == 0)
    return world


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, template_db: TemplateDatabase
) -> AsyncIterator[World]:
    async with running_bot(tmp_path_factory.mktemp("authz"), template_db) as bot:
        yield await build_world(bot)


# -- the cases -----------------------------------------------------------------------------
#: Buttons whose id is 0 act on the presser's own branch: another branch's secretary
#: pressing them acts, rightly, on their own branch (not an attack on branch A).
OWN_BRANCH_BUTTONS = {
    "cat indicator",
    "cat add",
    "cat add indicator",
    "cat add block",
    "qz shared off",
    "qz shared on",
    "ex new",
    "ex pass mark",
    "ex audience",
    "fee nudge",
    "fee month",
    "fee amount table",
    "rm rules",
    "rm add",
    "rm event audience",
    "rm event reminders",
    "rm unknown checked",
    "pl list",
    "ap open",
    "ap home",
    "am menu",
    "am new",
    "am off",
}
BUTTONS = [
    "jr approve",
    "jr reject",
    "pt approve",
    "pt reject",
    "pt adjust",
    "pt revoke",
    "pt open",
    "pt grant person",
    "pt grant indicator",
    "pt grant item",
    "cat indicator",
    "cat add",
    "cat show",
    "cat points",
    "cat cap",
    "cat evidence",
    "cat retire",
    "cat restore",
    "cat add indicator",
    "cat add block",
    "rp acknowledge",
    "rp comment",
    "rp nudge",
    "qz shared off",
    "qz shared on",
    "ex new",
    "ex pass mark",
    "ex audience",
    "ex results",
    "fee confirm",
    "fee query",
    "fee nudge",
    "fee month",
    "fee amount table",
    "fee pick",
    "fee basis none",
    "fee basis employed",
    "fee remind",
    "rm rules",
    "rm add",
    "rm event audience",
    "rm event reminders",
    "rm view",
    "rm when",
    "rm rems",
    "rm toggle",
    "rm del",
    "rm unknown checked",
    "og view",
    "tr accept",
    "nt read",
    "pl open",
    "pl list",
    "pl step",
    "pl record",
    "pl poll",
    "pl extend",
    "pl adopt",
    "mt close",
    "mt roll",
    "mt who",
    "mt minutes",
    "mt tick",
    "mt set",
    "mt minutes save",
    "mt leave approve",
    "mt leave refuse",
    "tk done",
    "mt calendar",
    "mt call off",
    "og view meetings",
    "ap open",
    "ap home",
    "ap group",
    "ap seat",
    "ap results",
    "ap finalise",
    "ap publish",
    "ap unqualified",
    "ap not unqualified",
    "am menu",
    "am new",
    "am off",
    "am pick",
]
BUTTON_CASES = [
    pytest.param(name, actor, id=f"{name.replace(' ', '-')}-by-{actor}")
    for name in BUTTONS
    for actor in ACTORS
    if not (actor == OTHER_SECRETARY and name in OWN_BRANCH_BUTTONS)
]


async def attempt(world: World, actor: str, act: Any) -> tuple[list[str], list[Any]]:
    """Run ``act(user)`` (returns the texts the actor got and the last update id) with
    every domain table dumped before and after; the texts and the audit entries written."""
    bot = world.bot
    user = world.users[actor]
    user.skip_pending()
    sent_before = len(user.inbox)
    before, audits = await snapshot(bot), await audit_count(bot)
    texts, update_id = await act(user)
    assert await settle(bot, update_id) == "ok"  # not rolled back by the error handler
    assert await snapshot(bot) == before, "a refused action changed the database"
    texts += [m.text or "" for m in user.inbox[sent_before:]]  # messages, after answers
    for said in texts:
        assert said != ERROR_TEXT and "出了点问题" not in said
    async with bot.runtime.db.session() as session:
        rows = (
            await session.execute(
                text("SELECT action, actor_telegram_id FROM audit_log WHERE id > :n ORDER BY id"),
                {"n": audits},
            )
        ).all()
    return texts, list(rows)


def denials_by(audits: list[Any], actor: str) -> int:
    """How many refusals of ``actor`` the audit log recorded."""
    who = ACTORS[actor][0]
    return sum(1 for action, actor_id in audits if action.endswith("denied") and actor_id == who)


async def audit_count(bot: Harness) -> int:
    return int(await bot.scalar("SELECT coalesce(max(id), 0) FROM audit_log") or 0)


def refusal(text: str | None) -> bool:
    return text in REFUSALS


#: Where the features audit a denied decision: button → (audit action, actors audited).
#: A stranger's press of a points or fee button is turned away before the service.
AUDITED = {
    "jr approve": ("join.denied", {MEMBER, OTHER_SECRETARY, STRANGER}),
    "jr reject": ("join.denied", {MEMBER, OTHER_SECRETARY, STRANGER}),
    "pt approve": ("points.claim.denied", {MEMBER, OTHER_SECRETARY}),
    "pt reject": ("points.claim.denied", {MEMBER, OTHER_SECRETARY}),
    "pt adjust": ("points.claim.denied", {MEMBER, OTHER_SECRETARY}),
    "rp acknowledge": ("report.denied", {MEMBER, OTHER_SECRETARY, STRANGER}),
    "rp comment": ("report.denied", {MEMBER, OTHER_SECRETARY, STRANGER}),
    "fee confirm": ("fees.denied", {MEMBER, OTHER_SECRETARY}),
    "fee query": ("fees.denied", {MEMBER, OTHER_SECRETARY}),
}


@pytest.mark.parametrize(("name", "actor"), BUTTON_CASES)
async def test_replayed_button_refused(world: World, name: str, actor: str) -> None:
    data = world.buttons[name]

    async def act(user: EmulatedUser) -> tuple[list[str], int]:
        update_id = await user.press_raw(world.hosts[actor], data)
        answer = await user.wait_callback_answer()
        return [answer.text or ""], update_id

    texts, audits = await attempt(world, actor, act)
    assert len(texts) == 1, f"a refused press sent messages: {texts[1:]}"
    assert refusal(texts[0]), f"{name} by {actor}: {texts[0]!r}"
    assert denials_by(audits, actor) >= 1, f"{name} by {actor} not audited: {audits}"
    if name in AUDITED and actor in AUDITED[name][1]:
        assert (AUDITED[name][0], ACTORS[actor][0]) in [tuple(r) for r in audits], audits


def forged_variants(data: str, actor: str) -> list[str]:
    """Forged versions of ``data``: an unknown action and an id that is not there for
    everyone; malformed data, an id no database holds and a bad argument from the member."""
    cb = parse(data)
    assert cb is not None
    variants = [
        Callback(cb.prefix, cb.id, "zz", cb.arg).pack(),
        Callback(cb.prefix, 999_999 if cb.id else 1, cb.action, cb.arg).pack(),
    ]
    if actor == MEMBER:
        variants += [data + ":x", f"{cb.prefix}:{2**63}:{cb.action}", f"{cb.prefix}::{cb.action}"]
        if cb.arg:
            variants.append(Callback(cb.prefix, cb.id, cb.action, "evil").pack())
    return variants


@pytest.mark.parametrize(("name", "actor"), BUTTON_CASES)
async def test_forged_button_refused(world: World, name: str, actor: str) -> None:
    variants = forged_variants(world.buttons[name], actor)

    async def act(user: EmulatedUser) -> tuple[list[str], int]:
        answers = []
        update_id = 0
        for data in variants:
            update_id = await user.press_raw(world.hosts[actor], data)
            answers.append((await user.wait_callback_answer()).text or "")
        return answers, update_id

    answers, audits = await attempt(world, actor, act)
    for data, answer in zip(variants, answers, strict=True):  # and no message sent
        assert refusal(answer), f"{data} by {actor}: {answer!r}"
    assert denials_by(audits, actor) >= len(variants), f"not all audited: {audits}"


COMMANDS = [
    "/pending",
    "/grant",
    "/revoke {claim}",
    "/ranking",
    "/ranking 2026Q1",
    "/catalogue",
    "/questions",
    "/reports",
    "/reports 2026Q1",
    "/reminders_unknown",
    "/export",
    "/export points",
    "/export fees 2026",
    "/export reports 2026Q1",
    "/export exams",
    "/fees set",
    "/reviewers",
    "/transfer",
    "/scheme base 90",
    "/org",
    "/org xlsx",
    "/newbranch 新支部 7777",
    "/newgeneral 新总支",
    "/secretary 1 1002",
    "/orgadmin 7777",
    "/dashboard",
    "/move 1002 2",
    "/notice 测试通知",
    "/pipeline",
    "/export pipeline 2026",
    "/meeting_new 党员大会 2030-01-05 15:00 越权会议",
    "/export meetings 2026",
    "/export talks 2026Q2",
    "/org meetings",
    "/appraisal set daily 60",
    "/appraisal rep 某群众",
    "/export appraisal 2026",
]
COMMAND_CASES = [
    pytest.param(command, actor, id=f"{command.split()[0][1:]}-{i}-by-{actor}")
    for i, command in enumerate(COMMANDS)
    for actor in (MEMBER, STRANGER)
] + [
    # Another branch's secretary may run every command on their own branch; what names
    # branch A's things by number must still be refused.
    pytest.param("/revoke {claim}", OTHER_SECRETARY, id="revoke-A-claim-by-other_secretary"),
]


@pytest.mark.parametrize(("command", "actor"), COMMAND_CASES)
async def test_secretary_command_refused(world: World, command: str, actor: str) -> None:
    typed = command.format(claim=world.claim_approved)

    async def act(user: EmulatedUser) -> tuple[list[str], int]:
        update_id = await user.send(typed)
        await user.wait_reply()
        return [], update_id

    texts, audits = await attempt(world, actor, act)
    assert len(texts) == 1 and refusal(texts[0]), f"{typed} by {actor}: {texts}"
    assert denials_by(audits, actor) >= 1, f"{typed} by {actor} not audited: {audits}"
    assert not world.users[actor].inbox[-1].buttons


SECRETARY_ACTIONS = {
    "rules",
    "add",
    "new",
    "res",
    "nudge",
    "list",
    "month",
    "pick",
    "open",
    "cls",
    "roll",
    "who",
    "cal",
    "off",
}


@pytest.mark.parametrize(
    "command",
    ["/calendar", "/exam", "/fees", "/start", "/help", "/meetings", "/talks", "/appraisal"],
)
async def test_member_views_offer_no_secretary_buttons(world: World, command: str) -> None:
    async def act(user: EmulatedUser) -> tuple[list[str], int]:
        update_id = await user.send(command)
        await user.wait_reply()
        return [], update_id

    texts, _ = await attempt(world, MEMBER, act)
    assert texts
    shown = world.users[MEMBER].inbox[-1]
    actions = {
        parse(b.callback_data).action
        for row in shown.buttons
        for b in row
        if parse(b.callback_data)
    }  # type: ignore[union-attr]
    assert not actions & SECRETARY_ACTIONS, actions
    for secretary_command in ("/export", "/pending", "/grant", "/catalogue", "/questions"):
        assert secretary_command not in shown.text  # type: ignore[operator]


async def test_the_secretary_could_do_it(world: World) -> None:
    """The refusals above are about who asks: the real secretary's press works."""
    bot = world.bot
    sec = bot.user(1001, "王书记")
    sec.skip_pending()
    await sec.send("/help")
    host = await sec.wait_reply()
    await sec.press_raw(host.message_id, world.buttons["rm toggle"])
    assert (await sec.wait_callback_answer()).text == _ZH("Done.")
    await sec.press_raw(host.message_id, world.buttons["rm toggle"])  # and back
    assert (await sec.wait_callback_answer()).text == _ZH("Done.")
