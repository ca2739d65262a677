"""Rendering helpers shared by all handlers."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import BranchContext
from bot.i18n import translator
from domain.errors import DomainError
from handlers.callbacks import Callback
from store.repositories import get_account

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
Gettext = Callable[[str], str]


def esc(value: object) -> str:
    """Escape user-provided text for HTML parse mode."""
    return html.escape(str(value), quote=False)


def button(text: str, callback: Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callback.pack())


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(r) for r in rows])


def render_error(ctx: BranchContext, error: DomainError) -> str:
    params = {k: esc(v) for k, v in error.params.items()}
    return ctx.gettext(error.msgid).format(**params)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a long message at line breaks so each part fits Telegram's limit."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


async def reply(
    update: Update,
    ctx: BranchContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | None:
    """Answer in the chat the update came from (HTML), splitting over-long text.

    If Telegram does not take the message (network error, 5xx after the limiter's
    retries), it is queued for the delivery task instead of failing the update: the
    user's action is kept, and the answer arrives late rather than never."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await send_html(ctx, chat.id, text, markup, **kwargs)


async def send_html(
    ctx: BranchContext,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | None:
    parts = split_text(text)
    sent: Message | None = None
    for index, part in enumerate(parts):
        part_markup = markup if index == len(parts) - 1 else None
        try:
            sent = await ctx.bot.send_message(
                chat_id, part, parse_mode=ParseMode.HTML, reply_markup=part_markup, **kwargs
            )
        except Forbidden as exc:
            log.warning("cannot message %s: %s", chat_id, exc)
            await ctx.svc.membership.mark_blocked(chat_id)
            return None
        except BadRequest:
            raise  # our mistake (bad HTML, bad markup): surface it
        except TelegramError as exc:
            log.warning("message to %s not accepted (%s); queued for retry", chat_id, exc)
            for rest_index, rest in enumerate(parts[index:], start=index):
                rest_markup = markup if rest_index == len(parts) - 1 else None
                await ctx.svc.deliveries.queue(
                    chat_id, rest, rest_markup.to_dict() if rest_markup else None, str(exc)
                )
            return None
    return sent


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message a button was pressed on; cosmetic, so failures are only logged."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except TelegramError as exc:
        log.info("edit failed: %s", exc)


async def answer_callback(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text=text, show_alert=alert)
    except TelegramError as exc:  # too old / already answered / network: nothing to do
        log.info("callback answer failed: %s", exc)


async def locale_of(ctx: BranchContext, telegram_user_id: int) -> str:
    """The language another user reads (for notifications)."""
    from bot.i18n import negotiate_locale

    account = await get_account(ctx.svc.session, telegram_user_id)
    if account is None:
        return negotiate_locale(None)
    return account.locale or negotiate_locale(account.language_code)


async def notify(
    ctx: BranchContext,
    telegram_user_id: int,
    render: Callable[[Gettext], tuple[str, InlineKeyboardMarkup | None]],
) -> Message | None:
    """Send another user a message in their language. A user who blocked the bot or
    never started it is recorded and skipped; the current update still succeeds."""
    locale = await locale_of(ctx, telegram_user_id)
    text, markup = render(translator(locale).gettext)
    try:
        return await send_html(ctx, telegram_user_id, text, markup)
    except BadRequest as exc:  # e.g. chat not found: the user never started the bot
        log.warning("cannot message %s: %s", telegram_user_id, exc)
        return None
