"""Tests for the local Bot API emulator, driven by real PTB ``Bot``/``Application`` objects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    PollAnswerHandler,
)

from emulator import BotAPIEmulator, BotMessage, HTMLParseError, RateLimits, parse_html, utf16_len

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")

TOKEN = "123456:TEST-TOKEN"
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    e = BotAPIEmulator(TOKEN)
    await e.start()
    try:
        yield e
    finally:
        await e.stop()


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    b = Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url)
    async with b:
        yield b


def kb(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in buttons])


async def started_user(emu: BotAPIEmulator, uid: int = 1001) -> Any:
    u = emu.user(uid, "王芳", language_code="zh-hans")
    await u.send("/start")
    return u


# --------------------------------------------------------------------------- basics


async def test_get_me_and_auth_errors(emu: BotAPIEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.username == "branch_test_bot" and me.is_bot
    assert emu.base_url.startswith("http://127.0.0.1:") and emu.port > 0

    wrong = Bot("123456:WRONG", base_url=emu.base_url)
    with pytest.raises(Exception, match=r"(?i)Unauthorized"):
        await wrong.get_me()

    assert emu.unknown_methods == []
    with pytest.raises(Exception, match=r"(?i)not found"):
        await bot.do_api_request("fooBar")
    assert emu.unknown_methods == ["fooBar"]
    assert emu.calls("fooBar")[0].status == 404


async def test_chat_reachability(emu: BotAPIEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hi")
    u = emu.user(1001, "王芳")
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(u.id, "hi")
    await u.send("hello")
    await bot.send_message(u.id, "hi")
    u.block()
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(u.id, "hi")
    updates = await bot.get_updates()
    kinds = [("message" if up.message else "my_chat_member") for up in updates]
    assert kinds == ["message", "my_chat_member"]
    assert updates[1].my_chat_member is not None
    assert updates[1].my_chat_member.new_chat_member.status == "kicked"
    await u.send("/start")  # "restart bot" unblocks
    await bot.send_message(u.id, "welcome back")
    assert [m.text for m in u.inbox] == ["hi", "welcome back"]


async def test_user_message_shape(emu: BotAPIEmulator, bot: Bot) -> None:
    u = emu.user(1001, "王芳", username="wangfang", language_code="zh-hans")
    await u.send("/start ABC123")
    await u.send("/help@branch_test_bot")
    await u.send("123")
    ups = await bot.get_updates()
    m0, m1, m2 = (up.message for up in ups)
    assert m0 is not None and m1 is not None and m2 is not None
    assert m0.text == "/start ABC123" and m0.entities[0].type == "bot_command"
    assert m0.entities[0].length == len("/start")
    assert m1.entities[0].length == len("/help@branch_test_bot")
    assert m2.text == "123" and not m2.entities
    assert m0.from_user is not None and m0.from_user.language_code == "zh-hans"
    assert m0.chat.type == "private" and m0.chat.id == 1001
    assert m0.message_id < m1.message_id < m2.message_id
    assert ups[0].update_id < ups[1].update_id < ups[2].update_id


async def test_string_params_stay_strings(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    for text in ("123", "true", "null", "[1]", '{"a": 1}', "1.5"):
        msg = await bot.send_message(u.id, text)
        assert msg.text == text
    assert [m.text for m in u.inbox] == ["123", "true", "null", "[1]", '{"a": 1}', "1.5"]


# --------------------------------------------------------------------------- text validation


async def test_html_parse_mode(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    msg = await bot.send_message(
        u.id, "<b>粗体</b> &lt;tag&gt; <a href='https://x.org/?a=1&amp;b=2'>link</a>", "HTML"
    )
    assert msg.text == "粗体 <tag> link"
    types = [e.type for e in msg.entities]
    assert types == ["bold", "text_link"]
    assert msg.entities[1].url == "https://x.org/?a=1&b=2"
    stored = u.last_message
    assert stored is not None and stored.text == "粗体 <tag> link"
    assert stored.raw_text is not None and stored.raw_text.startswith("<b>")

    for bad, needle in [
        ("<b>unclosed", "Can't find end tag"),
        ("<b>x</i>", "Unmatched end tag"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("a < b", "Unsupported start tag"),
        ("AT&T", "HTML entity"),
        ("&nbsp;", "HTML entity"),
        ("<span>x</span>", "tg-spoiler"),
        ("x</b>", "Unexpected end tag"),
    ]:
        with pytest.raises(BadRequest, match=r"(?i)Can't parse entities") as err:
            await bot.send_message(u.id, bad, parse_mode=ParseMode.HTML)
        assert needle.lower() in str(err.value).lower(), (bad, str(err.value))
    # the same text without parse_mode is fine
    await bot.send_message(u.id, "a < b & AT&T")


def test_html_parser_unit() -> None:
    text, ents = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1" and ents == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"}
    ]
    text, ents = parse_html(
        "😀<i>a</i><tg-spoiler>b</tg-spoiler><blockquote expandable>c</blockquote>"
    )
    assert text == "😀abc"
    assert [(e["type"], e["offset"]) for e in ents] == [
        ("italic", 2),
        ("spoiler", 3),
        ("expandable_blockquote", 4),
    ]
    assert parse_html("&#x4e2d;&#25991;&quot;")[0] == '中文"'
    assert parse_html("AT&T", strict_entities=False)[0] == "AT&T"
    with pytest.raises(HTMLParseError, match=r"(?i)byte offset 3"):
        parse_html("中<x>")
    assert utf16_len("😀a") == 3


async def test_length_limits(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    await bot.send_message(u.id, "x" * 4096)
    await bot.send_message(u.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags don't count
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(u.id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)too long"):  # emoji = 2 UTF-16 units
        await bot.send_message(u.id, "😀" * 2049)
    await bot.send_message(u.id, "中" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(u.id, "  \n ")
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(u.id, "<b></b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(u.id, PNG_1x1, caption="x" * 1025)


async def test_keyboard_validation(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(u.id, "x", reply_markup=kb(("a", "x" * 65)))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(u.id, "x", reply_markup=kb(("a", "批" * 22)))  # 66 bytes
    await bot.send_message(u.id, "x", reply_markup=kb(("a", "批" * 21)))  # 63 bytes ok
    with pytest.raises(BadRequest, match=r"(?i)Text buttons are unallowed"):
        await bot.send_message(
            u.id, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a")]])
        )
    with pytest.raises(BadRequest):
        await bot.do_api_request(
            "sendMessage",
            {"chat_id": u.id, "text": "x", "reply_markup": {"inline_keyboard": [{"text": "a"}]}},
        )


# --------------------------------------------------------------------------- edits


async def test_edits_and_not_modified(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    sent = await bot.send_message(u.id, "v1", reply_markup=kb(("ok", "ok")))
    msg = await u.wait_reply()
    assert msg.button_texts == ["ok"]
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("v1", u.id, sent.message_id, reply_markup=kb(("ok", "ok")))
    edited = await bot.edit_message_text("<i>v2</i>", u.id, sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.edit_date is not None
    # Like Telegram, omitting reply_markup on edit removes the keyboard
    assert msg.text == "v2" and msg.edits == ["v1"] and msg.buttons == []
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(u.id, sent.message_id)
    await bot.edit_message_reply_markup(u.id, sent.message_id, reply_markup=kb(("b", "b")))
    assert msg.button_texts == ["b"]
    with pytest.raises(BadRequest, match=r"(?i)no caption"):
        await bot.edit_message_caption(u.id, sent.message_id, caption="c")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", u.id, 9999)
    assert await bot.delete_message(u.id, sent.message_id)
    assert msg.deleted
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", u.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(u.id, sent.message_id)

    photo = await bot.send_photo(u.id, PNG_1x1, caption="cap")
    await bot.edit_message_caption(u.id, photo.message_id, caption="cap2")
    assert u.last_message is not None and u.last_message.text == "cap2"
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await bot.edit_message_text("x", u.id, photo.message_id)


# --------------------------------------------------------------------------- full application


def build_app(emu: BotAPIEmulator, **kwargs: Any) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .rate_limiter(AIORateLimiter(**kwargs))
    )
    return builder.build()


async def run_app(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=5)


async def stop_app(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def test_application_conversation(emu: BotAPIEmulator) -> None:
    app = build_app(emu)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        args = " ".join(context.args or [])
        await update.effective_message.reply_text(
            f"你好 <b>{args}</b>",
            parse_mode="HTML",
            reply_markup=kb(("批准 ✅", "approve:1"), ("拒绝", "reject:1")),
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        q = update.callback_query
        assert q is not None
        if q.data == "approve:1":
            await q.answer("已批准", show_alert=True)
            await q.edit_message_text("已批准")
        else:
            await q.answer("无效")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button))
    await run_app(app)
    try:
        u = emu.user(1001, "王芳")
        t0 = time.monotonic()
        for i in range(20):
            await u.send(f"/start X{i}")
            reply = await u.wait_reply()
            assert reply.text == f"你好 X{i}"
        assert time.monotonic() - t0 < 5
        assert reply.entities[0]["type"] == "bold"

        await u.press(reply, "批准")
        ans = await u.wait_callback_answer()
        assert ans.text == "已批准" and ans.show_alert and ans["show_alert"]
        await u.wait_edit(reply)
        assert reply.text == "已批准" and reply.buttons == []
        with pytest.raises(AssertionError, match=r"(?i)no button matching"):
            await u.press(reply, "批准")

        await u.press_raw(reply.message_id, "forged:data")
        ans2 = await u.wait_callback_answer()
        assert ans2.text == "无效"
        assert emu.unknown_methods == []
        assert all(r.status == 200 for r in emu.requests), emu.requests
    finally:
        await stop_app(app)
    assert emu.pending_updates == 0


async def test_wait_reply_timeout_dump(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    await bot.send_message(u.id, "only one", reply_markup=kb(("A 1", "a1"), ("A 2", "a2")))
    msg = await u.wait_reply(timeout=1)
    with pytest.raises(AssertionError, match=r"(?i)ambiguous") as err:
        await u.press(msg, "A")
    assert "'A 2'" in str(err.value)
    with pytest.raises(AssertionError, match=r"(?i)only one"):
        await u.wait_reply(timeout=0.05)
    await u.press(msg, data="a2")
    with pytest.raises(AssertionError, match=r"(?i)answerCallbackQuery"):
        await u.wait_callback_answer(timeout=0.05)


async def test_answer_callback_twice(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    await bot.send_message(u.id, "q", reply_markup=kb(("go", "go")))
    await u.press(await u.wait_reply(), "go")
    ups = await bot.get_updates()
    q = ups[-1].callback_query
    assert q is not None and q.data == "go" and q.message is not None
    assert await bot.answer_callback_query(q.id, text="ok")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(q.id, text="again")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")


# --------------------------------------------------------------------------- files


async def test_files_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    pdf = b"%PDF-1.4 fake" * 100
    await u.send_document(pdf, "报告.pdf", mime_type="application/pdf", caption="月报")
    await u.send_photo(PNG_1x1)
    ups = await bot.get_updates()
    doc_msg, photo_msg = ups[-2].message, ups[-1].message
    assert doc_msg is not None and doc_msg.document is not None
    assert doc_msg.document.file_name == "报告.pdf" and doc_msg.caption == "月报"
    f = await bot.get_file(doc_msg.document.file_id)
    assert bytes(await f.download_as_bytearray()) == pdf
    assert photo_msg is not None and photo_msg.photo
    pf = await bot.get_file(photo_msg.photo[-1].file_id)
    assert bytes(await pf.download_as_bytearray()) == PNG_1x1

    sent = await bot.send_document(u.id, b"col1,col2\n1,2\n", filename="导出.csv", caption="导出")
    stored = u.last_message
    assert stored is not None and stored.document is not None
    assert stored.document[0] == "导出.csv" and stored.document[2] == b"col1,col2\n1,2\n"
    assert sent.document is not None
    # re-send by file_id
    again = await bot.send_document(u.id, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    assert u.last_message is not None and u.last_message.document == stored.document

    ph = await bot.send_photo(u.id, PNG_1x1, caption="<b>图</b>", parse_mode="HTML")
    assert ph.caption == "图" and ph.photo[-1].width == 1
    assert u.last_message is not None and u.last_message.photo == PNG_1x1
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(u.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(u.id, "nonexistent-file-id")
    fids = {m.media["document"]["file_id"] for m in u.inbox if "document" in m.media}
    assert len(fids) == 1

    await bot.send_media_group(u.id, [_media(PNG_1x1), _media(PNG_1x1)])
    assert len(u.inbox) == 5


def _media(data: bytes) -> Any:
    from telegram import InputMediaPhoto

    return InputMediaPhoto(data)


async def test_forward_copy_action_chat(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu, 1001)
    v = await started_user(emu, 1002)
    src = await bot.send_message(u.id, "原文", reply_markup=kb(("x", "x")))
    fwd = await bot.forward_message(v.id, u.id, src.message_id)
    assert fwd.text == "原文" and fwd.forward_origin is not None
    copied = await bot.copy_message(v.id, u.id, src.message_id)
    assert v.inbox[-1].text == "原文" and v.inbox[-1].message_id == copied.message_id
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(v.id, u.id, 999)
    assert await bot.send_chat_action(u.id, "typing")
    chat = await bot.get_chat(u.id)
    assert chat.first_name == "王芳" and chat.type == "private"
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat(5555)
    reply = await bot.send_message(u.id, "re", reply_to_message_id=src.message_id)
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == src.message_id
    with pytest.raises(BadRequest, match=r"(?i)replied not found"):
        await bot.send_message(u.id, "re", reply_to_message_id=999)


# --------------------------------------------------------------------------- commands, menu


async def test_commands_per_scope(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands([BotCommand("admin", "管理")], scope=BotCommandScopeChat(u.id))
    assert [c["command"] for c in emu.commands()] == ["start", "help"]
    assert emu.commands(language_code="en") == [{"command": "start", "description": "Start"}]
    assert emu.commands({"type": "chat", "chat_id": u.id})[0]["command"] == "admin"
    got = await bot.get_my_commands(scope=BotCommandScopeChat(u.id))
    assert [c.command for c in got] == ["admin"]
    await bot.delete_my_commands(language_code="en")
    assert emu.commands(language_code="en") == []
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Cmd", "x")])
    with pytest.raises(BadRequest, match=r"(?i)language code"):
        await bot.set_my_commands([BotCommand("a", "x")], language_code="zh-hans")
    assert await bot.set_chat_menu_button(u.id, MenuButtonCommands())
    assert (await bot.get_chat_menu_button(u.id)).type == "commands"


# --------------------------------------------------------------------------- polls


async def test_polls_with_application(emu: BotAPIEmulator) -> None:
    app = build_app(emu)
    answers: list[tuple[int, list[int]]] = []

    async def quiz(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_poll(
            update.effective_chat.id,
            "党的二十大在哪一年召开？",
            ["2021", "2022", "2023"],
            type="quiz",
            is_anonymous=False,
            correct_option_ids=[1],
            open_period=60,
        )

    async def on_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        a = update.poll_answer
        assert a is not None and a.user is not None
        answers.append((a.user.id, list(a.option_ids)))

    app.add_handler(CommandHandler("quiz", quiz))
    app.add_handler(PollAnswerHandler(on_answer))
    await run_app(app)
    try:
        u = emu.user(1001, "王芳")
        await u.send("/quiz")
        msg = await u.wait_reply()
        assert msg.poll is not None and msg.poll["type"] == "quiz"
        assert msg.poll["correct_option_ids"] == [1]
        await u.answer_poll(msg.poll["id"], [1])
        await emu.wait_until(lambda: len(answers) == 1)
        assert answers == [(1001, [1])]
        assert msg.poll["options"][1]["voter_count"] == 1
        with pytest.raises(AssertionError, match=r"(?i)changing the vote"):
            await u.answer_poll(msg.poll["id"], [0])
        stopped = await app.bot.stop_poll(u.id, msg.message_id)
        assert stopped.is_closed and stopped.total_voter_count == 1
        with pytest.raises(BadRequest, match=r"(?i)already been closed"):
            await app.bot.stop_poll(u.id, msg.message_id)
        with pytest.raises(BadRequest, match=r"(?i)QUIZ_CORRECT_ANSWERS_EMPTY"):
            await app.bot.send_poll(u.id, "q", ["a", "b"], type="quiz")
    finally:
        await stop_app(app)


async def test_poll_expiry(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    sent = await bot.send_poll(u.id, "Q?", ["a", "b"], open_period=5, is_anonymous=False)
    assert sent.poll is not None
    emu.expire_poll(sent.poll.id)
    msg = u.inbox[-1]
    assert msg.poll is not None and msg.poll["is_closed"]
    ups = await bot.get_updates()
    assert ups[-1].poll is not None and ups[-1].poll.is_closed


# --------------------------------------------------------------------------- updates


async def test_get_updates_offset_long_poll_and_redeliver(emu: BotAPIEmulator, bot: Bot) -> None:
    u = emu.user(1001, "王芳")
    first = await u.send("a")
    await u.send("b")
    ups = await bot.get_updates(limit=1)
    assert [x.update_id for x in ups] == [first]
    ups = await bot.get_updates(offset=first + 1)
    assert len(ups) == 1 and emu.pending_updates == 1
    last = ups[0].update_id
    assert await bot.get_updates(offset=last + 1) == ()
    assert emu.pending_updates == 0

    t0 = time.monotonic()

    async def later() -> int:
        await asyncio.sleep(0.2)
        return await u.send("c")

    task = asyncio.create_task(later())
    ups = await bot.get_updates(offset=last + 1, timeout=5)
    assert 0.15 < time.monotonic() - t0 < 2 and ups[0].message is not None
    c_id = await task
    assert ups[0].update_id == c_id

    t0 = time.monotonic()
    assert await bot.get_updates(offset=c_id + 1, timeout=1) == ()
    assert time.monotonic() - t0 >= 0.9

    await emu.redeliver(c_id)
    ups = await bot.get_updates(offset=c_id + 1)
    assert [x.update_id for x in ups] == [c_id]
    assert ups[0].message is not None and ups[0].message.text == "c"
    assert await bot.get_updates(offset=c_id + 1) == ()


async def test_concurrent_get_updates_conflict(emu: BotAPIEmulator, bot: Bot) -> None:
    other = Bot(TOKEN, base_url=emu.base_url)
    async with other:
        first = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(other.get_updates(timeout=0))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await first
        assert await second == ()


# --------------------------------------------------------------------------- webhook


async def test_webhook_delivery(emu: BotAPIEmulator, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        if fail_first[0]:
            fail_first[0] = False
            return web.Response(status=500)
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(BadRequest, match=r"(?i)HTTPS URL"):
            await bot.set_webhook("http://example.com/hook")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()
        u = emu.user(1001, "王芳")
        await u.send("via webhook")
        await emu.wait_until(lambda: len(received) == 1)
        assert received[0][0] == "s3cret"
        assert received[0][1]["message"]["text"] == "via webhook"
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.last_error_message
        await bot.delete_webhook()
        await u.send("via polling")
        ups = await bot.get_updates()
        assert ups[0].message is not None and ups[0].message.text == "via polling"
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------- rate limits


async def test_rate_limit_429(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    emu.rate_limits = RateLimits(per_chat_per_second=1.0, per_chat_burst=2)
    await bot.send_message(u.id, "1")
    await bot.send_message(u.id, "2")
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(u.id, "3")
    assert err.value.retry_after in (1, pytest.approx(1.0))
    assert emu.calls("sendMessage")[-1].status == 429
    assert len(u.inbox) == 2


async def test_paid_broadcasts_have_their_own_ceiling(emu: BotAPIEmulator, bot: Bot) -> None:
    users = [emu.user(70_000 + i, f"u{i}") for i in range(12)]
    for u in users:
        u.started = True
    emu.rate_limits = RateLimits(global_per_second=5, paid_per_second=8, per_chat_per_second=None)
    for u in users[:5]:  # the free ceiling: 5 at once, then 429
        await bot.send_message(u.id, "free")
    with pytest.raises(RetryAfter):
        await bot.send_message(users[5].id, "free")
    for u in users[:8]:  # paid broadcasts count against the paid ceiling only
        await bot.send_message(u.id, "paid", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):
        await bot.send_message(users[8].id, "paid", allow_paid_broadcast=True)
    assert [r.status for r in emu.calls("sendMessage")].count(429) == 2


async def test_rate_limit_exact_pacing_accepted(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    emu.rate_limits = RateLimits(global_per_second=None, per_chat_per_second=20.0, per_chat_burst=1)
    for i in range(10):
        t0 = time.monotonic()
        await bot.send_message(u.id, str(i))
        await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))
    assert len(u.inbox) == 10


async def test_group_rate_limit_and_privacy(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.rate_limits = RateLimits(per_chat_per_second=None)
    g = emu.group(-100123, "支部群")
    u = emu.user(1001, "王芳")
    assert await g.send(u, "大家好") is None  # privacy mode: not delivered
    assert await g.send(u, "/help") is not None
    assert await g.send(u, "/help@other_bot") is None
    assert await g.send(u, "hi @branch_test_bot") is not None
    for i in range(20):
        await bot.send_message(g.id, f"m{i}")
    with pytest.raises(RetryAfter):
        await bot.send_message(g.id, "21st")
    assert len(g.inbox) == 20
    assert await g.send(u, "reply", reply_to=g.inbox[0]) is not None
    ups = await bot.get_updates()
    assert [up.message.text for up in ups if up.message] == [
        "/help",
        "hi @branch_test_bot",
        "reply",
    ]


async def test_ai_rate_limiter_retries(emu: BotAPIEmulator) -> None:
    app = build_app(emu, max_retries=2)
    await app.initialize()
    try:
        u = await started_user(emu)
        emu.inject_fault("sendMessage", retry_after=1)
        t0 = time.monotonic()
        await app.bot.send_message(u.id, "after retry")
        assert time.monotonic() - t0 >= 1.0
        assert [r.status for r in emu.calls("sendMessage")] == [429, 200]
    finally:
        await app.shutdown()


# --------------------------------------------------------------------------- faults


async def test_fault_injection(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)
    emu.inject_fault("sendMessage", status=500)
    with pytest.raises(NetworkError):
        await bot.send_message(u.id, "lost")
    assert u.inbox == []

    emu.inject_fault("sendMessage", status=502, after_effect=True)
    with pytest.raises(NetworkError):
        await bot.send_message(u.id, "applied")
    assert [m.text for m in u.inbox] == ["applied"]

    emu.inject_fault("sendMessage", drop_connection=True, after_effect=True)
    with pytest.raises(NetworkError):
        await bot.send_message(u.id, "accepted, response lost")
    assert u.inbox[-1].text == "accepted, response lost"

    emu.inject_fault("sendMessage", drop_connection=True)
    with pytest.raises(NetworkError):
        await bot.send_message(u.id, "dropped")
    assert u.inbox[-1].text == "accepted, response lost"

    emu.inject_fault(None, delay=0.3)
    t0 = time.monotonic()
    await bot.send_message(u.id, "slow")
    assert time.monotonic() - t0 >= 0.3 and u.inbox[-1].text == "slow"

    emu.inject_fault("getMe", status=500, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.get_me()
    assert (await bot.get_me()).id == 123456
    # connection still usable after a drop
    await bot.send_message(u.id, "fine")
    assert u.inbox[-1].text == "fine"


async def test_wait_helpers(emu: BotAPIEmulator, bot: Bot) -> None:
    u = await started_user(emu)

    async def later() -> None:
        await asyncio.sleep(0.05)
        for i in range(3):
            await bot.send_message(u.id, f"r{i}")

    task = asyncio.create_task(later())
    msgs = await u.wait_replies(3, timeout=5)
    await task
    assert [m.text for m in msgs] == ["r0", "r1", "r2"]
    assert isinstance(msgs[0], BotMessage) and msgs[0].chat_id == u.id
    await u.expect_no_reply(within=0.1)
    await emu.wait_until(lambda: len(emu.calls("sendMessage")) == 3)
    with pytest.raises(AssertionError, match=r"(?i)timed out"):
        await emu.wait_until(lambda: False, timeout=0.05)


async def test_raw_http_bodies(emu: BotAPIEmulator) -> None:
    u = await started_user(emu)
    api = f"{emu.base_url}{emu.token}"
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{api}/getMe") as r:
            assert (await r.json())["result"]["username"] == "branch_test_bot"
        body = {"chat_id": u.id, "text": "json body", "reply_markup": {"inline_keyboard": []}}
        async with s.post(f"{api}/sendMessage", json=body) as r:
            assert r.status == 200, await r.text()
        form = aiohttp.FormData()
        form.add_field("chat_id", str(u.id))
        form.add_field("caption", "42")
        form.add_field("document", b"abc", filename="a.txt", content_type="text/plain")
        async with s.post(f"{api}/sendDocument", data=form) as r:
            res = (await r.json())["result"]
            assert res["caption"] == "42" and res["document"]["mime_type"] == "text/plain"
        async with s.post(f"{api}/sendMessage", data={"chat_id": str(u.id), "text": "7"}) as r:
            assert (await r.json())["result"]["text"] == "7"
        async with s.post(f"{api}/sendmessage", data={"chat_id": "@nobody", "text": "x"}) as r:
            body = await r.json()
            assert r.status == 400 and body["description"] == "Bad Request: chat not found"
        async with s.get(f"{emu.base_file_url}WRONG/documents/x") as r:
            assert r.status == 401
    assert [m.text for m in u.inbox] == ["json body", "42", "7"]
    assert u.inbox[1].document == ("a.txt", "text/plain", b"abc")
    assert emu.calls("sendmessage")[-1].params["chat_id"] == "@nobody"


async def test_listener_and_reply_keyboard(emu: BotAPIEmulator, bot: Bot) -> None:
    events: list[tuple[str, str | None]] = []
    emu.add_listener(lambda ev, m: events.append((ev, m.text)))
    u = await started_user(emu)
    markup = ReplyKeyboardMarkup([[KeyboardButton("签到"), KeyboardButton("请假")]])
    sent = await bot.send_message(u.id, "选择", reply_markup=markup)
    assert sent.reply_markup is None  # Telegram does not echo reply keyboards
    msg = await u.wait_reply()
    assert msg.keyboard == [["签到", "请假"]] and msg.buttons == []
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("选择", u.id, sent.message_id)
    await bot.edit_message_text("已选择", u.id, sent.message_id)
    await bot.delete_message(u.id, sent.message_id)
    assert events == [("sent", "选择"), ("edited", "已选择"), ("deleted", "已选择")]


async def test_rate_limits_constructor_and_username_chat() -> None:
    emu = BotAPIEmulator(TOKEN, rate_limits=RateLimits(per_group_per_minute=2))
    await emu.start()
    try:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            g = emu.group(-1001, "公开群", username="branch_public")
            await bot.send_message("@branch_public", "1")
            await bot.send_message(g.id, "2")
            with pytest.raises(RetryAfter):
                await bot.send_message("@branch_public", "3")
            assert [m.text for m in g.inbox] == ["1", "2"]
    finally:
        await emu.stop()
