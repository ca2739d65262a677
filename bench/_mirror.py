"""The mirror of ``bench.updates``: a bare PTB bot that makes exactly the Bot API calls
the branch bot made for the same kind of update, and nothing else (no database, no
domain, no translation).

While the branch bot runs, every update's calls are recorded from the emulator's request
log (:class:`Record`: method and parameters, in order). The mirror — a bare
``Application`` with one handler per update kind — answers the same update from the same
user with the recorded calls of the branch bot's update of the same kind and iteration:
the same methods, the same texts (so the same lengths), the same reply markups, the same
file ids. Only what names the update itself is substituted: the callback query id, and
the message a button was pressed on (edited in place)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Record:
    """The Bot API calls one update of the branch bot made, in order."""

    calls: list[Call] = field(default_factory=list)
    #: (chat id, message id) of the message the button was pressed on, for presses.
    pressed: tuple[int, int] | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(c.method for c in self.calls)


def bot_calls(emu: Any, since: int) -> list[Call]:
    """The Bot API calls the emulator received since request number ``since``
    (``getUpdates`` left out: the polling is not part of an update's work)."""
    return [
        Call(r.method, dict(r.params)) for r in emu.requests[since:] if r.method != "getUpdates"
    ]


def count_calls(emu: Any, since: int) -> int:
    return sum(1 for r in emu.requests[since:] if r.method != "getUpdates")


async def wait_calls(emu: Any, since: int, expected: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Until the emulator has received ``expected`` calls since ``since``."""
    await emu.wait_until(lambda: count_calls(emu, since) >= expected, timeout)


async def wait_quiet(emu: Any, since: int, quiet: float = 0.3, timeout: float = 10.0) -> int:  # noqa: ASYNC109
    """Until at least one call came since ``since`` and then none for ``quiet`` seconds;
    the number of calls (how the benchmark learns how many calls an update kind makes)."""
    deadline = time.monotonic() + timeout
    seen, last_change = 0, time.monotonic()
    while time.monotonic() < deadline:
        now = count_calls(emu, since)
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif seen and time.monotonic() - last_change >= quiet:
            return seen
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no quiet after {seen} calls")


def _markup(value: Any) -> InlineKeyboardMarkup | None:
    if not value:
        return None
    return InlineKeyboardMarkup.de_json(value, None)


_TYPED = {"chat_id", "message_id", "text", "caption", "parse_mode", "reply_markup"}


async def replay(app: Any, call: Call, update: Update, pressed: tuple[int, int] | None) -> None:
    """Make ``call`` for ``update``: typed PTB methods (what a bot written by hand would
    call), the callback query id and the pressed message substituted."""
    bot = app.bot
    p = call.params
    rest = {k: v for k, v in p.items() if k not in _TYPED}
    query = update.callback_query
    chat_id, message_id = p.get("chat_id"), p.get("message_id")
    if (
        pressed is not None
        and query is not None
        and query.message is not None
        and (chat_id, message_id) == pressed
    ):
        chat_id, message_id = query.message.chat.id, query.message.message_id
    if call.method == "answerCallbackQuery":
        assert query is not None
        await query.answer(text=p.get("text"), show_alert=bool(p.get("show_alert", False)))
    elif call.method == "sendMessage":
        await bot.send_message(
            chat_id,
            p["text"],
            parse_mode=p.get("parse_mode"),
            reply_markup=_markup(p.get("reply_markup")),
            api_kwargs=rest or None,
        )
    elif call.method == "editMessageText":
        await bot.edit_message_text(
            p["text"],
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=p.get("parse_mode"),
            reply_markup=_markup(p.get("reply_markup")),
            api_kwargs=rest or None,
        )
    elif call.method == "editMessageReplyMarkup":
        await bot.edit_message_reply_markup(
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=_markup(p.get("reply_markup")),
            api_kwargs=rest or None,
        )
    elif call.method == "editMessageCaption":
        await bot.edit_message_caption(
            chat_id=chat_id,
            message_id=message_id,
            caption=p.get("caption"),
            parse_mode=p.get("parse_mode"),
            reply_markup=_markup(p.get("reply_markup")),
            api_kwargs=rest or None,
        )
    else:  # anything else (a photo by file id, a chat action …) as it was sent
        params = dict(p)
        if "chat_id" in params:
            params["chat_id"] = chat_id
        if "message_id" in params:
            params["message_id"] = message_id
        await bot.do_api_request(call.method, api_kwargs=params)


class Script:
    """What the mirror answers next: the branch bot's record for the current update."""

    def __init__(self) -> None:
        self.record: Record | None = None


#: (kind, the handler that recognises its update) — one handler per kind, as a bare bot
#: written for these updates would have.
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]
HandlerFactory = Callable[[Callback], BaseHandler[Any, Any, Any]]

MIRROR_HANDLERS: dict[str, HandlerFactory] = {
    "start": lambda cb: CommandHandler("start", cb),
    "points": lambda cb: CommandHandler("points", cb),
    "claim1": lambda cb: CommandHandler("claim", cb),
    "claim2": lambda cb: CallbackQueryHandler(cb, pattern=r"^pt:0:ind:"),
    "claim3": lambda cb: CallbackQueryHandler(cb, pattern=r"^pt:\d+:item$"),
    "claim4": lambda cb: MessageHandler(filters.Regex(r"^\d{4}-\d{2}-\d{2}$"), cb),
    "claim5": lambda cb: MessageHandler(filters.TEXT & ~filters.COMMAND, cb),
    "claim6": lambda cb: CallbackQueryHandler(cb, pattern=r"^pt:0:ok$"),
    "approve": lambda cb: CallbackQueryHandler(cb, pattern=r"^pt:\d+:ap$"),
    "fee": lambda cb: CallbackQueryHandler(cb, pattern=r"^fee:\d+:ok$"),
}


@asynccontextmanager
async def mirror_bot(
    emu: Any, script: Script
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """The bare bot, initialised and started (not polling: ``polling`` does that)."""
    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )

    async def answer(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
        record = script.record
        assert record is not None, "the mirror got an update it has no script for"
        for call in record.calls:
            await replay(app, call, update, record.pressed)

    for make in MIRROR_HANDLERS.values():
        app.add_handler(make(answer))
    await app.initialize()
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
        await app.shutdown()


@asynccontextmanager
async def polling(app: Any) -> AsyncIterator[None]:
    """``app`` polls the emulator for the duration (the branch bot and the mirror share
    the token, so only one of them polls at a time)."""
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield
    finally:
        await app.updater.stop()
