"""A small typed codec for callback data: ``prefix:id:action[:arg]``.

Telegram limits callback data to 64 bytes; only ids and short ASCII go in it, never text.
Callback data comes from the client and is never trusted: handlers re-check rights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
#: Ids are database keys (signed 64-bit): anything larger is forged.
MAX_ID = 2**63 - 1
# ASCII only: ``\d`` would also take other scripts' digits ("١٢"), which int() accepts.
_RE = re.compile(
    r"(?P<prefix>[a-z]{1,8}):(?P<id>[0-9]{1,19}):(?P<action>[a-z_]{1,16})"
    r"(?::(?P<arg>[A-Za-z0-9_.-]{1,24}))?",
    re.ASCII,
)


@dataclass(frozen=True)
class Callback:
    prefix: str
    id: int
    action: str
    arg: str | None = None

    def pack(self) -> str:
        data = f"{self.prefix}:{self.id}:{self.action}"
        if self.arg:
            data += f":{self.arg}"
        if len(data.encode()) > MAX_CALLBACK_BYTES or parse(data) != self:
            raise ValueError(f"bad callback data {data!r}")
        return data


def parse(data: str | None) -> Callback | None:
    """The callback, or None when the data is malformed (forged or from an old build)."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_CALLBACK_BYTES:
        return None
    match = _RE.fullmatch(data)  # not match(): "$" would let a trailing newline through
    if match is None or int(match["id"]) > MAX_ID:
        return None
    return Callback(match["prefix"], int(match["id"]), match["action"], match["arg"])


def pattern(prefix: str) -> str:
    """The ``CallbackQueryHandler`` pattern for one prefix."""
    return rf"^{re.escape(prefix)}:"
