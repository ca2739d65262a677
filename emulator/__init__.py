"""Local Telegram Bot API emulator for end-to-end tests and demos.

Start :class:`BotAPIEmulator`, point PTB at ``emu.base_url`` / ``emu.base_file_url`` and act
as Telegram users with :meth:`BotAPIEmulator.user` / :meth:`BotAPIEmulator.group`.
See :mod:`emulator.server` for the full usage notes.
"""

from .html import HTMLParseError, parse_html, utf16_len
from .models import BotMessage, Button, CallbackAnswer, RateLimits, RecordedRequest
from .server import ApiError, BotAPIEmulator, BotUser, EmulatedGroup, EmulatedUser

__all__ = [
    "ApiError",
    "BotAPIEmulator",
    "BotMessage",
    "BotUser",
    "Button",
    "CallbackAnswer",
    "EmulatedGroup",
    "EmulatedUser",
    "HTMLParseError",
    "RateLimits",
    "RecordedRequest",
    "parse_html",
    "utf16_len",
]
