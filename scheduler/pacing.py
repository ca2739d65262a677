"""Broadcast pacing: about 30 messages/s overall and 1/s per chat, by computed waits
(a token schedule), never a fixed ``sleep`` after each message."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Hands out send slots ``1/rate`` seconds apart, and per chat ``1/per_chat`` apart.
    ``acquire`` reserves a slot synchronously and then waits for it, so concurrent
    callers get distinct slots.

    ``catch_up`` (seconds): slots missed while the caller was busy (a database round
    trip between two groups of a broadcast) may be used up to this long after their
    time, so a short stall does not lower the average rate; 0 = never (each slot is at
    least ``1/rate`` after the previous one)."""

    def __init__(self, rate: float = 30.0, per_chat: float = 1.0, catch_up: float = 0.0) -> None:
        if rate <= 0 or per_chat <= 0 or catch_up < 0:
            raise ValueError("rates must be positive")
        self.rate = rate
        self.per_chat = per_chat
        self.catch_up = catch_up
        self._next = 0.0
        self._chat_next: dict[int, float] = {}
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nobody sends before then."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def reserve(self, chat_id: int | None = None) -> float:
        """Reserve the next slot (a ``time.monotonic()`` time) without waiting for it."""
        now = time.monotonic()
        slot = max(now - self.catch_up, self._next, self._paused_until)
        if chat_id is not None:
            slot = max(slot, self._chat_next.get(chat_id, 0.0))
            self._chat_next[chat_id] = slot + 1.0 / self.per_chat
            if len(self._chat_next) > 10_000:
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        self._next = slot + 1.0 / self.rate
        return slot

    async def acquire(self, chat_id: int | None = None) -> None:
        await wait_until(self.reserve(chat_id))


async def wait_until(slot: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``slot`` (at once if it has)."""
    delay = slot - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
