"""Last-resort error handling: log, roll back the update's transaction, tell the user."""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.context import CURRENT_SCOPE, BranchApp, BranchContext
from handlers.common import answer_callback, reply, split_text
from handlers.registry import Registry

log = logging.getLogger(__name__)


def register(app: BranchApp, registry: Registry) -> None:
    app.add_error_handler(on_error)
    # Any callback no feature claimed: forged, or from a removed feature.
    app.add_handler(CallbackQueryHandler(stale_button), group=0)


async def stale_button(update: Update, ctx: BranchContext) -> None:
    log.info(
        "unclaimed callback data %r from %s",
        update.callback_query and update.callback_query.data,
        update.effective_user and update.effective_user.id,
    )
    await answer_callback(update, ctx.gettext("This button is no longer valid."), alert=True)


async def on_error(update: object, ctx: BranchContext) -> None:
    scope = CURRENT_SCOPE.get()
    if scope is not None:
        scope.failed = True
    log.error("error while handling an update", exc_info=ctx.error)
    if not isinstance(update, Update):
        return
    text = ctx.gettext(
        "Sorry, something went wrong on my side and nothing was changed. "
        "Please try again in a moment."
    )
    try:
        if update.callback_query is not None:
            await answer_callback(update, text, alert=True)
        elif update.effective_chat is not None:
            await reply(update, ctx, text)
    except TelegramError:
        log.exception("could not tell the user about the error")
    admin_chat = ctx.runtime.settings.admin_chat_id
    if admin_chat is not None and ctx.error is not None:
        trace = "".join(traceback.format_exception(ctx.error))
        for part in split_text(html.escape(trace, quote=False), 3000):
            try:
                await ctx.bot.send_message(admin_chat, f"<pre>{part}</pre>", parse_mode="HTML")
            except TelegramError:
                log.exception("could not report the error to the admin chat")
                break
