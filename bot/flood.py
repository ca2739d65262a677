# i18n-domain: safety
"""The per-user flood throttle, in front of the per-update work.

Updates are handled one at a time (one transaction each, a chat's updates in order):
one member sending hundreds of messages in a burst would hold every other user behind
them, and the replies to the flooder would queue on Telegram's per-chat limit. Each user
gets a leaky bucket (``aiolimiter.AsyncLimiter``: ``burst`` updates per ``period``
seconds); an update beyond it is dropped before any database work, and the user is told
once per streak, in their language, to slow down. Other users are served as usual.

The buckets live in memory (per process): a throttle protects this process's time; a
restart forgets them, which is harmless."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from locales.i18n import N_

#: The answer to a user whose updates are being dropped (sent once per streak).
FLOOD_NOTICE = N_(
    "⏳ You are sending messages faster than I can handle, so I am ignoring them for a "
    "moment. Please wait a minute, then send your last message again."
)

#: Updates in the bucket from which a user is "hot" (Telegram's per-chat burst).
HOT = 3

#: Buckets kept at most; the least recently seen are forgotten first.
MAX_USERS = 10_000


@dataclass
class _Entry:
    limiter: AsyncLimiter
    seen: float
    warned: bool = False


class FloodThrottle:
    """``admit(user_id)``: True if this user's update should be handled now."""

    def __init__(self, burst: int, period: float, *, max_users: int = MAX_USERS) -> None:
        self.burst = burst
        self.period = period
        self.max_users = max_users
        self._users: OrderedDict[int, _Entry] = OrderedDict()
        self.dropped = 0

    def reset(self, burst: int, period: float) -> None:
        """New limits; every user starts with an empty bucket."""
        self.burst, self.period = burst, period
        self._users.clear()
        self.dropped = 0

    def _entry(self, user_id: int) -> _Entry:
        now = time.monotonic()
        entry = self._users.get(user_id)
        if entry is None:
            entry = _Entry(AsyncLimiter(self.burst, self.period), now)
            self._users[user_id] = entry
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)
        else:
            entry.seen = now
            self._users.move_to_end(user_id)
        return entry

    async def admit(self, user_id: int) -> bool:
        entry = self._entry(user_id)
        if entry.limiter.has_capacity():
            await entry.limiter.acquire()  # does not wait: there is capacity
            entry.warned = False
            return True
        self.dropped += 1
        return False

    def is_hot(self, user_id: int) -> bool:
        """True while this user has sent more than Telegram's per-chat burst (about 3
        messages) faster than they drain: replies to them must not wait out a 429."""
        entry = self._users.get(user_id)
        return entry is not None and not entry.limiter.has_capacity(max(1, self.burst - HOT))

    def should_warn(self, user_id: int) -> bool:
        """True once per streak of dropped updates (then False until one is admitted)."""
        entry = self._entry(user_id)
        if entry.warned:
            return False
        entry.warned = True
        return True
