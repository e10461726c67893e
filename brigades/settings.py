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


class LogFormat(enum.StrEnum):
    JSON = "json"  # one JSON object a line, for a log collector
    TEXT = "text"  # for a person reading a terminal


class LogLevel(enum.StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class BigRegisterName(enum.StrEnum):
    # No adapter talks to the real BIG-register yet (and tests have no network): lookups are off.
    DISABLED = "disabled"


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
    db_pool_size: int = 20
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
    # How long one send may take (a read time-out makes the message "uncertain").
    twilio_connect_timeout_seconds: float = 5.0
    twilio_read_timeout_seconds: float = 15.0
    # Words Twilio answers itself because they are configured in its Advanced Opt-Out
    # (comma-separated, e.g. "STOPPEN,UITSCHRIJVEN"): we act on them but send no reply of our own.
    twilio_own_keywords: str = ""

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
    # Periodic jobs (expiries, purges, retention) in every worker process; see scheduler.py.
    scheduler_enabled: bool = True
    worker_poll_seconds: float = 0.5
    worker_batch_size: int = 50
    worker_concurrency: int = 8
    outbox_max_attempts: int = 8
    # A row left in "sending" (or "uncertain") longer than this without a SID or a status
    # callback is reconciled with the provider, or marked "uncertain" (docs/twilio.md).
    worker_sending_grace_seconds: float = 300.0
    # Per sender (Twilio number or Messaging Service): SMS segments per second and burst.
    # Unset: 1/s for a long code (ZB_TWILIO_FROM), 10/s for a Messaging Service; burst
    # max(3, rate).
    sms_rate_per_second: float | None = None
    sms_rate_burst: int | None = None
    # Test only (refused unless ZB_ENV=test): kill the worker process at a point of the send,
    # "before_send", "after_answer" or "after_commit", optionally ":N" for the N-th time.
    test_crash_at: str | None = None

    # Staff accounts (/beheer and the API): sessions, tokens, login protection.
    staff_session_idle_seconds: int = 8 * 3600
    staff_session_absolute_seconds: int = 12 * 3600
    # Between the password and the TOTP code (or the enrolment) of one login.
    staff_login_step_seconds: int = 15 * 60
    access_token_ttl_seconds: int = 3600
    api_key_ttl_days: int = 365
    login_max_failures: int = 5
    login_lockout_seconds: int = 15 * 60
    # Per client address, every login attempt counts; each tier gives a longer wait.
    # Windows stay within the rate limiter's purge horizon (one hour).
    login_limits_per_client: tuple[tuple[int, int], ...] = ((10, 60), (30, 3600))
    password_reset_link_ttl_seconds: int = 3600
    password_reset_code_ttl_seconds: int = 15 * 60
    password_reset_limit_per_account: tuple[int, int] = (3, 3600)

    # Dispatch settings per incident level 1..4 (brigades.incidents.levels): search radius km,
    # offer expiry minutes, offers per volunteer per day, wave factor k. JSON in the environment,
    # e.g. ZB_INCIDENT_LEVELS='[[5,30,2,1.5],[10,20,3,2],[15,15,4,2.5],[25,10,6,3]]'.
    incident_levels: tuple[
        tuple[float, int, int, float],
        tuple[float, int, int, float],
        tuple[float, int, int, float],
        tuple[float, int, int, float],
    ] = ((5.0, 30, 2, 1.5), (10.0, 20, 3, 2.0), (15.0, 15, 4, 2.5), (25.0, 10, 6, 3.0))
    # Dispatch beyond the level table: the radius grows by this factor per empty wave up to
    # dispatch_max_radius_km; urgent offers expire after this share of the level's expiry.
    dispatch_radius_growth: float = Field(default=1.5, gt=1.0, le=4.0)
    dispatch_max_radius_km: float = Field(default=40.0, gt=0)
    dispatch_urgent_expiry_share: float = Field(default=0.5, gt=0, le=1.0)
    # Fatigue caps besides the level's offers per day: assignments per (Amsterdam) day and
    # the rest a volunteer gets between two tasks.
    dispatch_assignments_per_day: int = Field(default=2, ge=1)
    dispatch_rest_minutes: int = Field(default=60, ge=0)
    # Ranking: score = distance km + load weight x recent offers/assignments (7 days)
    # + reliability weight x (1 - answered share of offers, 90 days).
    dispatch_weight_load: float = Field(default=0.5, ge=0)
    dispatch_weight_reliability: float = Field(default=2.0, ge=0)
    # The in-memory candidate index (brigades.dispatch.index) is rebuilt from the database when
    # older than this; offers are re-checked in the database, so it may be a little stale.
    dispatch_index_max_age_seconds: float = Field(default=30.0, ge=0)
    # Plan jointly (min-cost matching) when an incident has at least this many tasks to offer.
    dispatch_joint_min_tasks: int = Field(default=2, ge=2)
    # An assignment not finished this long after its task's window raises an alarm.
    dispatch_overdue_minutes: int = Field(default=60, ge=1)
    # Bulk task import (CSV): the largest file and the most rows one import may hold.
    task_import_max_bytes: int = 10 * 1024 * 1024
    task_import_max_rows: int = 50_000

    # Vetting: a VOG counts this many years from its date; the BIG-register lookup adapter.
    vog_validity_years: int = Field(default=3, ge=1, le=10)
    big_register: BigRegisterName = BigRegisterName.DISABLED

    # Privacy: clients' addresses are purged this many days after their incident closed.
    client_address_retention_days: int = Field(default=30, ge=0)

    # Peacetime readiness (brigades.readiness): "ben je nog beschikbaar?" every interval days,
    # up to reminders reminders that many days apart, then dormant; at most daily_budget
    # re-confirmation SMS per (Amsterdam) day so sends spread over days under the rate limits.
    reconfirm_interval_days: int = Field(default=182, ge=7)
    reconfirm_reminders: int = Field(default=2, ge=0, le=5)
    reconfirm_reminder_days: int = Field(default=7, ge=1)
    reconfirm_daily_budget: int = Field(default=500, ge=0)
    # Evidence and VOG expiry warnings go out this many days ahead.
    expiry_warning_days: int = Field(default=30, ge=1)

    # The dashboard map draws boundaries from the reference data without tiles; a deployment
    # with internet may add a tile layer (e.g. "https://tile.openstreetmap.org/{z}/{x}/{y}.png").
    map_tile_url: str | None = Field(default=None, max_length=300)
    # Shown on the map whenever a tile layer is set (OpenStreetMap's tile policy requires it);
    # change it with the tile server.
    map_tile_attribution: str = Field(
        default='© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-bijdragers',
        max_length=300,
    )

    demo_volunteers: int = 3000
    demo_region: str = "VR09"

    # Logs of `zorgbrigade serve` and `worker` (brigades.logs). Unset format: JSON lines in
    # production, text elsewhere. Personal data is redacted in either format.
    log_format: LogFormat | None = None
    log_level: LogLevel = LogLevel.INFO
    # /metrics (brigades.metrics): with a token, only `Authorization: Bearer <token>` is served;
    # without one, only loopback clients outside production (404 in production).
    metrics_token: SecretStr | None = None
    # Strict-Transport-Security on every response; unset means on in production only. Off for a
    # site that is not (yet) served over HTTPS on all its names, since browsers remember it.
    hsts: bool | None = None

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
                raise ValueError("ZB_SECRET_KEY must be set to a real secret in production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("ZB_SECRET_KEY must be at least 32 characters in production")
            token = self.metrics_token.get_secret_value() if self.metrics_token else None
            if token is not None and len(token) < 24:
                raise ValueError("ZB_METRICS_TOKEN must be at least 24 characters in production")
            if self.sms_provider is SmsProviderName.TWILIO and not (
                self.twilio_account_sid and self.twilio_auth_token
            ):
                raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
        return self

    @model_validator(mode="after")
    def _check_sms_settings(self) -> Settings:
        if self.test_crash_at and self.env is not Environment.TEST:
            raise ValueError("ZB_TEST_CRASH_AT is only allowed with ZB_ENV=test")
        if (
            self.env is Environment.PRODUCTION
            and self.sms_provider is SmsProviderName.TWILIO
            and not (self.twilio_from or self.twilio_messaging_service_sid)
        ):
            raise ValueError("ZB_TWILIO_FROM or ZB_TWILIO_MESSAGING_SERVICE_SID is required")
        if self.sms_rate_per_second is not None and self.sms_rate_per_second <= 0:
            raise ValueError("ZB_SMS_RATE_PER_SECOND must be positive")
        # A claimed batch is sent in ceil(batch / concurrency) waves of at most one connect plus
        # one read time-out each, and one more request may ask whether Twilio is down; a row
        # still being sent must never look abandoned.
        waves = -(-self.worker_batch_size // max(self.worker_concurrency, 1)) + 1
        longest = waves * (self.twilio_connect_timeout_seconds + self.twilio_read_timeout_seconds)
        if self.worker_sending_grace_seconds <= longest:
            raise ValueError(
                "ZB_WORKER_SENDING_GRACE_SECONDS must exceed the longest a claimed batch can "
                f"take to send ({longest:.0f} s)"
            )
        return self

    @model_validator(mode="after")
    def _check_incident_levels(self) -> Settings:
        for radius, expiry, per_day, wave in self.incident_levels:
            if radius <= 0 or expiry <= 0 or per_day <= 0 or wave < 1:
                raise ValueError(
                    "ZB_INCIDENT_LEVELS: radius, expiry and per-day cap must be positive and the "
                    "wave factor at least 1"
                )
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @property
    def twilio_webhooks_enabled(self) -> bool:
        """Twilio's webhooks are served whenever its auth token is set (to check signatures)."""
        return bool(self.twilio_auth_token and self.twilio_auth_token.get_secret_value())

    @property
    def twilio_own_keyword_set(self) -> frozenset[str]:
        """The Advanced Opt-Out words, lower case."""
        return frozenset(
            word.strip().casefold() for word in self.twilio_own_keywords.split(",") if word.strip()
        )

    @property
    def effective_log_format(self) -> LogFormat:
        """The log format asked for, or the environment's default."""
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.env is Environment.PRODUCTION else LogFormat.TEXT

    @property
    def hsts_enabled(self) -> bool:
        """Whether responses carry Strict-Transport-Security (ZB_HSTS, by default production)."""
        return self.env is Environment.PRODUCTION if self.hsts is None else self.hsts

    @property
    def dev_tools_enabled(self) -> bool:
        """The phone simulator and similar tools exist only outside production."""
        return self.env is Environment.DEVELOPMENT


def project_root() -> Path:
    """The repository root (templates and static files live there)."""
    return Path(__file__).resolve().parent.parent
