"""Calls in the handler's order while a button press is answered concurrently.

``handlers.common.answer_callback`` sends the answer to a button press as a task, so the
update's work that follows it (its SQL, rendering, the commit) does not wait for
Telegram. The update's next Bot API call waits for that answer first (this request, in
front of PTB's own), so Telegram still sees the calls in the order the handler made
them: the press is answered before the message is edited or the reply sent."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.context import CURRENT_SCOPE

#: Set inside the task that sends an answer: that call must not wait for itself.
IN_ANSWER: ContextVar[bool] = ContextVar("branchbot_in_answer", default=False)


class AnswerFirst(BaseRequest):
    """``inner`` (PTB's ``HTTPXRequest``, or a test's recording request), except that a
    call made while this update's answer to a button press is on its way waits for it."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        scope = CURRENT_SCOPE.get()
        if scope is not None and scope.pending and not IN_ANSWER.get():
            await scope.settle()
        return await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
