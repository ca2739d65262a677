"""Mini App initData validation as Telegram specifies it, and the session tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.webapp_auth import (
    InitDataError,
    issue_session,
    make_init_data,
    read_session,
    validate_init_data,
)

TOKEN = "123456:TEST-TOKEN"
NOW = 1_800_000_000.0


def telegram_reference(fields: dict[str, str], token: str) -> str:
    """Telegram's documented algorithm, written out independently of the module."""
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def fields_for(user_id: int = 42, auth_date: float = NOW) -> dict[str, str]:
    user = {"id": user_id, "first_name": "王书记", "language_code": "zh-hans"}
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, ensure_ascii=False),
        "auth_date": str(int(auth_date)),
        "signature": "c2lnbmF0dXJl",
    }


def signed(fields: dict[str, str], token: str = TOKEN) -> str:
    return urlencode({**fields, "hash": telegram_reference(fields, token)})


def test_valid_init_data_gives_the_user() -> None:
    user = validate_init_data(signed(fields_for()), TOKEN, max_age=3600, now=NOW + 10)
    assert (user.id, user.first_name, user.language_code) == (42, "王书记", "zh-hans")
    assert user.auth_date == int(NOW)


def test_make_init_data_matches_telegrams_algorithm() -> None:
    data = make_init_data(TOKEN, 7, "李明", auth_date=int(NOW))
    fields = dict(parse_qsl(data))
    given = fields.pop("hash")
    assert given == telegram_reference(fields, TOKEN)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.replace("%E7%8E%8B", "%E6%9D%8E"), "bad signature"),  # name changed
        (lambda d: d + "&extra=1", "bad signature"),
        (lambda d: d.split("&hash=")[0], "bad signature"),
        (lambda d: d.split("&hash=")[0] + "&hash=" + "0" * 64, "bad signature"),
        (lambda d: "", "missing or too long"),
        (lambda d: d + "&x=" + "a" * 5000, "missing or too long"),
        (lambda d: d + "&auth_date=1", "repeated field"),
        (lambda d: "%%%", "malformed"),
    ],
)
def test_forged_init_data_refused(mutate: object, reason: str) -> None:
    data = signed(fields_for())
    with pytest.raises(InitDataError) as err:
        validate_init_data(mutate(data), TOKEN, max_age=3600, now=NOW)  # type: ignore[operator]
    assert err.value.reason == reason


def test_other_bots_token_refused() -> None:
    data = signed(fields_for(), "999:OTHER")
    with pytest.raises(InitDataError, match="bad signature"):
        validate_init_data(data, TOKEN, max_age=3600, now=NOW)


def test_expired_and_future_init_data_refused() -> None:
    old = signed(fields_for(auth_date=NOW - 3601))
    with pytest.raises(InitDataError, match="expired"):
        validate_init_data(old, TOKEN, max_age=3600, now=NOW)
    assert validate_init_data(
        signed(fields_for(auth_date=NOW - 3599)), TOKEN, max_age=3600, now=NOW
    )
    future = signed(fields_for(auth_date=NOW + 3600))
    with pytest.raises(InitDataError, match="future"):
        validate_init_data(future, TOKEN, max_age=3600, now=NOW)


def test_signed_but_userless_init_data_refused() -> None:
    fields = fields_for()
    fields["user"] = "not json"
    with pytest.raises(InitDataError, match="no user"):
        validate_init_data(signed(fields), TOKEN, max_age=3600, now=NOW)


def test_session_tokens() -> None:
    token = issue_session(TOKEN, 42, ttl=60, now=NOW)
    assert read_session(TOKEN, token, now=NOW + 59) == 42
    with pytest.raises(InitDataError, match="expired"):
        read_session(TOKEN, token, now=NOW + 61)
    user, expiry, mac = token.split(".")
    for forged in (f"43.{expiry}.{mac}", f"{user}.{int(expiry) + 999}.{mac}", "x", ""):
        with pytest.raises(InitDataError, match="bad session"):
            read_session(TOKEN, forged, now=NOW)
    with pytest.raises(InitDataError, match="bad session"):
        read_session("999:OTHER", token, now=NOW)
