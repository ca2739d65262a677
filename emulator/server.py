"""In-process Telegram Bot API emulator served over real HTTP (aiohttp).

Usage in an async test::

    emu = BotAPIEmulator(token="123456:TEST-TOKEN")
    await emu.start()                       # ephemeral port on 127.0.0.1
    app = (ApplicationBuilder().token(emu.token).base_url(emu.base_url)
           .base_file_url(emu.base_file_url).build())
    ...                                     # start polling
    u = emu.user(1001, "王芳", language_code="zh-hans")
    await u.send("/start")
    msg = await u.wait_reply()
    await u.press(msg, "批准")
    await emu.stop()

Fidelity notes: errors use Telegram's status codes and descriptions; HTML is validated like
tdlib (plus: a bare ``&`` is rejected, see ``strict_html``); text limits count UTF-16 units after
entity parsing; editing without ``reply_markup`` removes the inline keyboard; users must have
written to the bot before it can message them; groups use privacy mode. ``BotMessage.text`` is
what the user sees (tags stripped), ``raw_text`` what the bot sent.

Robustness testing: ``emu.inject_fault(...)``, ``emu.redeliver(update_id)``,
``emu.rate_limits = RateLimits()``, ``user.block()``.

State is mutated synchronously inside the event loop (no awaits in the middle of a mutation), so
no lock is needed; every change bumps an :class:`asyncio.Event` that long pollers, the webhook
deliverer and waiting tests sleep on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

import aiohttp
from aiohttp import web

from .html import HTMLParseError, parse_html, utf16_len
from .models import (
    BotMessage,
    CallbackAnswer,
    Fault,
    RateLimits,
    RecordedRequest,
    StoredFile,
    UploadedFile,
)

__all__ = ["ApiError", "BotAPIEmulator", "BotUser", "EmulatedGroup", "EmulatedUser"]

JSON = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024

ERR_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
ERR_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
ERR_CHAT_NOT_FOUND = "Bad Request: chat not found"
ERR_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
ERR_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)

DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "shipping_query",
        "pre_checkout_query",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Parameters that are strings in the Bot API even when they look like JSON ("123", "true").
_STR_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "caption_parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "ip_address",
        "question",
        "question_parse_mode",
        "explanation",
        "explanation_parse_mode",
        "description",
        "short_description",
        "name",
        "title",
        "language_code",
        "action",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "file_id",
        "emoji",
        "type",
        "photo",
        "document",
        "video",
        "audio",
        "animation",
        "voice",
        "sticker",
        "thumbnail",
    }
)
_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})
_SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendPoll",
        "forwardMessage",
        "copyMessage",
    }
)
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class ApiError(Exception):
    """A Bot API error response."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class BotUser:
    id: int
    first_name: str
    username: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


@dataclass
class _Update:
    update_id: int
    payload: JSON
    redelivered: bool = False
    returned: bool = False

    @property
    def kind(self) -> str:
        return next(k for k in self.payload if k != "update_id")


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: EmulatedUser | None = None
    group: EmulatedGroup | None = None
    next_message_id: int = 1
    messages: dict[int, BotMessage] = field(default_factory=dict)
    bot_messages: list[BotMessage] = field(default_factory=list)
    menu_button: JSON | None = None

    def to_json(self) -> JSON:
        if self.user is not None:
            return self.user.chat_json()
        data: JSON = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class _Poll:
    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[str]
    is_anonymous: bool
    type: str
    allows_multiple_answers: bool
    correct_option_ids: list[int] | None
    explanation: str | None
    open_period: int | None
    close_date: int | None
    allows_revoting: bool
    is_closed: bool = False
    votes: dict[int, list[int]] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None

    def to_json(self) -> JSON:
        counts = [0] * len(self.options)
        for ids in self.votes.values():
            for i in ids:
                counts[i] += 1
        data: JSON = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"text": t, "voter_count": c, "persistent_id": str(i)}
                for i, (t, c) in enumerate(zip(self.options, counts, strict=True))
            ],
            "total_voter_count": len(self.votes),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": False,
        }
        if self.correct_option_ids is not None:
            data["correct_option_ids"] = list(self.correct_option_ids)
        if self.explanation:
            data["explanation"] = self.explanation
        if self.open_period is not None:
            data["open_period"] = self.open_period
        if self.close_date is not None:
            data["close_date"] = self.close_date
        return data


@dataclass
class _Callback:
    id: str
    user_id: int
    created: float
    answer: CallbackAnswer | None = None


class _Bucket:
    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = max(1.0, capacity)
        self.rate = rate
        self.tokens = self.capacity
        self.last = time.monotonic()

    def wait_time(self, now: float, tolerance: float) -> float:
        """Seconds until one token is available (0 if available now)."""
        tokens = min(self.capacity, self.tokens + (now - self.last + tolerance) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def consume(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate) - 1.0
        self.last = now


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG/GIF/JPEG/WEBP/BMP data, None if not a recognised image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"BM") and len(data) >= 26:
        return int.from_bytes(data[18:22], "little"), abs(
            int.from_bytes(data[22:26], "little", signed=True)
        )
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                h = int.from_bytes(data[i + 5 : i + 7], "big")
                w = int.from_bytes(data[i + 7 : i + 9], "big")
                return w, h
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        return 512, 512
    return None


