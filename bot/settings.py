"""Process configuration from the environment or `.env`, validated once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLE_PROGRAM = Path(__file__).parent / "programs" / "coffee.toml"


class Settings(BaseSettings):
    """Every setting the operator can change; names match PRODUCT.md and .env.example."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///./loyalty.db"
    loyalty_program: Path = EXAMPLE_PROGRAM
    loyalty_admins: str = ""
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    pos_webhook_secret: str | None = None

    @field_validator("loyalty_admins")
    @classmethod
    def _admins_well_formed(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            platform, _, external_id = entry.partition(":")
            if not platform or not external_id:
                raise ValueError(f"{entry!r} is not platform:id (e.g. telegram:123456)")
        return value

    @property
    def admins(self) -> list[tuple[str, str]]:
        """Bootstrap admins as (platform, external id) pairs."""
        entries = filter(None, (part.strip() for part in self.loyalty_admins.split(",")))
        return [tuple(entry.split(":", 1)) for entry in entries]  # type: ignore[misc]

    @property
    def has_chat_platform(self) -> bool:
        """True when Telegram or Slack is configured."""
        return bool(self.telegram_bot_token or self.slack_bot_token)
