"""Join and binding codes: short, unambiguous, valid as Telegram deep-link payloads."""

from __future__ import annotations

import re
import secrets

#: No 0/O, 1/I/L: codes are read aloud and typed from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
BRANCH_CODE_LENGTH = 8
PERSONAL_CODE_LENGTH = 10
_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_code(text: str) -> str | None:
    """A code as typed or from a deep link, or None if it cannot be one."""
    text = text.strip()
    if not _CODE_RE.match(text):
        return None
    return text.upper()
