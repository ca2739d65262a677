"""Typed settings read from the environment (and an optional ``.env`` file)."""

from __future__ import annotations

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
