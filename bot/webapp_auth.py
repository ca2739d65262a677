"""Telegram Mini App authentication, exactly as Telegram specifies it
("Validating data received via the Mini App"):

- ``initData`` is a query string; every field but ``hash``, sorted by key, as
  ``key=value`` lines joined by ``\\n``, is the *data-check-string*;
- ``secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token)``;
- ``hash == hex(HMAC_SHA256(key=secret_key, msg=data_check_string))``, compared in
  constant time; and ``auth_date`` must be recent (``max_age`` seconds).

A valid initData is exchanged once (its hash is recorded, so a replay is refused) for a
short session token the page sends with its API calls: ``USER.EXPIRY.MAC``, the
MAC an HMAC-SHA256 keyed from the bot token (nothing stored on the server)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

MAX_INIT_DATA = 4096


class InitDataError(Exception):
    """initData refused: ``reason`` says why (for the log and the JSON answer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    id: int
    first_name: str
    language_code: str | None
    auth_date: int
    hash: str


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def _signature(fields: dict[str, str], token: str) -> str:
    """The ``hash`` Telegram puts in initData with these fields."""
    return hmac.new(_secret(token), _check_string(fields).encode(), hashlib.sha256).hexdigest()


def sign_init_data(fields: dict[str, str], token: str) -> str:
    """initData as Telegram would build it for these fields (tests, the demo)."""
    return urlencode({**fields, "hash": _signature(fields, token)})


def make_init_data(
    token: str, user_id: int, first_name: str = "", *, auth_date: int | None = None, **user: object
) -> str:
    """A signed initData for one user (tests, the demo)."""
    payload = {"id": user_id, "first_name": first_name, **user}
    return sign_init_data(
        {
            "query_id": f"AA{user_id}{time.time_ns()}",
            "user": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        },
        token,
    )


def validate_init_data(init_data: str, token: str, *, max_age: int, now: float) -> WebAppUser:
    if not init_data or len(init_data) > MAX_INIT_DATA:
        raise InitDataError("missing or too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("repeated field")
    given = fields.get("hash", "")
    if not hmac.compare_digest(given.encode(), _signature(fields, token).encode()):
        raise InitDataError("bad signature")
    try:
        auth_date = int(fields.get("auth_date", ""))
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, KeyError, TypeError):
        raise InitDataError("no user") from None
    if now - auth_date > max_age:
        raise InitDataError("expired")
    if auth_date - now > 60:
        raise InitDataError("from the future")
    return WebAppUser(
        id=user_id,
        first_name=str(user.get("first_name") or ""),
        language_code=user.get("language_code")
        if isinstance(user.get("language_code"), str)
        else None,
        auth_date=auth_date,
        hash=given,
    )


def _session_mac(token: str, body: str) -> str:
    key = hmac.new(b"BranchbotWebAppSession", token.encode(), hashlib.sha256).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def issue_session(token: str, user_id: int, *, ttl: int, now: float) -> str:
    body = f"{user_id}.{int(now) + ttl}"
    return f"{body}.{_session_mac(token, body)}"


def read_session(token: str, session: str, *, now: float) -> int:
    """The Telegram user id of a valid, unexpired session token."""
    parts = session.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise InitDataError("bad session")
    mac = _session_mac(token, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(mac.encode(), parts[2].encode()):
        raise InitDataError("bad session")
    if int(parts[1]) < now:
        raise InitDataError("session expired")
    return int(parts[0])
