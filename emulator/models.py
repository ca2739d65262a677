"""Dataclasses used by the Bot API emulator (public test-side views and internal state)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BotMessage",
    "Button",
    "CallbackAnswer",
    "Fault",
    "RateLimits",
    "RecordedRequest",
    "StoredFile",
    "UploadedFile",
]

JSON = dict[str, Any]


@dataclass
class RateLimits:
    """Flood limits enforced by the emulator (token buckets; ``None``/0 disables one).

    ``per_chat_burst`` is how many messages may be sent to one chat back to back before the
    ``per_chat_per_second`` pace applies. ``tolerance`` (seconds) absorbs network jitter, so a
    client pacing at exactly the limit (e.g. PTB's ``AIORateLimiter``) is never rejected.
    """

    global_per_second: float | None = 30.0
    #: The paid-broadcast ceiling: a send with ``allow_paid_broadcast`` counts against
    #: this one (Telegram: up to 1,000/s, 0.1 Star per message over the free limit)
    #: instead of ``global_per_second``.
    paid_per_second: float | None = 1000.0
    per_chat_per_second: float | None = 1.0
    per_group_per_minute: float | None = 20.0
    per_chat_burst: float = 3.0
    tolerance: float = 0.05


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0


@dataclass
class RecordedRequest:
    method: str
    params: dict[str, Any]
    time: float
    status: int
    files: dict[str, UploadedFile] = field(default_factory=dict)
    description: str | None = None

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        desc = f" {self.description!r}" if self.description else ""
        return f"<{self.method} {self.status}{desc} {shown}>"


@dataclass
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None = None
    cache_time: int | None = None

    def __getitem__(self, key: str) -> Any:  # dict-style access for convenience
        return getattr(self, key)


@dataclass
class Fault:
    method: str | None
    status: int | None
    count: int
    retry_after: int | None
    drop_connection: bool
    delay: float
    after_effect: bool


@dataclass(eq=False)
class BotMessage:
    """Current state of a message stored by the emulator (edits applied in place).

    ``text`` is what the user sees: the text or caption *after* HTML parsing; ``raw_text`` is
    exactly what the bot sent. ``edits`` holds the previous visible texts, oldest first.
    """

    message_id: int
    chat_id: int
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    photo: bytes | None = None
    document: tuple[str, str, bytes] | None = None
    edits: list[str] = field(default_factory=list)
    deleted: bool = False
    poll: JSON | None = None
    date: int = field(default_factory=lambda: int(time.time()))
    from_bot: bool = True
    sender_id: int = 0
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    is_caption: bool = False
    media: JSON = field(default_factory=dict)  # Telegram JSON of photo/document/poll etc.
    extra: JSON = field(default_factory=dict)  # forward_origin and other raw fields
    markup_edits: int = 0

    @property
    def caption(self) -> str | None:
        return self.text if self.is_caption else None

    @property
    def buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [
                Button(str(b.get("text", "")), b.get("callback_data"), b.get("url"))
                for b in row
                if isinstance(b, dict)
            ]
            for row in rows
            if isinstance(row, list)
        ]

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons for b in row]

    @property
    def keyboard(self) -> list[list[str]]:
        """Texts of a reply (non-inline) keyboard, if any."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows]

    def __repr__(self) -> str:
        flags = " deleted" if self.deleted else ""
        kind = next(iter(self.media), "text")
        return (
            f"<BotMessage #{self.message_id} chat={self.chat_id} {kind}{flags} "
            f"text={self.text!r} buttons={self.button_texts}>"
        )