def _inline_markup(markup: JSON | None) -> JSON | None:
    return markup if markup and "inline_keyboard" in markup else None


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _decode_value(name: str, value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return value
    if name in _STR_PARAMS:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value
    if name in _ID_PARAMS:
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading/trailing whitespace like Telegram does, keeping entities consistent."""
    stripped = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip()
    total = utf16_len(stripped)
    result: list[JSON] = []
    for e in entities:
        start = max(0, int(e.get("offset", 0)) - shift)
        end = min(total, int(e.get("offset", 0)) + int(e.get("length", 0)) - shift)
        if end > start:
            result.append({**e, "offset": start, "length": end - start})
    return stripped, result


_COMMAND_RE = re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def _command_entities(text: str) -> list[JSON]:
    entities: list[JSON] = []
    for m in _COMMAND_RE.finditer(text):
        offset = utf16_len(text[: m.start()])
        entities.append({"type": "bot_command", "offset": offset, "length": utf16_len(m.group(0))})
    return entities


class _Waiter:
    """Shared change notification: ``bump()`` wakes everyone currently waiting."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def bump(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, seconds))


class _Participant:
    """Common helpers for things that own a chat (private user chats and groups)."""

    _emu: BotAPIEmulator
    _cursor: int

    @property
    def _chat(self) -> _Chat:
        raise NotImplementedError

    @property
    def inbox(self) -> list[BotMessage]:
        """All messages the bot sent to this chat, in order, current state (edits applied)."""
        return list(self._chat.bot_messages)

    @property
    def last_message(self) -> BotMessage | None:
        msgs = self._chat.bot_messages
        return msgs[-1] if msgs else None

    async def wait_reply(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """Next bot message in this chat not yet consumed by ``wait_reply(ies)``."""
        return (await self.wait_replies(1, timeout))[0]

    async def wait_replies(self, count: int, timeout: float = 5.0) -> list[BotMessage]:  # noqa: ASYNC109
        chat = self._chat
        await self._emu._wait_for(
            lambda: len(chat.bot_messages) - self._cursor >= count,
            timeout,
            f"{count} bot message(s) in chat {chat.id} (consumed so far: {self._cursor})",
            chat,
        )
        msgs = chat.bot_messages[self._cursor : self._cursor + count]
        self._cursor += count
        return msgs

    async def expect_no_reply(self, within: float = 0.3) -> None:
        """Assert that the bot sends nothing new to this chat for ``within`` seconds."""
        chat = self._chat
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if len(chat.bot_messages) > self._cursor:
                raise AssertionError(
                    "unexpected bot message(s): "
                    f"{chat.bot_messages[self._cursor :]}\n{self._emu.dump(chat)}"
                )
            await self._emu._changed.wait(deadline - time.monotonic())
        if len(chat.bot_messages) > self._cursor:
            raise AssertionError(f"unexpected bot message(s): {chat.bot_messages[self._cursor :]}")

    def skip_pending(self) -> None:
        """Mark every bot message sent so far as consumed."""
        self._cursor = len(self._chat.bot_messages)

    async def wait_edit(self, msg: BotMessage, timeout: float = 5.0, *, count: int = 1) -> None:  # noqa: ASYNC109
        """Wait until ``msg`` has been edited (text or markup) ``count`` more times."""
        target = len(msg.edits) + msg.markup_edits + count
        await self._emu._wait_for(
            lambda: len(msg.edits) + msg.markup_edits >= target or msg.deleted,
            timeout,
            f"edit of message #{msg.message_id}",
            self._chat,
        )


class EmulatedUser(_Participant):
    """A Telegram user driven by the test (see module docstring)."""

    def __init__(
        self,
        emu: BotAPIEmulator,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self._emu = emu
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = False
        self.blocked = False
        self._cursor = 0
        self._last_callback_id: str | None = None

    @property
    def _chat(self) -> _Chat:
        return self._emu._chats[self.id]

    @property
    def chat_id(self) -> int:
        return self.id

    def to_json(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_json(self) -> JSON:
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def __repr__(self) -> str:
        return f"<EmulatedUser {self.id} {self.first_name!r}>"

    # -- sending -------------------------------------------------------------------------
    async def send(self, text: str, *, reply_to: BotMessage | int | None = None) -> int:
        """Send a text message to the bot; returns the update_id."""
        self._ensure_unblocked()
        msg = self._emu._user_message(self, self._chat, text=text, reply_to=reply_to)
        await asyncio.sleep(0)
        return self._emu._enqueue({"message": self._emu._message_json(msg)})

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int:
        self._ensure_unblocked()
        f = self._emu._store_file(data, "document", filename=filename, mime_type=mime_type)
        media = {"document": self._emu._document_json(f)}
        msg = self._emu._user_message(self, self._chat, caption=caption, media=media)
        msg.document = (filename, mime_type, data)
        await asyncio.sleep(0)
        return self._emu._enqueue({"message": self._emu._message_json(msg)})

    async def send_photo(self, data: bytes, caption: str | None = None) -> int:
        self._ensure_unblocked()
        f = self._emu._store_file(data, "photo", mime_type="image/jpeg")
        media = {"photo": self._emu._photo_json(f)}
        msg = self._emu._user_message(self, self._chat, caption=caption, media=media)
        msg.photo = data
        await asyncio.sleep(0)
        return self._emu._enqueue({"message": self._emu._message_json(msg)})

    def _ensure_unblocked(self) -> None:
        if self.blocked:  # sending a message ("Restart bot") unblocks
            self.unblock()
        self.started = True

    # -- buttons and polls ---------------------------------------------------------------
    async def press(
        self, msg: BotMessage | int, text: str | None = None, *, data: str | None = None
    ) -> int:
        """Press the inline button whose text contains ``text`` (or whose callback_data is
        exactly ``data``) on the *current* state of ``msg``; returns the update_id."""
        live = self._emu._live_message(msg, self.id)
        if live.deleted:
            raise AssertionError(f"cannot press a button on deleted message {live!r}")
        buttons = [b for row in live.buttons for b in row]
        listing = "\n".join(f"  {b.text!r} data={b.callback_data!r} url={b.url!r}" for b in buttons)
        if data is not None:
            matches = [b for b in buttons if b.callback_data == data]
        elif text is not None:
            matches = [b for b in buttons if b.text == text] or [
                b for b in buttons if text in b.text
            ]
        else:
            raise AssertionError("press() needs a button text or data=")
        if len(matches) != 1:
            what = "ambiguous" if matches else "no"
            raise AssertionError(
                f"{what} button matching {text or data!r} on message #{live.message_id}; "
                f"buttons:\n{listing or '  (none)'}"
            )
        button = matches[0]
        if button.callback_data is None:
            raise AssertionError(f"button {button.text!r} is not a callback button: {button}")
        return self._emu._callback(self, live, button.callback_data)

    async def press_raw(self, message_id: int, data: str, *, chat_id: int | None = None) -> int:
        """Send a callback query with arbitrary (forged) data for ``message_id``."""
        chat = self._emu._chats[chat_id if chat_id is not None else self.id]
        live = chat.messages.get(message_id)
        if live is None:
            raise AssertionError(f"no message #{message_id} in chat {chat.id}")
        return self._emu._callback(self, live, data)

    async def wait_callback_answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """The answerCallbackQuery for this user's last press."""
        cb_id = self._last_callback_id
        if cb_id is None:
            raise AssertionError("no button was pressed by this user")
        cb = self._emu._callbacks[cb_id]
        await self._emu._wait_for(
            lambda: cb.answer is not None,
            timeout,
            f"answerCallbackQuery for callback {cb_id}",
            self._chat,
        )
        assert cb.answer is not None
        return cb.answer

    async def answer_poll(self, poll_id: str, option_ids: Iterable[int]) -> int:
        """Vote in a poll (empty list retracts the vote); returns the update_id."""
        return self._emu._vote(self, poll_id, list(option_ids))

    def block(self) -> None:
        """Block the bot (sends a my_chat_member update to the bot)."""
        if not self.blocked:
            self.blocked = True
            self._emu._my_chat_member(self, "member", "kicked")

    def unblock(self) -> None:
        if self.blocked:
            self.blocked = False
            self._emu._my_chat_member(self, "kicked", "member")


class EmulatedGroup(_Participant):
    """A (super)group the bot is a member of; privacy mode on by default like real bots."""

    def __init__(
        self,
        emu: BotAPIEmulator,
        chat_id: int,
        title: str,
        *,
        privacy_mode: bool = True,
        username: str | None = None,
    ) -> None:
        self._emu = emu
        self.id = chat_id
        self.title = title
        self.privacy_mode = privacy_mode
        self.username = username
        self.members: set[int] = set()
        self.bot_kicked = False
        self._cursor = 0

    @property
    def _chat(self) -> _Chat:
        return self._emu._chats[self.id]

    @property
    def chat_id(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<EmulatedGroup {self.id} {self.title!r}>"

    async def send(
        self, user: EmulatedUser, text: str, *, reply_to: BotMessage | int | None = None
    ) -> int | None:
        """``user`` posts ``text`` in the group. Returns the update_id, or None if the bot
        does not receive it (privacy mode: only commands, replies to the bot and mentions)."""
        self.members.add(user.id)
        msg = self._emu._user_message(user, self._chat, text=text, reply_to=reply_to)
        await asyncio.sleep(0)
        if self.bot_kicked:
            return None
        if self.privacy_mode and not self._visible_to_bot(text, msg):
            return None
        return self._emu._enqueue({"message": self._emu._message_json(msg)})

    def _visible_to_bot(self, text: str, msg: BotMessage) -> bool:
        bot = self._emu.bot_user.username.lower()
        first = text.split(maxsplit=1)[0] if text.strip() else ""
        if first.startswith("/"):
            _, _, target = first.partition("@")
            return not target or target.lower() == bot
        if f"@{bot}" in text.lower():
            return True
        if msg.reply_to_message_id is not None:
            replied = self._chat.messages.get(msg.reply_to_message_id)
            return replied is not None and replied.from_bot
        return False


class BotAPIEmulator:
    """A Telegram Bot API server emulator. See the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        rate_limits: RateLimits | None = None,
        *,
        bot_username: str = "branch_test_bot",
        bot_name: str = "Branch Assistant (test)",
        strict_html: bool = True,
        callback_timeout: float = 15.0,
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user = BotUser(bot_id, bot_name, bot_username)
        self.strict_html = strict_html
        self.callback_timeout = callback_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self.unknown_methods: list[str] = []
        self._rate_limits: RateLimits | None = None
        self._buckets: dict[Any, _Bucket] = {}
        self.rate_limits = rate_limits
        self._changed = _Waiter()
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, EmulatedUser] = {}
        self._updates: list[_Update] = []
        self._history: dict[int, JSON] = {}
        self._update_ids = itertools.count(100001)
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self._poll_generation = 0
        self._files: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._callbacks: dict[str, _Callback] = {}
        self._callback_seq = itertools.count(1)
        self._polls: dict[str, _Poll] = {}
        self._poll_seq = itertools.count(1)
        self._faults: list[Fault] = []
        self._commands: dict[tuple[Any, ...], list[JSON]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._default_menu_button: JSON = {"type": "commands"}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_deliveries: list[JSON] = []
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._listeners: list[Callable[[str, BotMessage], None]] = []
        self._methods: dict[str, Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]] = {}
        for name in dir(self):
            if name.startswith("api_"):
                method = name[4:]
                self._methods[method.lower()] = getattr(self, name)

    # ===================================================================== lifecycle
    @property
    def rate_limits(self) -> RateLimits | None:
        return self._rate_limits

    @rate_limits.setter
    def rate_limits(self, value: RateLimits | None) -> None:
        self._rate_limits = value
        self._buckets = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._stopping = False

    async def stop(self) -> None:
        self._stopping = True
        self._changed.bump()
        for poll in self._polls.values():
            if poll.timer is not None:
                poll.timer.cancel()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ===================================================================== test-side API
    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> EmulatedUser:
        """Get or create a user (same object for the same id)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        u = EmulatedUser(self, user_id, first_name, last_name, username, language_code)
        self._users[user_id] = u
        self._chats[user_id] = _Chat(user_id, "private", user=u)
        return u

    def group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        privacy_mode: bool = True,
        username: str | None = None,
    ) -> EmulatedGroup:
        """Get or create a group chat the bot is a member of."""
        chat = self._chats.get(chat_id)
        if chat is not None and chat.group is not None:
            return chat.group
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        g = EmulatedGroup(self, chat_id, title, privacy_mode=privacy_mode, username=username)
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        self._chats[chat_id] = _Chat(chat_id, kind, title=title, username=username, group=g)
        return g

    def calls(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    @property
    def delivered_update_ids(self) -> frozenset[int]:
        """Every update id the emulator has handed out or queued so far."""
        return frozenset(self._history)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return [dict(c) for c in self._commands.get(self._scope_key(scope, language_code), [])]

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        return self._chats[chat_id].messages[message_id]

    def poll(self, poll_id: str) -> JSON:
        return self._polls[poll_id].to_json()

    def callback_answers(self) -> list[CallbackAnswer]:
        return [cb.answer for cb in self._callbacks.values() if cb.answer is not None]

    def expire_poll(self, poll_id: str) -> None:
        """Close a poll as if its open_period elapsed."""
        self._close_poll(poll_id)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self._wait_for(predicate, timeout, "condition", None)

    async def redeliver(self, update_id: int) -> None:
        """Deliver an already-sent update again with the same update_id (duplicate delivery);
        it is returned by the next getUpdates regardless of the offset."""
        payload = self._history.get(update_id)
        if payload is None:
            raise KeyError(f"unknown update_id {update_id}")
        # Telegram returns updates ordered by id, so the duplicate goes first.
        self._updates.insert(0, _Update(update_id, payload, redelivered=True))
        self._changed.bump()
        await asyncio.sleep(0)

    def inject_fault(
        self,
        method: str | None = None,
        *,
        status: int | None = None,
        count: int = 1,
        retry_after: int | None = None,
        drop_connection: bool = False,
        delay: float = 0.0,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (any method except getUpdates if None)
        fail: ``status`` (default 500) with Telegram-like JSON, 429 when ``retry_after`` is
        set, a closed connection with ``drop_connection``, or just a slow success when only
        ``delay`` is given. With ``after_effect=True`` the call is applied first (e.g. the
        message is really sent) and only the response fails."""
        self._faults.append(
            Fault(method, status, count, retry_after, drop_connection, delay, after_effect)
        )

    def add_listener(self, listener: Callable[[str, BotMessage], None]) -> None:
        """Call ``listener(event, message)`` synchronously whenever the bot sends ("sent"),
        edits ("edited") or deletes ("deleted") a message, e.g. to print them in a demo."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[str, BotMessage], None]) -> None:
        self._listeners.remove(listener)

    def clear_faults(self) -> None:
        self._faults.clear()

    def dump(self, chat: _Chat | None = None) -> str:
        lines: list[str] = []
        if chat is not None:
            lines.append(f"last messages in chat {chat.id}:")
            lines += [f"  {m!r}" for m in list(chat.messages.values())[-6:]] or ["  (none)"]
        lines.append("recent requests:")
        recent = [r for r in self.requests if r.method != "getUpdates"][-10:]
        lines += [f"  {r!r}" for r in recent] or ["  (none)"]
        lines.append(
            f"pending updates: {len(self._updates)}; unknown methods: {self.unknown_methods}"
        )
        return "\n".join(lines)

    # ===================================================================== internals
    async def _wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109
        what: str,
        chat: _Chat | None,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n{self.dump(chat)}"
                )
            await self._changed.wait(remaining)

    def _enqueue(self, payload: JSON) -> int:
        update_id = next(self._update_ids)
        full = {"update_id": update_id, **payload}
        self._history[update_id] = full
        self._updates.append(_Update(update_id, full))
        self._changed.bump()
        return update_id

    def _next_file(self, kind: str) -> tuple[str, str, int]:
        n = next(self._file_seq)
        prefix = {"photo": "AgAC", "document": "BQAC"}.get(kind, "CAAC")
        return f"{prefix}EmuFile{n:06d}{kind[:3]}", f"AQAD{n:06d}", n

    def _store_file(
        self,
        data: bytes,
        kind: str,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        file_id, unique_id, n = self._next_file(kind)
        ext = ""
        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1]
        elif kind == "photo":
            ext = ".jpg"
        folder = "photos" if kind == "photo" else "documents"
        f = StoredFile(file_id, unique_id, data, f"{folder}/file_{n}{ext}", filename, mime_type)
        if kind == "photo":
            f.width, f.height = _image_size(data) or (512, 512)
        self._files[file_id] = f
        return f

    def _photo_json(self, f: StoredFile) -> list[JSON]:
        return [
            {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "file_size": len(f.data),
                "width": f.width,
                "height": f.height,
            }
        ]

    def _document_json(self, f: StoredFile) -> JSON:
        data: JSON = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
        }
        if f.filename:
            data["file_name"] = f.filename
        if f.mime_type:
            data["mime_type"] = f.mime_type
        return data

    def _sender_json(self, msg: BotMessage) -> JSON:
        if msg.from_bot:
            return self.bot_user.to_json()
        return self._users[msg.sender_id].to_json()

    def _message_json(self, msg: BotMessage, *, nested: bool = False) -> JSON:
        chat = self._chats[msg.chat_id]
        data: JSON = {
            "message_id": msg.message_id,
            "from": self._sender_json(msg),
            "chat": chat.to_json(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        data.update(msg.extra)
        if msg.text is not None:
            if msg.is_caption:
                data["caption"] = msg.text
                if msg.entities:
                    data["caption_entities"] = msg.entities
            else:
                data["text"] = msg.text
                if msg.entities:
                    data["entities"] = msg.entities
        data.update(msg.media)
        if msg.poll is not None:
            data["poll"] = msg.poll
        if msg.reply_to_message_id is not None and not nested:
            replied = chat.messages.get(msg.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self._message_json(replied, nested=True)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        return data

    def _add_message(self, chat: _Chat, msg: BotMessage) -> BotMessage:
        msg.message_id = chat.next_message_id
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        if msg.from_bot:
            chat.bot_messages.append(msg)
            self._emit("sent", msg)
        self._changed.bump()
        return msg

    def _emit(self, event: str, msg: BotMessage) -> None:
        self._changed.bump()
        for listener in list(self._listeners):
            listener(event, msg)

    def _user_message(
        self,
        user: EmulatedUser,
        chat: _Chat,
        *,
        text: str | None = None,
        caption: str | None = None,
        media: JSON | None = None,
        reply_to: BotMessage | int | None = None,
    ) -> BotMessage:
        reply_id = reply_to.message_id if isinstance(reply_to, BotMessage) else reply_to
        body = text if text is not None else caption
        msg = BotMessage(
            message_id=0,
            chat_id=chat.id,
            text=body,
            raw_text=body,
            entities=_command_entities(body) if body and text is not None else [],
            from_bot=False,
            sender_id=user.id,
            is_caption=text is None,
            media=dict(media or {}),
            reply_to_message_id=reply_id,
        )
        return self._add_message(chat, msg)

    def _live_message(self, msg: BotMessage | int, default_chat: int) -> BotMessage:
        if isinstance(msg, BotMessage):
            chat_id, message_id = msg.chat_id, msg.message_id
        else:
            chat_id, message_id = default_chat, msg
        live = self._chats[chat_id].messages.get(message_id)
        if live is None:
            raise AssertionError(f"no message #{message_id} in chat {chat_id}")
        return live

    def _callback(self, user: EmulatedUser, msg: BotMessage, data: str) -> int:
        cb_id = str(4_000_000_000_000 + next(self._callback_seq) * 7919)
        self._callbacks[cb_id] = _Callback(cb_id, user.id, time.monotonic())
        user._last_callback_id = cb_id
        payload = {
            "id": cb_id,
            "from": user.to_json(),
            "message": self._message_json(msg),
            "chat_instance": str(abs(msg.chat_id) * 31 + self.bot_user.id),
            "data": data,
        }
        return self._enqueue({"callback_query": payload})

    def _my_chat_member(self, user: EmulatedUser, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            data: JSON = {"status": status, "user": self.bot_user.to_json()}
            if status == "kicked":
                data["until_date"] = 0
            return data

        payload = {
            "chat": user.chat_json(),
            "from": user.to_json(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self._enqueue({"my_chat_member": payload})

    def _vote(self, user: EmulatedUser, poll_id: str, option_ids: list[int]) -> int:
        poll = self._polls.get(poll_id)
        if poll is None:
            raise AssertionError(f"unknown poll {poll_id!r}; known: {list(self._polls)}")
        if poll.is_closed:
            raise AssertionError(f"poll {poll_id} is closed")
        if any(not 0 <= i < len(poll.options) for i in option_ids):
            raise AssertionError(f"option ids {option_ids} out of range for {poll.options}")
        if len(set(option_ids)) != len(option_ids):
            raise AssertionError("duplicate option ids")
        if len(option_ids) > 1 and not poll.allows_multiple_answers:
            raise AssertionError("poll does not allow multiple answers")
        if user.id in poll.votes and not poll.allows_revoting:
            raise AssertionError("this poll does not allow changing the vote")
        if not option_ids and user.id not in poll.votes:
            raise AssertionError("nothing to retract")
        if option_ids:
            poll.votes[user.id] = option_ids
        else:
            poll.votes.pop(user.id, None)
        self._refresh_poll(poll)
        update_id = self._enqueue({"poll": poll.to_json()})
        if not poll.is_anonymous:
            answer = {
                "poll_id": poll.id,
                "user": user.to_json(),
                "option_ids": option_ids,
                "option_persistent_ids": [str(i) for i in option_ids],
            }
            update_id = self._enqueue({"poll_answer": answer})
        return update_id

    def _refresh_poll(self, poll: _Poll) -> None:
        msg = self._chats[poll.chat_id].messages.get(poll.message_id)
        if msg is not None:
            msg.poll = poll.to_json()
        self._changed.bump()

    def _close_poll(self, poll_id: str) -> None:
        poll = self._polls.get(poll_id)
        if poll is None or poll.is_closed:
            return
        poll.is_closed = True
        if poll.timer is not None:
            poll.timer.cancel()
            poll.timer = None
        self._refresh_poll(poll)
        self._enqueue({"poll": poll.to_json()})

    # ----------------------------------------------------------------- HTTP handling
    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        ctype = request.content_type
        if request.method == "POST" and request.can_read_body:
            if ctype == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("request body must be a JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        upload = UploadedFile(
                            value.filename or key,
                            value.content_type or "application/octet-stream",
                            value.file.read(),
                        )
                        files[key] = upload
                        raw[key] = upload
                    else:
                        raw[key] = value
        params = {k: _decode_value(k, v) for k, v in raw.items()}
        return params, files

    def _record(
        self,
        method: str,
        params: JSON,
        files: dict[str, UploadedFile],
        status: int,
        description: str | None = None,
    ) -> None:
        shown = {
            k: (f"<file {v.filename}>" if isinstance(v, UploadedFile) else v)
            for k, v in params.items()
        }
        self.requests.append(
            RecordedRequest(method, shown, time.time(), status, files, description)
        )
        self._changed.bump()

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self._faults:
            matches = (
                fault.method.lower() == method.lower()
                if fault.method is not None
                else method != "getUpdates"
            )
            if matches:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _json_response(status: int, body: JSON) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False).encode(),
            content_type="application/json",
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method_raw = request.match_info["method"]
        if token != self.token:
            err = ApiError(401, "Unauthorized")
            self._record(method_raw, {}, {}, 401, err.description)
            return self._json_response(401, err.body())
        handler = self._methods.get(method_raw.lower())
        method = handler.__name__[4:] if handler is not None else method_raw
        try:
            params, files = await self._read_params(request)
        except ApiError as exc:
            self._record(method, {}, {}, exc.status, exc.description)
            return self._json_response(exc.status, exc.body())
        except (ValueError, aiohttp.ClientError) as exc:
            err = _bad(f"can't parse request: {exc}")
            self._record(method, {}, {}, 400, err.description)
            return self._json_response(400, err.body())
        if handler is None:
            self.unknown_methods.append(method_raw)
            err = ApiError(404, "Not Found: method not found")
            self._record(method, params, files, 404, err.description)
            return self._json_response(404, err.body())

        fault = self._take_fault(method)
        if fault is None:
            status, body = await self._execute(handler, method, params, files)
            return self._json_response(status, body)

        failing = (
            fault.drop_connection
            or fault.retry_after is not None
            or (fault.status is not None or fault.delay <= 0)
        )
        if fault.after_effect:
            status, body = await self._execute(handler, method, params, files)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not failing:
                return self._json_response(status, body)
        else:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if not failing:
                status, body = await self._execute(handler, method, params, files)
                return self._json_response(status, body)
        if fault.drop_connection:
            self._record(method, params, files, 0, "connection dropped (injected)")
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError
        if fault.retry_after is not None:
            err = ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        else:
            code = fault.status or 500
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            err = ApiError(code, phrase)
        self._record(method, params, files, err.status, err.description + " (injected)")
        return self._json_response(err.status, err.body())

    async def _execute(
        self,
        handler: Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]],
        method: str,
        params: JSON,
        files: dict[str, UploadedFile],
    ) -> tuple[int, JSON]:
        try:
            if method in _SEND_METHODS:
                self._check_rate(
                    params.get("chat_id"), paid=params.get("allow_paid_broadcast") is True
                )
            result = await handler(params, files)
        except ApiError as exc:
            self._record(method, params, files, exc.status, exc.description)
            return exc.status, exc.body()
        self._record(method, params, files, 200)
        return 200, {"ok": True, "result": result}

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._json_response(401, ApiError(401, "Unauthorized").body())
        path = request.match_info["path"]
        for f in self._files.values():
            if f.file_path == path:
                return web.Response(
                    body=f.data, content_type=f.mime_type or "application/octet-stream"
                )
        return self._json_response(404, ApiError(404, "Not Found").body())

    # ----------------------------------------------------------------- rate limits
    def _check_rate(self, chat_ref: Any, *, paid: bool = False) -> None:
        limits = self._rate_limits
        if limits is None:
            return
        chat_id = self._chat_id_for_rate(chat_ref)
        now = time.monotonic()
        buckets: list[_Bucket] = []
        overall = limits.paid_per_second if paid else limits.global_per_second
        if overall:
            key: Any = "paid" if paid else "global"
            buckets.append(self._bucket(key, overall, overall))
        if limits.per_chat_per_second and chat_id is not None:
            buckets.append(
                self._bucket(("chat", chat_id), limits.per_chat_burst, limits.per_chat_per_second)
            )
        if limits.per_group_per_minute and chat_id is not None and chat_id < 0:
            buckets.append(
                self._bucket(
                    ("group", chat_id),
                    limits.per_group_per_minute,
                    limits.per_group_per_minute / 60,
                )
            )
        wait = max((b.wait_time(now, limits.tolerance) for b in buckets), default=0.0)
        if wait > 0:
            retry_after = max(1, int(wait + 0.999))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for b in buckets:
            b.consume(now)

    def _bucket(self, key: Any, capacity: float, rate: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, rate)
        return bucket

    def _chat_id_for_rate(self, chat_ref: Any) -> int | None:
        if isinstance(chat_ref, int):
            return chat_ref
        if isinstance(chat_ref, str):
            for chat in self._chats.values():
                if chat.username and f"@{chat.username}".lower() == chat_ref.lower():
                    return chat.id
        return None

    # ----------------------------------------------------------------- validation helpers
    def _chat(self, chat_ref: Any, *, sending: bool = True) -> _Chat:
        if chat_ref is None or chat_ref == "":
            raise _bad("chat_id is empty")
        chat: _Chat | None = None
        if isinstance(chat_ref, int):
            chat = self._chats.get(chat_ref)
        elif isinstance(chat_ref, str):
            for c in self._chats.values():
                if (
                    c.group is not None
                    and c.username
                    and f"@{c.username}".lower() == chat_ref.lower()
                ):
                    chat = c
        if chat is None:
            raise ApiError(400, ERR_CHAT_NOT_FOUND)
        if chat.user is not None:
            if chat.user.blocked and sending:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.user.started:
                if sending:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
                raise ApiError(400, ERR_CHAT_NOT_FOUND)
        elif chat.group is not None and chat.group.bot_kicked:
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        return chat

    def _format(
        self, text: Any, parse_mode: Any, entities: Any, *, what: str
    ) -> tuple[str, list[JSON]]:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if isinstance(entities, list):
            plain, ents = text, [e for e in entities if isinstance(e, dict)]
        elif parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    plain, ents = parse_html(text, strict_entities=self.strict_html)
                except HTMLParseError as exc:
                    raise _bad(f"can't parse entities: {exc}") from None
            elif mode in ("markdown", "markdownv2"):
                plain, ents = text, []  # not validated by the emulator
            else:
                raise _bad(f"unsupported parse_mode {parse_mode!r}")
        else:
            plain, ents = text, []
        plain, ents = _trim(plain, ents)
        size = utf16_len(plain)
        if what == "text":
            if size == 0:
                raise _bad("message text is empty")
            if size > MAX_TEXT:
                raise _bad("message is too long")
        elif what == "caption" and size > MAX_CAPTION:
            raise _bad("message caption is too long")
        return plain, ents

    def _markup(self, markup: Any, *, inline_only: bool = False) -> JSON | None:
        if markup is None:
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        markup = _strip_none(markup)
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            total = 0
            for row in rows:
                for button in row:
                    total += 1
                    self._check_inline_button(button)
            if total > 100:
                raise _bad("reply markup is too long")
            return cast(JSON, markup)
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
            return cast(JSON, markup)
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return cast(JSON, markup)
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        if not isinstance(button.get("text"), str):
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        actions = [a for a in _INLINE_ACTIONS if a in button]
        if not actions:
            raise _bad(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
        if len(actions) > 1:
            raise _bad(
                "can't parse inline keyboard button: exactly one of the optional fields "
                "must be used"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(
                r"^(https?://[^\s/]+\.[^\s]+|https?://localhost\S*|tg://\S+)$", url, re.I
            ):
                raise _bad("BUTTON_URL_INVALID")

    def _reply_to(self, chat: _Chat, params: JSON) -> int | None:
        reply = params.get("reply_parameters")
        message_id: Any = None
        allow_without = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_without = bool(reply.get("allow_sending_without_reply", allow_without))
            if reply.get("chat_id") not in (None, chat.id):
                return None
        elif params.get("reply_to_message_id") is not None:
            message_id = params.get("reply_to_message_id")
        if message_id is None:
            return None
        existing = chat.messages.get(int(message_id))
        if existing is None or existing.deleted:
            if allow_without:
                return None
            raise _bad("message to be replied not found")
        return int(message_id)

    def _bot_message(self, chat: _Chat, params: JSON, **fields: Any) -> BotMessage:
        msg = BotMessage(message_id=0, chat_id=chat.id, **fields)
        msg.reply_to_message_id = self._reply_to(chat, params)
        return self._add_message(chat, msg)

    def _edit_target(self, params: JSON) -> BotMessage:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat(params.get("chat_id"))
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError):
            raise _bad("message identifier is not specified") from None
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _input_file(
        self, value: Any, files: dict[str, UploadedFile], kind: str, field_name: str
    ) -> StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise _bad(f"wrong remote file identifier specified: {value}")
            value = upload
        if isinstance(value, UploadedFile):
            if len(value.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            if kind == "photo":
                if len(value.data) > MAX_PHOTO:
                    raise _bad("PHOTO_SAVE_FILE_INVALID")
                size = _image_size(value.data)
                if size is None:
                    raise _bad("IMAGE_PROCESS_FAILED")
                w, h = size
                if w + h > 10000 or min(w, h) == 0 or max(w, h) / min(w, h) > 20:
                    raise _bad("PHOTO_INVALID_DIMENSIONS")
                return self._store_file(value.data, "photo", mime_type="image/jpeg")
            return self._store_file(
                value.data, kind, filename=value.filename, mime_type=value.content_type
            )
        if isinstance(value, str) and value:
            existing = self._files.get(value)
            if existing is not None:
                is_photo = existing.file_path.startswith("photos/")
                if is_photo != (kind == "photo"):
                    have = "Photo" if is_photo else "Document"
                    want = "Photo" if kind == "photo" else "Document"
                    raise _bad(f"can't use file of type {have} as {want}")
                return existing
            if re.match(r"^https?://", value):
                name = value.rsplit("/", 1)[-1] or "file"
                return self._store_file(b"", kind, filename=name)
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {field_name} in the request")

    def _media_fields(self, f: StoredFile, kind: str) -> tuple[JSON, JSON]:
        if kind == "photo":
            return {"photo": self._photo_json(f)}, {"photo": f.data}
        return (
            {"document": self._document_json(f)},
            {"document": (f.filename or "file", f.mime_type or "application/octet-stream", f.data)},
        )

    def _scope_key(self, scope: Any, language_code: Any) -> tuple[Any, ...]:
        if not isinstance(scope, dict):
            scope = {"type": "default"}
        kind = scope.get("type", "default")
        chat_id = scope.get("chat_id")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        return (kind, chat_id, scope.get("user_id"), language_code or "")

    def _check_scope(self, scope: Any, language_code: Any) -> tuple[Any, ...]:
        key = self._scope_key(scope, language_code)
        kinds = {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }
        if key[0] not in kinds:
            raise _bad("unsupported bot command scope type")
        if key[0].startswith("chat") and key[1] not in self._chats:
            raise ApiError(400, ERR_CHAT_NOT_FOUND)
        lang = key[3]
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise _bad("invalid language code specified")
        return key

    # ===================================================================== Bot API methods
    async def api_getMe(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_logOut(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return True

    async def api_close(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return True

    async def api_getUpdates(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        if self.webhook_url:
            raise ApiError(409, ERR_CONFLICT_WEBHOOK)
        self._poll_generation += 1
        generation = self._poll_generation
        self._changed.bump()  # terminate an older long poll
        offset = p.get("offset")
        limit = int(p.get("limit") or 100)
        limit = min(max(limit, 1), 100)
        timeout = float(p.get("timeout") or 0)
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
        if isinstance(offset, int):
            self._confirm(offset)
        deadline = time.monotonic() + timeout
        while True:
            if self._poll_generation != generation:
                raise ApiError(409, ERR_CONFLICT_POLL)
            self._updates = [u for u in self._updates if u.kind in self._allowed_updates]
            batch = self._updates[:limit]
            if batch or self._stopping:
                for u in batch:
                    u.returned = True
                return [u.payload for u in batch]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await self._changed.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
            return
        kept: list[_Update] = []
        for u in self._updates:
            if u.update_id >= offset or (u.redelivered and not u.returned):
                kept.append(u)
        self._updates = kept
        self._changed.bump()

    async def api_setWebhook(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        url = str(p.get("url") or "")
        if (
            url
            and not re.match(r"^https://", url)
            and not re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/", url + "/")
        ):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret is not None else None
        self._webhook_error = None
        self._restart_webhook()
        return True

    async def api_deleteWebhook(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = ""
        self.webhook_secret = None
        self._restart_webhook()
        return True

    async def api_getWebhookInfo(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def _restart_webhook(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        if self.webhook_url:
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())
        self._changed.bump()

    async def _deliver_webhook(self) -> None:
        attempt = 0
        while not self._stopping:
            self._updates = [u for u in self._updates if u.kind in self._allowed_updates]
            if not self._updates:
                await self._changed.wait(1.0)
                continue
            update = self._updates[0]
            headers = {}
            if self.webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            error: str | None = None
            try:
                assert self._session is not None
                async with self._session.post(
                    self.webhook_url,
                    json=update.payload,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as resp:
                    await resp.read()
                    if not 200 <= resp.status < 300:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"Connection failed: {exc!r}"
            if error is None:
                self.webhook_deliveries.append(update.payload)
                if update in self._updates:
                    self._updates.remove(update)
                attempt = 0
                self._changed.bump()
            else:
                self._webhook_error = (int(time.time()), error)
                attempt += 1
                self._changed.bump()
                await asyncio.sleep(min(0.05 * 2 ** (attempt - 1), 1.0))

    async def api_sendMessage(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"))
        text, entities = self._format(
            p.get("text"), p.get("parse_mode"), p.get("entities"), what="text"
        )
        markup = self._markup(p.get("reply_markup"))
        msg = self._bot_message(
            chat,
            p,
            text=text,
            raw_text=p.get("text"),
            parse_mode=p.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )
        return self._message_json(msg)

    def _apply_edit(
        self, msg: BotMessage, p: JSON, text: str | None, entities: list[JSON], raw: Any
    ) -> JSON:
        """Apply an edit of text/caption (``text``) and inline markup, Telegram-style: a
        missing ``reply_markup`` removes the inline keyboard."""
        markup = self._markup(p.get("reply_markup"), inline_only=True)
        old_markup = _inline_markup(msg.reply_markup)
        content_same = (text or "") == (msg.text or "") and entities == msg.entities
        if content_same and markup == old_markup:
            raise ApiError(400, ERR_NOT_MODIFIED)
        if not content_same:
            msg.edits.append(msg.text or "")
            msg.text = text or None if msg.is_caption else text
            msg.entities, msg.raw_text = entities, raw
            msg.parse_mode = p.get("parse_mode")
        if markup != old_markup:
            msg.markup_edits += 1
        if markup is not None or old_markup is not None:
            msg.reply_markup = markup
        msg.edit_date = int(time.time())
        self._emit("edited", msg)
        return self._message_json(msg)

    async def api_editMessageText(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        msg = self._edit_target(p)
        if msg.is_caption or msg.text is None:
            raise _bad("there is no text in the message to edit")
        text, entities = self._format(
            p.get("text"), p.get("parse_mode"), p.get("entities"), what="text"
        )
        return self._apply_edit(msg, p, text, entities, p.get("text"))

    async def api_editMessageCaption(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        msg = self._edit_target(p)
        if not msg.is_caption:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._format(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), what="caption"
        )
        return self._apply_edit(msg, p, caption, entities, p.get("caption"))

    async def api_editMessageReplyMarkup(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        msg = self._edit_target(p)
        return self._apply_edit(msg, p, msg.text, msg.entities, msg.raw_text)

    async def api_deleteMessage(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"), sending=False)
        msg = chat.messages.get(int(p.get("message_id") or 0))
        if msg is None or msg.deleted:
            raise _bad("message to delete not found")
        msg.deleted = True
        self._emit("deleted", msg)
        return True

    async def api_deleteMessages(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"), sending=False)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be a non-empty Array of at most 100 elements")
        found = [chat.messages[i] for i in ids if i in chat.messages]
        if not any(not m.deleted for m in found):
            raise _bad("message to delete not found")
        for m in found:
            if not m.deleted:
                m.deleted = True
                self._emit("deleted", m)
        return True

    async def api_answerCallbackQuery(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        cb = self._callbacks.get(str(p.get("callback_query_id") or ""))
        if cb is None or cb.answer is not None:
            raise ApiError(400, ERR_TOO_OLD)
        if time.monotonic() - cb.created > self.callback_timeout:
            raise ApiError(400, ERR_TOO_OLD)
        text = p.get("text")
        if isinstance(text, str) and utf16_len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        cb.answer = CallbackAnswer(
            cb.id,
            text if isinstance(text, str) else None,
            bool(p.get("show_alert")),
            p.get("url"),
            p.get("cache_time"),
        )
        self._changed.bump()
        return True

    async def _send_media(self, p: JSON, files: dict[str, UploadedFile], kind: str) -> Any:
        chat = self._chat(p.get("chat_id"))
        caption, entities = self._format(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), what="caption"
        )
        markup = self._markup(p.get("reply_markup"))
        stored = self._input_file(p.get(kind), files, kind, kind)
        media, content = self._media_fields(stored, kind)
        msg = self._bot_message(
            chat,
            p,
            text=caption or None,
            raw_text=p.get("caption"),
            parse_mode=p.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            is_caption=True,
            media=media,
            **content,
        )
        return self._message_json(msg)

    async def api_sendPhoto(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return await self._send_media(p, f, "photo")

    async def api_sendDocument(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return await self._send_media(p, f, "document")

    async def api_sendMediaGroup(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"))
        items = p.get("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise _bad("media must contain 2-10 items")
        prepared: list[tuple[str, list[JSON], JSON, JSON]] = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
                raise _bad("unsupported media type in the emulator (photo/document only)")
            kind = str(item["type"])
            caption, entities = self._format(
                item.get("caption"),
                item.get("parse_mode"),
                item.get("caption_entities"),
                what="caption",
            )
            stored = self._input_file(item.get("media"), f, kind, "media")
            media, content = self._media_fields(stored, kind)
            prepared.append((caption, entities, media, content))
        group_id = str(10_000_000 + next(self._file_seq))
        result = []
        for caption, entities, media, content in prepared:
            msg = self._bot_message(
                chat,
                p,
                text=caption or None,
                entities=entities,
                is_caption=True,
                media=media,
                extra={"media_group_id": group_id},
                **content,
            )
            result.append(self._message_json(msg))
        return result

    def _source_message(self, p: JSON, what: str) -> BotMessage:
        source_chat = self._chat(p.get("from_chat_id"), sending=False)
        msg = source_chat.messages.get(int(p.get("message_id") or 0))
        if msg is None or msg.deleted:
            raise _bad(f"message to {what} not found")
        return msg

    async def api_forwardMessage(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"))
        src = self._source_message(p, "forward")
        origin: JSON
        if src.from_bot:
            origin = {"type": "user", "sender_user": self.bot_user.to_json(), "date": src.date}
        else:
            origin = {
                "type": "user",
                "sender_user": self._users[src.sender_id].to_json(),
                "date": src.date,
            }
        msg = self._bot_message(
            chat,
            {},
            text=src.text,
            raw_text=src.raw_text,
            entities=list(src.entities),
            is_caption=src.is_caption,
            media=dict(src.media),
            photo=src.photo,
            document=src.document,
            poll=src.poll,
            extra={"forward_origin": origin},
        )
        return self._message_json(msg)

    async def api_copyMessage(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"))
        src = self._source_message(p, "copy")
        text, entities = src.text, list(src.entities)
        if "caption" in p and src.is_caption:
            caption, entities = self._format(
                p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), what="caption"
            )
            text = caption or None
        markup = self._markup(p.get("reply_markup"))
        if markup is None and "reply_markup" not in p:
            markup = src.reply_markup if src.from_bot else None
        msg = self._bot_message(
            chat,
            p,
            text=text,
            raw_text=text,
            entities=entities,
            is_caption=src.is_caption,
            media=dict(src.media),
            photo=src.photo,
            document=src.document,
            poll=src.poll,
            reply_markup=markup,
        )
        return {"message_id": msg.message_id}

    async def api_sendChatAction(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        self._chat(p.get("chat_id"))
        if p.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def api_getChat(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"), sending=False)
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def api_getChatMember(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"), sending=False)
        user_id = int(p.get("user_id") or 0)
        if user_id == self.bot_user.id:
            return {"status": "member", "user": self.bot_user.to_json()}
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        if chat.user is not None:
            status = "member" if chat.user.id == user_id else "left"
        else:
            assert chat.group is not None
            status = "member" if user_id in chat.group.members else "left"
        return {"status": status, "user": user.to_json()}

    async def api_getFile(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def api_setMyCommands(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        clean: list[JSON] = []
        for c in commands:
            if not isinstance(c, dict):
                raise _bad("can't parse BotCommand")
            cmd = c.get("command")
            desc = c.get("description")
            if not isinstance(cmd, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", cmd.lstrip("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": cmd.lstrip("/"), "description": desc})
        key = self._check_scope(p.get("scope"), p.get("language_code"))
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    async def api_getMyCommands(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        key = self._check_scope(p.get("scope"), p.get("language_code"))
        return [dict(c) for c in self._commands.get(key, [])]

    async def api_deleteMyCommands(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        key = self._check_scope(p.get("scope"), p.get("language_code"))
        self._commands.pop(key, None)
        return True

    async def api_setChatMenuButton(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad("can't parse menu button")
        if p.get("chat_id") is not None:
            self._chat(p.get("chat_id"), sending=False).menu_button = button
        else:
            self._default_menu_button = button
        return True

    async def api_getChatMenuButton(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        if p.get("chat_id") is not None:
            chat = self._chat(p.get("chat_id"), sending=False)
            if chat.menu_button is not None and chat.menu_button.get("type") != "default":
                return chat.menu_button
        return self._default_menu_button

    async def _set_text(self, p: JSON, field_name: str, limit: int) -> Any:
        value = str(p.get(field_name) or "")
        if utf16_len(value) > limit:
            raise _bad(f"{field_name} is too long")
        lang = str(p.get("language_code") or "")
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise _bad("invalid language code specified")
        self._bot_texts[(field_name, lang)] = value
        return True

    def _get_text(self, p: JSON, field_name: str) -> JSON:
        lang = str(p.get("language_code") or "")
        return {field_name: self._bot_texts.get((field_name, lang), "")}

    async def api_setMyDescription(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return await self._set_text(p, "description", 512)

    async def api_getMyDescription(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return self._get_text(p, "description")

    async def api_setMyShortDescription(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return await self._set_text(p, "short_description", 120)

    async def api_getMyShortDescription(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return self._get_text(p, "short_description")

    async def api_setMyName(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        return await self._set_text(p, "name", 64)

    async def api_getMyName(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        got = self._get_text(p, "name")
        return got if got["name"] else {"name": self.bot_user.first_name}

    async def api_sendPoll(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"))
        question = p.get("question")
        if not isinstance(question, str) or not question.strip():
            raise _bad("poll question must be non-empty")
        if utf16_len(question) > 300:
            raise _bad("poll question length must not exceed 300")
        raw_options = p.get("options")
        if not isinstance(raw_options, list):
            raise _bad("can't parse options JSON object")
        options: list[str] = []
        for o in raw_options:
            text = o.get("text") if isinstance(o, dict) else o
            if not isinstance(text, str) or not text.strip():
                raise _bad("poll options must be non-empty")
            if utf16_len(text) > 100:
                raise _bad("poll options length must not exceed 100")
            options.append(text)
        if not 2 <= len(options) <= 12:
            raise _bad("poll must have 2-12 options")
        kind = str(p.get("type") or "regular")
        if kind not in ("regular", "quiz"):
            raise _bad("poll type is invalid")
        correct: Any = p.get("correct_option_ids")
        if correct is None and p.get("correct_option_id") is not None:
            correct = [p.get("correct_option_id")]
        multiple = bool(p.get("allows_multiple_answers"))
        if kind == "quiz":
            if not isinstance(correct, list) or not correct:
                raise _bad("QUIZ_CORRECT_ANSWERS_EMPTY")
            if any(not isinstance(c, int) or not 0 <= c < len(options) for c in correct):
                raise _bad("QUIZ_CORRECT_ANSWER_INVALID")
            if len(correct) > 1 and not multiple:
                raise _bad("QUIZ_CORRECT_ANSWERS_TOO_MUCH")
        else:
            correct = None
        explanation = p.get("explanation")
        if explanation is not None:
            explanation, _ = self._format(
                explanation,
                p.get("explanation_parse_mode"),
                p.get("explanation_entities"),
                what="explanation",
            )
            if utf16_len(explanation) > 200:
                raise _bad("explanation is too long")
        open_period = p.get("open_period")
        close_date = p.get("close_date")
        if open_period is not None and close_date is not None:
            raise _bad("can't use open_period and close_date together")
        if open_period is not None and not 5 <= int(open_period) <= 600:
            raise _bad("open_period must be between 5 and 600 seconds")
        revoting = p.get("allows_revoting")
        poll = _Poll(
            id=str(5_000_000_000_000_000 + next(self._poll_seq)),
            chat_id=chat.id,
            message_id=0,
            question=question,
            options=options,
            is_anonymous=p.get("is_anonymous", True) is not False,
            type=kind,
            allows_multiple_answers=multiple,
            correct_option_ids=[int(c) for c in correct] if correct else None,
            explanation=explanation or None,
            open_period=int(open_period) if open_period is not None else None,
            close_date=int(close_date) if close_date is not None else None,
            allows_revoting=bool(revoting) if revoting is not None else kind == "regular",
            is_closed=bool(p.get("is_closed")),
        )
        markup = self._markup(p.get("reply_markup"))
        msg = self._bot_message(chat, p, poll=poll.to_json(), reply_markup=markup)
        poll.message_id = msg.message_id
        self._polls[poll.id] = poll
        loop = asyncio.get_running_loop()
        if poll.open_period is not None:
            poll.timer = loop.call_later(poll.open_period, self._close_poll, poll.id)
        elif poll.close_date is not None:
            delay = max(0.0, poll.close_date - time.time())
            poll.timer = loop.call_later(delay, self._close_poll, poll.id)
        return self._message_json(msg)

    async def api_stopPoll(self, p: JSON, f: dict[str, UploadedFile]) -> Any:
        chat = self._chat(p.get("chat_id"))
        msg = chat.messages.get(int(p.get("message_id") or 0))
        if msg is None or msg.deleted or msg.poll is None or not msg.from_bot:
            raise _bad("message with poll to stop not found")
        poll = self._polls[str(msg.poll["id"])]
        if poll.is_closed:
            raise _bad("poll has already been closed")
        markup = self._markup(p.get("reply_markup"), inline_only=True)
        msg.reply_markup = markup
        self._close_poll(poll.id)
        return poll.to_json()
