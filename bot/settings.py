"""Process configuration from the environment or `.env`, validated once at start-up.

This is the environment's boundary: a setting that is missing its partner (a webhook URL
without its secret, a signing secret without a bot token), a secret left as a placeholder, or
a value of the wrong shape stops the start with one line that names it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXAMPLE_PROGRAM = Path(__file__).parent / "programs" / "coffee.toml"
DEVELOPMENT = "development"

# Secrets the operator makes up (or copies from Slack): refused when short or a known
# placeholder, outside development.
SECRETS = (
    "telegram_webhook_secret",
    "slack_signing_secret",
    "pos_webhook_secret",
    "metrics_token",
    "privacy_key",
)
SHORTEST_SECRET = 16
# Tokens the platforms issue, by the shape they have.
TOKEN_SHAPES = {
    "telegram_bot_token": re.compile(r"[0-9]{5,}:[A-Za-z0-9_-]{30,}"),
    "slack_bot_token": re.compile(r"xoxb-[A-Za-z0-9-]{10,}"),
    "slack_app_token": re.compile(r"xapp-[A-Za-z0-9-]{10,}"),
}
# Telegram accepts only these characters in a webhook secret (setWebhook's secret_token).
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_PLACEHOLDER = re.compile(
    r"(change[-_ ]?me|changeit|replace[-_ ]?me|secret|password|passw0rd|token|placeholder"
    r"|example|sample|dummy|test(ing)?|default|todo|fixme|none|null|your[-_ a-z]*|x+|\.+|\*+"
    r"|0+|1234\d*|abc(def)?|<.*>|\{.*\}|\[.*\])",
    re.IGNORECASE,
)
_OPTIONAL = (
    "telegram_bot_token",
    "telegram_webhook_url",
    "telegram_webhook_secret",
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "pos_webhook_secret",
    "metrics_token",
    "privacy_key",
)


class Settings(BaseSettings):
    """Every setting the operator can change; names match PRODUCT.md and .env.example."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///./loyalty.db"
    loyalty_program: Path = EXAMPLE_PROGRAM
    loyalty_admins: str = ""
    loyalty_env: str = "production"
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
    metrics_token: str | None = None
    # How often a worker that does not lead tries to take over the scheduler (and how soon
    # after a leader dies another one runs the jobs).
    scheduler_elect_seconds: float = Field(default=60, gt=0, le=3600)
    # How long a claimed outbox row is hidden from other dispatchers: after a crash, its rows
    # are offered again once this has passed.
    outbox_lease_seconds: float = Field(default=300, ge=1, le=3600)
    # An update kept but not handled within this long (its worker died) is taken over by
    # another worker (core.deliveries).
    inbound_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # One send budget per bot token, shared by every worker (bot.outbox.pacer): Telegram
    # allows about 30 messages/s, more with paid broadcasts; Slack about 1/s per channel.
    telegram_sends_per_second: float = Field(default=29.0, gt=0)
    slack_sends_per_second: float = Field(default=20.0, gt=0)
    # GET /metrics on the HTTP server (Prometheus); with METRICS_TOKEN, only with that bearer.
    metrics_enabled: bool = True
    # Key of the hashes that remember forgotten chat identities (derived from the bot's
    # secrets when unset; set it so a changed bot token does not forget the tombstones).
    privacy_key: str | None = None

    @field_validator(*_OPTIONAL, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` lists every name with an empty value: empty means "not used".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("loyalty_admins")
    @classmethod
    def _admins_well_formed(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            platform, _, external_id = entry.partition(":")
            if not platform or not external_id:
                raise ValueError(f"{entry!r} is not platform:id (e.g. telegram:123456)")
        return value

    @field_validator("loyalty_env")
    @classmethod
    def _known_env(cls, value: str) -> str:
        if value.strip().lower() not in (DEVELOPMENT, "production", "staging", "test"):
            raise ValueError("use development or production")
        return value.strip().lower()

    @model_validator(mode="after")
    def _complete(self) -> Self:
        """Settings that need a partner have it; secrets are real outside development."""
        for problem in self._missing_partners():
            raise ValueError(problem)
        if self.telegram_webhook_secret and not TELEGRAM_SECRET.fullmatch(
            self.telegram_webhook_secret
        ):
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET may hold only letters, digits, _ and - (Telegram's rule)"
            )
        if self.loyalty_env != DEVELOPMENT:
            for problem in self._placeholders():
                raise ValueError(f"{problem} (or set LOYALTY_ENV=development for a trial run)")
        return self

    def _missing_partners(self) -> list[str]:
        problems = []
        telegram_extras = self.telegram_webhook_url or self.telegram_webhook_secret
        if telegram_extras and not self.telegram_bot_token:
            problems.append("TELEGRAM_WEBHOOK_URL/SECRET are set but TELEGRAM_BOT_TOKEN is not")
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            problems.append("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET")
        slack_extras = self.slack_signing_secret or self.slack_app_token
        if slack_extras and not self.slack_bot_token:
            problems.append(
                "SLACK_SIGNING_SECRET/SLACK_APP_TOKEN are set but SLACK_BOT_TOKEN is not"
            )
        if self.slack_bot_token and not slack_extras:
            problems.append(
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor"
                " SLACK_APP_TOKEN (Socket Mode) is; Slack needs one of them"
            )
        return problems

    def _placeholders(self) -> list[str]:
        problems = []
        for name in SECRETS:
            value = getattr(self, name)
            if value is not None and (
                len(value) < SHORTEST_SECRET or _PLACEHOLDER.fullmatch(value)
            ):
                problems.append(
                    f"{name.upper()} looks like a placeholder: use a random secret of at least"
                    f" {SHORTEST_SECRET} characters"
                )
        for name, shape in TOKEN_SHAPES.items():
            value = getattr(self, name)
            secret_part = re.split(r"[:-]", value or "", maxsplit=1)[-1]
            if value is not None and (
                not shape.fullmatch(value) or _PLACEHOLDER.fullmatch(secret_part)
            ):
                problems.append(f"{name.upper()} does not look like a real token")
        return problems

    @property
    def admins(self) -> list[tuple[str, str]]:
        """Bootstrap admins as (platform, external id) pairs."""
        entries = filter(None, (part.strip() for part in self.loyalty_admins.split(",")))
        return [tuple(entry.split(":", 1)) for entry in entries]  # type: ignore[misc]

    @property
    def has_chat_platform(self) -> bool:
        """True when Telegram or Slack is configured."""
        return bool(self.telegram_bot_token or self.slack_bot_token)


def describe(error: ValidationError) -> str:
    """A settings error as one line that names each setting and what is wrong with it."""
    parts = []
    for issue in error.errors():
        name = ".".join(str(part) for part in issue["loc"]).upper()
        message = str(issue["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}" if name else message)
    return "; ".join(parts)
