"""The delivery task: re-sends replies and notices Telegram did not accept earlier."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.runtime import Runtime

log = logging.getLogger(__name__)


async def deliver_due(app: Any) -> int:
    """Send what is due; returns how many were sent."""
    runtime: Runtime = app.bot_data["runtime"]
    async with runtime.unit_of_work() as svc:
        due = await svc.deliveries.claim_due()
    sent = 0
    for item in due:
        markup = (
            InlineKeyboardMarkup.de_json(item.reply_markup, app.bot) if item.reply_markup else None
        )
        outcome, error = "sent", None
        try:
            await app.bot.send_message(
                item.chat_id, item.text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
            sent += 1
        except Forbidden as exc:
            outcome, error = "blocked", str(exc)
        except BadRequest as exc:  # will never succeed
            outcome, error = "failed", str(exc)
        except TelegramError as exc:
            outcome, error = "retry", str(exc)
        async with runtime.unit_of_work() as svc:
            await svc.deliveries.finish(item.id, outcome, error)
            if outcome == "blocked":
                await svc.membership.mark_blocked(item.chat_id)
        if outcome != "sent":
            log.warning("delivery %s to %s: %s (%s)", item.id, item.chat_id, outcome, error)
    return sent
