"""All configuration in one object, read from the environment (``ZB_`` prefix)."""

from __future__ import annotations

import enum
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "development-only-secret-key-change-me"
DEFAULT_DATABASE_URL = "sqlite:///./zorgbrigade.db"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SmsProviderName(enum.StrEnum):
    CONSOLE = "console"
    TWILIO = "twilio"


class Settings(BaseSettings):
    """Settings of one Zorgbrigade process; the contract names are in DESIGN.md."""

    model_config = SettingsConfigDict(env_prefix="ZB_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    public_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "ZB_DATABASE_URL"),
    )
    db_pool_size: int = 10
    sms_provider: SmsProviderName = SmsProviderName.CONSOLE

    twilio_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "ZB_TWILIO_ACCOUNT_SID")
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "ZB_TWILIO_AUTH_TOKEN")
    )
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"

    # Sign-up and verification.
    consent_version: str = "2026-11"
    verification_code_ttl_seconds: int = 15 * 60
    verification_max_attempts: int = 5
    access_link_ttl_seconds: int = 7 * 24 * 3600
    volunteer_session_ttl_seconds: int = 12 * 3600
    # Rate limits: (count, window seconds). Generous per client because a buurtsteunpunt
    # may sign up many people from one address.
    signup_limit_per_number: tuple[int, int] = (3, 3600)
    signup_limit_per_client: tuple[int, int] = (60, 3600)
    code_limit_per_number: tuple[int, int] = (10, 3600)
    code_limit_per_client: tuple[int, int] = (100, 3600)
    trust_forwarded_for: bool = False

    # Outbox worker.
    worker_in_process: bool = True
    worker_poll_seconds: float = 0.5
    worker_batch_size: int = 50
    worker_concurrency: int = 8
    outbox_max_attempts: int = 8
    # A row left in "sending" longer than this (a worker died mid-send) becomes "uncertain".
    worker_sending_grace_seconds: float = 300.0
    # Per sender (Twilio number or messaging service): SMS segments per second and burst.
    sms_rate_per_second: float = 10.0
    sms_rate_burst: int = 10

    demo_volunteers: int = 3000
    demo_region: str = "VR09"
    log_json: bool = False

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
                raise ValueError("ZB_SECRET_KEY must be set to a real secret in production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("ZB_SECRET_KEY must be at least 32 characters in production")
            if self.sms_provider is SmsProviderName.TWILIO and not (
                self.twilio_account_sid and self.twilio_auth_token
            ):
                raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def dev_tools_enabled(self) -> bool:
        """The phone simulator and similar tools exist only outside production."""
        return self.env is Environment.DEVELOPMENT


def project_root() -> Path:
    """The repository root (templates and static files live there)."""
    return Path(__file__).resolve().parent.parent
