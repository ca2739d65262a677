"""The delivery task: re-sends replies and notices Telegram did not accept earlier, and
sends what was queued to go out at once (a published ranking)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.runtime import Runtime
from domain.deliveries import DueDelivery
from domain.texts import CAPTION_LIMIT, truncate_html

log = logging.getLogger(__name__)


async def _send_photo(
    app: Any, runtime: Runtime, item: DueDelivery, markup: InlineKeyboardMarkup | None
) -> None:
    """A stored picture with ``item.text`` as caption: uploaded the first time, then
    sent by the file id Telegram gave (recorded for every instance)."""
    assert item.photo_id is not None
    async with runtime.unit_of_work() as svc:
        file_id, data = await svc.deliveries.photo(item.photo_id)
    if file_id is None and data is None:
        raise BadRequest("the delivery's picture is gone")
    message = await app.bot.send_photo(
        item.chat_id,
        file_id or data,
        caption=truncate_html(item.text, CAPTION_LIMIT),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )
    if file_id is None and message.photo:
        async with runtime.unit_of_work() as svc:
            await svc.deliveries.photo_uploaded(item.photo_id, message.photo[-1].file_id)


async def deliver_due(app: Any) -> int:
    """Send what is due (one batch); returns how many were sent."""
    _claimed, sent = await _deliver_batch(app)
    return sent


async def _deliver_batch(app: Any) -> tuple[int, int]:
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
            if item.photo_id is not None:
                await _send_photo(app, runtime, item, markup)
            else:
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
    return len(due), sent


async def drain(app: Any) -> int:
    """Send everything due now, batch after batch (after an update queued a broadcast);
    returns how many were sent. What Telegram refuses for now waits for its backoff and
    the periodic task."""
    total = 0
    while True:
        claimed, sent = await _deliver_batch(app)
        total += sent
        if not claimed:
            return total
