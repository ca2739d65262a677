"""Typed settings read from the environment (and an optional ``.env`` file)."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_API_BASE_FILE_URL = "https://api.telegram.org/file/bot"


class SettingsError(RuntimeError):
    """A missing or malformed setting, described in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(default=DEFAULT_API_BASE_URL, alias="TELEGRAM_API_BASE_URL")
    telegram_api_base_file_url: str = Field(
        default=DEFAULT_API_BASE_FILE_URL, alias="TELEGRAM_API_BASE_FILE_URL"
    )
    database_url: str = Field(default="sqlite:///branchbot.sqlite3", alias="DATABASE_URL")
    timezone: str = Field(default="Asia/Shanghai", alias="BRANCHBOT_TIMEZONE")
    storage_dir: Path = Field(default=Path("storage"), alias="BRANCHBOT_STORAGE_DIR")
    admin_chat_id: int | None = Field(default=None, alias="BRANCHBOT_ADMIN_CHAT_ID")
    log_level: str = Field(default="INFO", alias="BRANCHBOT_LOG_LEVEL")
    log_format: str = Field(default="text", alias="BRANCHBOT_LOG_FORMAT")
    retry_backoff: float = Field(default=0.5, ge=0.0, le=30.0, alias="BRANCHBOT_RETRY_BACKOFF")
    webhook_url: str | None = Field(default=None, alias="BRANCHBOT_WEBHOOK_URL")
    webhook_listen: str = Field(default="127.0.0.1:8080", alias="BRANCHBOT_WEBHOOK_LISTEN")
    webhook_secret: SecretStr | None = Field(default=None, alias="BRANCHBOT_WEBHOOK_SECRET")
    #: Reminders missed by more than this (the bot was down) are skipped, not sent late.
    reminder_grace_hours: float = Field(
        default=6.0, ge=0.0, le=168.0, alias="BRANCHBOT_REMINDER_GRACE_HOURS"
    )
    #: How often the reminder dispatcher looks for due reminders; 0 = never (tests).
    reminder_tick_seconds: float = Field(
        default=15.0, ge=0.0, le=3600.0, alias="BRANCHBOT_REMINDER_TICK_SECONDS"
    )
    #: Messages a second for reminder broadcasts. Telegram allows about 30 for free;
    #: above 30 the reminders are sent as paid broadcasts (``allow_paid_broadcast``, up
    #: to 1,000/s; Telegram charges 0.1 Star per message beyond the free limit, from the
    #: bot's Star balance).
    broadcast_rate: float = Field(default=30.0, gt=0.0, le=1000.0, alias="BRANCHBOT_BROADCAST_RATE")
    #: The scheduler lease's time to live (seconds): with several instances, another
    #: takes over the periodic tasks this long after the leader died.
    lease_seconds: float = Field(default=30.0, ge=1.0, le=600.0, alias="BRANCHBOT_LEASE_SECONDS")
    #: The Mini App dashboard: where its server listens (unset: no server), the public
    #: https URL Telegram opens, and how old an initData may be (seconds).
    webapp_listen: str | None = Field(default=None, alias="BRANCHBOT_WEBAPP_LISTEN")
    webapp_url: str | None = Field(default=None, alias="BRANCHBOT_WEBAPP_URL")
    webapp_max_age: int = Field(default=3600, ge=30, le=86400, alias="BRANCHBOT_WEBAPP_MAX_AGE")
    #: Thought reports (texts and files) one member may hand in for one period.
    report_quota: int = Field(default=10, ge=1, le=1000, alias="BRANCHBOT_REPORT_QUOTA")
    #: Flood throttle (a leaky bucket per user): ``flood_burst`` updates at once, then one
    #: every ``flood_period / flood_burst`` seconds (10 / 20 s: one every 2 s, within
    #: Telegram's pace of about one reply a second per chat, so replies to a fast user do
    #: not queue); beyond it their updates are dropped (told once), others are served.
    flood_burst: int = Field(default=10, ge=1, le=10_000_000, alias="BRANCHBOT_FLOOD_BURST")
    flood_period: float = Field(default=20.0, gt=0.0, le=3600.0, alias="BRANCHBOT_FLOOD_PERIOD")

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        head, sep, tail = token.partition(":")
        if not sep or not head.isdigit() or not tail:
            raise ValueError("must look like 123456:ABC… (the token BotFather gave you)")
        return SecretStr(token)

    @field_validator("telegram_api_base_url", "telegram_api_base_file_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be the public https:// URL Telegram posts updates to")
        return value.strip()

    @field_validator("webhook_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("webapp_listen")
    @classmethod
    def _check_webapp_listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_listen(value)
        return value.strip()

    @field_validator("webapp_url")
    @classmethod
    def _check_webapp_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        local = value.startswith(("http://127.0.0.1", "http://localhost"))
        if not (value.startswith("https://") or local):
            raise ValueError("must be an https:// URL (Telegram opens Mini Apps only over https)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value().strip()):
            raise ValueError("may only contain A-Z, a-z, 0-9, _ and - (1 to 256 characters)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("log_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        if value.lower() not in {"text", "json"}:
            raise ValueError("must be text or json")
        return value.lower()

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6; ``:8080`` listens on all interfaces)."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = err.get("loc") or ()
            name = str(loc[0]) if loc else "setting"
            field = Settings.model_fields.get(name)
            env = field.alias if field is not None and field.alias else name.upper()
            parts.append(f"{env}: {err.get('msg', 'invalid')}")
        raise SettingsError("invalid setting — " + "; ".join(parts)) from None
