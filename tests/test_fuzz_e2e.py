"""Fuzzing the running bot (hypothesis) through the emulator: every command with random
arguments, random text into every dialog step registered on the DialogRouter, and random
callback data for every feature's buttons — random unicode, control characters, text up
to Telegram's 4096 characters, SQL- and HTML-looking text. Whatever comes in:

* the update is handled without an unhandled exception (its transaction commits with
  outcome "ok"; no "something went wrong" reply; no ERROR log record),
* the sender always gets an answer (a message, or a callback answer for a button),
* HTML in user text never breaks a bot message (the emulator refuses invalid HTML with a
  400, which would fail the update) and shows literally where it is echoed.

The bot runs on its own event loop in a thread so that hypothesis (synchronous) can drive
it; one bot and one world (tests.test_authorization_e2e.build_world) serve the module."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emulator import EmulatedUser
from handlers.callbacks import Callback
from handlers.dialog import DialogRouter
from handlers.registry import Registry
from tests.databases import TemplateDatabase
from tests.harness import running_bot
from tests.test_authorization_e2e import ERROR_TEXT, World, build_world, settle

pytestmark = pytest.mark.e2e

T = TypeVar("T")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECRETARY, MEMBER, STRANGER = 1001, 1003, 9001
LIMIT = 4096

NASTY = [
    "<b>",
    "</i>",
    "<a href='javascript:x'>",
    "&",
    "&amp;",
    "&lt",
    "'; DROP TABLE persons; --",
    '" OR 1=1 --',
    "%s %d {0} {name}",
    "\u202e",
    "\ufeff",
    "\x1b[31m",
    "\t",
    "\r",
    "²",
    "١٢",
    "9" * 25,
    "-1",
    "0",
    "2026Q5",
    "0000-00-00",
    "2026-02-30",
    "24:61",
    "🇨🇳",
    "党费",
]
#: Telegram delivers no NUL and no lone surrogates; everything else may come.
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
words = st.one_of(
    st.sampled_from(NASTY),
    st.text(_chars, min_size=1, max_size=12),
    st.from_regex(r"[0-9QH:\-/.年月日+ ]{1,12}", fullmatch=True),
)
user_text = st.one_of(
    st.lists(words, min_size=1, max_size=6).map(" ".join),
    st.text(_chars, min_size=1, max_size=200),
    st.builds(
        lambda w, n: (w * n)[:LIMIT],
        st.sampled_from(["<b>", "&", "党", "a\n"]),
        st.integers(1000, 5000),
    ),
).filter(lambda t: t.strip() != "")


class Running:
    """The bot on a private event loop; ``run`` executes a coroutine there."""

    def __init__(self, template_db: TemplateDatabase, tmp: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._cm = running_bot(tmp, template_db)
        self.bot = self.run(self._cm.__aenter__())
        self.world: World = self.run(build_world(self.bot), timeout=120)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self._cm.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, template_db: TemplateDatabase
) -> Iterator[Running]:
    r = Running(template_db, tmp_path_factory.mktemp("fuzz"))
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(scope="module")
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def user(r: Running, uid: int) -> EmulatedUser:
    names = {SECRETARY: "王书记", MEMBER: "张预备", STRANGER: "路人"}
    return r.bot.user(uid, names.get(uid, "x"))


async def _exchange(r: Running, u: EmulatedUser, text: str | None, data: str | None) -> list[str]:
    u.skip_pending()
    before = len(u.inbox)
    answers_before = len(r.bot.emu.callback_answers())
    if data is None:
        assert text is not None
        update_id = await u.send(text)
    else:
        update_id = await u.press_raw(u.inbox[-1].message_id, data)
    outcome = await settle(r.bot, update_id)
    said = [m.text or "" for m in u.inbox[before:]]
    if data is not None:
        answers = r.bot.emu.callback_answers()[answers_before:]
        assert answers, f"no callback answer to {data!r}"
        said += [a.text or "" for a in answers]
    assert outcome == "ok", f"update failed: {text or data!r}"
    return said


def exchange(
    r: Running, errors: ErrorLog, uid: int, text: str | None = None, data: str | None = None
) -> list[str]:
    errors.records.clear()
    said = r.run(_exchange(r, user(r, uid), text, data))
    assert said, f"no answer to {text or data!r}"
    for s in said:
        assert s != ERROR_TEXT and "出了点问题" not in s, (text or data, s)
    assert not errors.records, [rec.getMessage() for rec in errors.records]
    return said


async def _set_dialog(r: Running, uid: int, flow: str, step: str, data: dict[str, Any]) -> None:
    async with r.bot.uow() as svc:
        await svc.dialogs.set(uid, flow, step, data)


# -- commands ------------------------------------------------------------------------------
def _commands(r: Running) -> list[str]:
    registry: Registry = r.bot.app.bot_data["registry"]
    names = {c.name for c in registry.commands} | {"menu", "export"}
    return sorted(names)


@FUZZ
@given(data=st.data())
@example(data=None)  # replaced below by the explicit cases
def test_commands_with_random_arguments(running: Running, errors: ErrorLog, data: Any) -> None:
    commands = _commands(running)
    if data is None:  # every command once without arguments and with a nasty one, by each
        for name in commands:
            for uid in (SECRETARY, MEMBER, STRANGER):
                for args in ("", " ²", " 99999999999999999999999 <b>&"):
                    exchange(running, errors, uid, f"/{name}{args}")
                    running.run(_set_dialog_clear(running, uid))
        for typed in EXPORTS:
            exchange(running, errors, SECRETARY, typed)
        return
    name = data.draw(st.sampled_from(commands), label="command")
    uid = data.draw(st.sampled_from([SECRETARY, MEMBER, STRANGER]), label="user")
    args = data.draw(st.lists(words, max_size=4), label="args")
    exchange(running, errors, uid, " ".join([f"/{name}", *args])[:LIMIT])
    running.run(_set_dialog_clear(running, uid))


EXPORTS = [
    f"/export {name} {arg}"
    for name in ("points", "fees", "reports", "appraisal")
    for arg in ("²", "99999", "0", "2026Q9", "0000Q1", "2026", "2026H2", "9" * 30)
]


async def _set_dialog_clear(r: Running, uid: int) -> None:
    async with r.bot.uow() as svc:
        await svc.dialogs.clear(uid)


# -- dialog steps --------------------------------------------------------------------------
def _step_data(r: Running) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """For every (flow, step) on the router: who is in it and with what data."""
    w = r.world

    def scalar(sql: str) -> Any:
        return r.run(r.bot.scalar(sql))

    item = scalar("SELECT id FROM point_items ORDER BY id LIMIT 1")
    indicator = scalar("SELECT indicator FROM point_items ORDER BY id LIMIT 1")
    person = scalar("SELECT id FROM persons WHERE full_name = '张预备'")
    report = scalar("SELECT id FROM thought_reports ORDER BY id LIMIT 1")
    submission = scalar("SELECT id FROM fee_submissions ORDER BY id LIMIT 1")
    rule = scalar("SELECT id FROM calendar_rules ORDER BY id LIMIT 1")
    month = scalar("SELECT month FROM fee_submission_months ORDER BY id LIMIT 1")
    claim = {"claim_id": w.claim_pending, "chat": None, "msg": None, "cap": False}
    known: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {
        ("claim", "date"): (MEMBER, {"indicator": indicator, "item_id": item}),
        ("claim", "desc"): (
            MEMBER,
            {"indicator": indicator, "item_id": item, "date": "2026-01-05"},
        ),
        ("claim", "evidence"): (MEMBER, {"item_id": item, "date": "2026-01-05", "desc": "x"}),
        ("review", "reject"): (SECRETARY, claim),
        ("review", "adjust"): (SECRETARY, claim),
        ("revoke", "reason"): (SECRETARY, {"claim_id": w.claim_approved}),
        ("grant", "reason"): (SECRETARY, {"person_id": person, "item_id": item, "name": "张预备"}),
        ("cat", "pts"): (SECRETARY, {"item_id": item}),
        ("cat", "cap"): (SECRETARY, {"item_id": item}),
        ("cat", "name"): (SECRETARY, {"indicator": indicator, "block": "extra"}),
        ("cat", "newpts"): (SECRETARY, {"indicator": indicator, "block": "extra", "name": "n"}),
        ("cat", "newcap"): (
            SECRETARY,
            {"indicator": indicator, "block": "extra", "name": "n", "points": "1"},
        ),
        ("report", "collect"): (MEMBER, {"parts": 0}),
        ("report_comment", "text"): (SECRETARY, {"report_id": report}),
        ("quiz_exam", "count"): (SECRETARY, {"title": "t", "max": 10}),
        ("quiz_exam", "limit"): (SECRETARY, {"title": "t", "max": 10, "count": 3}),
        ("quiz_exam", "window"): (SECRETARY, {"title": "t", "count": 3, "minutes": 5}),
        ("quiz_exam", "pass"): (
            SECRETARY,
            {"title": "t", "count": 3, "minutes": 5, "opens_on": "2026-01-01"},
        ),
        ("fee", "pay"): (MEMBER, {"months": [month] if month else [], "lenient": False}),
        ("fee", "income"): (SECRETARY, {"person": person, "basis": "employed"}),
        ("fee", "query"): (SECRETARY, {"submission": submission}),
        ("rm_when", "text"): (SECRETARY, {"rule": rule}),
        ("rm_rems", "text"): (SECRETARY, {"rule": rule}),
    }
    router: DialogRouter = r.bot.app.bot_data["dialogs"]
    steps = sorted(router._steps)
    result = {}
    for key in steps:
        result[key] = known.get(key, (SECRETARY, {}))
    missing = [k for k in steps if k not in result]
    assert not missing
    return result


@pytest.fixture(scope="module")
def steps(running: Running) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    return _step_data(running)


def test_every_dialog_step_is_fuzzed(steps: dict[tuple[str, str], Any]) -> None:
    # The router's steps as registered by the features (a new one joins automatically).
    assert ("claim", "date") in steps and ("rm_add", "text") in steps
    assert len(steps) >= 30


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_dialog_steps_take_any_text(
    running: Running, errors: ErrorLog, steps: dict[tuple[str, str], Any], data: Any
) -> None:
    key = data.draw(st.sampled_from(sorted(steps)), label="step")
    uid, state = steps[key]
    text = data.draw(user_text, label="text")
    running.run(_set_dialog(running, uid, key[0], key[1], dict(state)))
    exchange(running, errors, uid, text)
    running.run(_set_dialog_clear(running, uid))


@pytest.mark.parametrize("text", ["<b>x", "</i>", "a & b <c>", "'; DROP TABLE persons; --"])
def test_every_step_with_html_and_sql(
    running: Running, errors: ErrorLog, steps: dict[tuple[str, str], Any], text: str
) -> None:
    for (flow, step), (uid, state) in sorted(steps.items()):
        running.run(_set_dialog(running, uid, flow, step, dict(state)))
        exchange(running, errors, uid, text)
        running.run(_set_dialog_clear(running, uid))
    assert running.run(running.bot.scalar("SELECT count(*) FROM persons")) > 0


# -- callback data -------------------------------------------------------------------------
PREFIXES = ["jr", "lang", "pt", "cat", "rp", "qz", "ex", "rm", "fee", "zz", "ap", "av"]
ACTIONS = [
    "ok", "no", "set", "ind", "item", "today", "ap", "rj", "adj", "rv", "open", "pg", "hist",
    "gp", "gi", "gt", "show", "ev", "ret", "res", "pts", "cap", "add", "ai", "ab", "submit",
    "cancel", "ack", "comment", "nudge", "shared", "pick", "tog", "done", "start", "new", "aud",
    "pass", "ask", "remind", "month", "me", "list", "basis", "pay", "rules", "view", "toggle",
    "del", "when", "rems", "remset", "mute", "unmute", "pause", "resume", "zz",
    "seat", "unq", "final", "pub", "home", "group", "self", "sg", "peer", "pv", "plist", "grp",
    "gv",
]  # fmt: skip
callbacks = st.builds(
    Callback,
    prefix=st.sampled_from(PREFIXES),
    id=st.one_of(st.integers(0, 12), st.integers(0, 2**63 - 1)),
    action=st.sampled_from(ACTIONS),
    arg=st.one_of(
        st.none(),
        st.sampled_from(["member", "off", "on", "all", "both", "base", "2026Q4", "2026-11"]),
        st.from_regex(r"[A-Za-z0-9_.-]{1,24}", fullmatch=True),
    ),
)
raw_data = st.one_of(
    callbacks.map(lambda c: f"{c.prefix}:{c.id}:{c.action}" + (f":{c.arg}" if c.arg else "")),
    st.text(_chars, min_size=1, max_size=64).filter(lambda t: len(t.encode()) <= 64),
)


@settings(FUZZ, max_examples=80)
@given(data=raw_data, uid=st.sampled_from([SECRETARY, MEMBER, STRANGER]))
@example(data="pt:9223372036854775808:ap", uid=SECRETARY)
@example(data="fee:1:pay:0000-01.0000-03", uid=MEMBER)
@example(data="ex:0:pass:99999999999999999999", uid=SECRETARY)
@example(data="rp:1:nudge:2026Q9", uid=SECRETARY)
@example(data="rm:0:pause", uid=STRANGER)
def test_any_callback_data_is_answered(
    running: Running, errors: ErrorLog, data: str, uid: int
) -> None:
    exchange(running, errors, uid, data=data)
    if uid == STRANGER:  # nothing a stranger presses opens a dialog for them
        assert (
            running.run(
                running.bot.scalar(
                    "SELECT count(*) FROM dialog_states WHERE telegram_user_id = :u", u=uid
                )
            )
            == 0
        )


# -- user text shown back ------------------------------------------------------------------
def test_html_in_a_name_is_shown_literally(running: Running, errors: ErrorLog) -> None:
    r = running
    code = r.run(r.bot.scalar("SELECT join_code FROM branches ORDER BY id LIMIT 1"))
    sec = user(r, SECRETARY)
    sec.skip_pending()
    evil = r.bot.user(7001, "<b>Bold</b> & <i>", last_name="'; DROP TABLE persons; --")
    exchange(r, errors, 7001, f"/start {code}")
    request = r.run(sec.wait_reply())
    assert "<b>Bold</b> & <i> '; DROP TABLE persons; --" in (request.text or "")
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;i&gt;" in (request.raw_text or "")
    assert not any(e["type"] == "bold" and e["offset"] > 10 for e in request.entities)
    assert evil.inbox


def test_html_in_dialog_text_is_shown_literally(running: Running, errors: ErrorLog) -> None:
    r = running
    r.run(_set_dialog(r, SECRETARY, "rm_add", "text", {}))
    said = exchange(r, errors, SECRETARY, "2030-06-30 15:00 <i>党课</i> & <b>")
    assert any("<i>党课</i> & <b>" in s for s in said), said
    sec = user(r, SECRETARY)
    exchange(r, errors, SECRETARY, data=sec.inbox[-1].buttons[0][0].callback_data)  # audience
    exchange(r, errors, SECRETARY, data=sec.inbox[-1].buttons[0][0].callback_data)  # reminders
    exchange(r, errors, SECRETARY, data="rm:0:rules")
    labels = [b.text for row in sec.inbox[-1].buttons for b in row]
    assert "<i>党课</i> & <b>" in labels, labels  # a button label is plain text, not HTML
