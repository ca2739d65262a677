"""Rate limiting and retries for Bot API calls.

PTB's ``AIORateLimiter`` paces requests (30/s overall, 20/min per group) and retries
``429 Too Many Requests`` after ``retry_after``. This subclass also retries:

* a 5xx answer (Telegram did not take the request) — any method;
* a lost connection or a timeout — only methods that are safe to repeat (reads, edits,
  answers, settings). A ``send*`` whose answer was lost may have been delivered, so it is
  not repeated here; the caller decides (see ``handlers.common.reply`` and the reminder
  outbox's "unknown" state).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

_SAFE_PREFIXES = ("get", "answer", "edit", "delete", "set", "stop", "close", "log")
_SERVER_ERRORS = ("bad gateway", "internal server error", "service unavailable",
                  "gateway timeout", "(500)", "(502)", "(503)", "(504)")  # fmt: skip


def is_server_error(exc: BaseException) -> bool:
    """A 5xx answer from the Bot API (as PTB reports it)."""
    if not isinstance(exc, NetworkError) or isinstance(exc, TimedOut):
        return False
    if isinstance(exc, (BadRequest, Forbidden, RetryAfter)):
        return False
    message = str(exc).lower()
    return any(marker in message for marker in _SERVER_ERRORS)


def is_safe_to_repeat(endpoint: str) -> bool:
    return endpoint.startswith(_SAFE_PREFIXES) and endpoint != "getUpdates"


class RetryingRateLimiter(AIORateLimiter):
    def __init__(self, *, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network_retries = network_retries
        self.backoff = backoff
        #: Chats whose messages must not wait out a 429 (``bot.flood``: a user sending
        #: faster than Telegram's per-chat pace). PTB's limiter pauses *every* request
        #: while it waits out one 429, so replies to a flooder would hold up all users:
        #: for these chats a 429 is raised at once, and the reply goes to the delivery
        #: queue (``handlers.common.send_html``), re-sent later.
        self.impatient: Callable[[int], bool] = lambda chat_id: False

    def _is_impatient(self, endpoint: str, data: dict[str, Any]) -> bool:
        chat_id = data.get("chat_id")
        return (
            endpoint.startswith("send")
            and isinstance(chat_id, int)
            and chat_id > 0
            and self.impatient(chat_id)
        )

    async def process_request(  # type: ignore[override]
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Coroutine[Any, Any, Any] | Any:
        if self._is_impatient(endpoint, data):
            return await callback(*args, **kwargs)
        for attempt in range(self.network_retries + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, Forbidden, RetryAfter):
                raise
            except NetworkError as exc:
                retry = is_server_error(exc) or is_safe_to_repeat(endpoint)
                if not retry or attempt == self.network_retries:
                    raise
                delay = self.backoff * (2**attempt)
                log.warning("%s failed (%s); retry %d in %.1fs", endpoint, exc, attempt + 1, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
