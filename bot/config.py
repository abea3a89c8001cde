"""Configuration from the environment (and an optional ``.env``), validated once at start.

A missing or wrong setting is reported as one line naming the variable, never a traceback:
``ConfigError`` carries that line and the CLI prints it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from scoring import Worksheet, WorksheetError, load_worksheet
from storage.engine import DEFAULT_URL, normalize_url


class ConfigError(Exception):
    """A setting that cannot work; the message is the one line to show."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", populate_by_name=True)

    # Slack
    slack_bot_token: str | None = Field(default=None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(
        default=None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(default=None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str = Field(default="https://slack.com/api/",
                               validation_alias=_env("SLACK_API_URL"))
    # Storage
    database_url: str = Field(default=DEFAULT_URL, validation_alias=_env("DATABASE_URL"))
    # LLM (optional)
    openai_api_key: str | None = Field(default=None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=_env("OPENAI_BASE_URL"))
    llm_model: str | None = Field(default=None, validation_alias=_env("GRADEBOT_LLM_MODEL"))
    llm_enabled: bool = Field(default=True, validation_alias=_env("GRADEBOT_LLM_ENABLED"))
    # seconds per model call: the chat asks one question plus at most two the reply talks
    # about (about 1-2 s hosted, 2-6 s for a small CPU model); raise it for slow local models
    llm_timeout: float = Field(default=10.0, gt=0, le=300,
                               validation_alias=_env("GRADEBOT_LLM_TIMEOUT"))
    # record | suggest | auto: auto records confident readings only when the last
    # `gradebot llm check` of this endpoint and model passed (misread at most 5 %)
    llm_trust: Literal["auto", "record", "suggest"] = Field(
        default="auto", validation_alias=_env("GRADEBOT_LLM_TRUST"))
    llm_check_file: Path = Field(default=Path.home() / ".cache" / "gradebot" / "llm-check.json",
                                 validation_alias=_env("GRADEBOT_LLM_CHECK_FILE"))
    # Behaviour
    timezone: str = Field(default="UTC", validation_alias=_env("GRADEBOT_TIMEZONE", "TZ"))
    worksheet_path: Path | None = Field(default=None, validation_alias=_env("GRADEBOT_WORKSHEET"))
    session_idle_days: float = Field(default=7, gt=0,
                                     validation_alias=_env("GRADEBOT_SESSION_IDLE_DAYS"))
    log_json: bool = Field(default=True, validation_alias=_env("GRADEBOT_LOG_JSON"))
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                   validation_alias=_env("GRADEBOT_ADMINS"))
    # Reminders: minutes between sweeps in `gradebot serve` (0 turns the scheduler off)
    sweep_minutes: float = Field(default=5, ge=0, le=1440,
                                 validation_alias=_env("GRADEBOT_SWEEP_MINUTES"))
    # Microsoft Teams (bot/teams): the Entra app registration of the Azure Bot. With CLIENT_ID
    # set, every request to /api/messages must carry a valid Bot Framework token; with none
    # set, requests are refused unless GRADEBOT_TEAMS_DEV_NO_AUTH=true (local testing only).
    teams_client_id: str | None = Field(default=None, validation_alias=_env("CLIENT_ID"))
    teams_client_secret: str | None = Field(default=None,
                                            validation_alias=_env("CLIENT_SECRET"))
    teams_tenant_id: str | None = Field(default=None, validation_alias=_env("TENANT_ID"))
    teams_dev_no_auth: bool = Field(default=False,
                                    validation_alias=_env("GRADEBOT_TEAMS_DEV_NO_AUTH"))

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"  # WebClient joins paths with urljoin

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        v = normalize_url(v.strip())
        if not v.startswith(("sqlite:", "postgresql+psycopg:")):
            raise ValueError("use sqlite:///path.db or postgresql://user@host/db")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        v = v.lstrip(":") or "UTC"
        if v.startswith("/"):  # TZ=:/etc/localtime, as containers set it: a file, not a name
            real = os.path.realpath(v)
            v = real.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in real else "UTC"
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (use an IANA name like Europe/Paris)")\
                from None
        return v

    @field_validator("admins", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return [x.strip() for x in v.split(",") if x.strip()]
        return v

    @property
    def llm_configured(self) -> bool:
        return self.llm_enabled and bool(self.llm_model) and bool(
            self.openai_api_key or self.openai_base_url)

    @property
    def teams_enabled(self) -> bool:
        """Teams is served at /api/messages: with credentials, or in explicit dev mode."""
        return bool(self.teams_client_id) or self.teams_dev_no_auth

    def load_worksheet(self) -> Worksheet:
        try:
            return load_worksheet(self.worksheet_path)
        except WorksheetError as exc:
            raise ConfigError(f"GRADEBOT_WORKSHEET: {exc}") from None


_VAR = {"slack_api_url": "SLACK_API_URL", "database_url": "DATABASE_URL",
        "timezone": "GRADEBOT_TIMEZONE", "llm_timeout": "GRADEBOT_LLM_TIMEOUT",
        "llm_trust": "GRADEBOT_LLM_TRUST", "llm_check_file": "GRADEBOT_LLM_CHECK_FILE",
        "session_idle_days": "GRADEBOT_SESSION_IDLE_DAYS", "llm_enabled": "GRADEBOT_LLM_ENABLED",
        "worksheet_path": "GRADEBOT_WORKSHEET", "sweep_minutes": "GRADEBOT_SWEEP_MINUTES",
        "teams_client_id": "CLIENT_ID", "teams_client_secret": "CLIENT_SECRET",
        "teams_tenant_id": "TENANT_ID", "teams_dev_no_auth": "GRADEBOT_TEAMS_DEV_NO_AUTH"}


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; raises ConfigError with one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        name = _VAR.get(field, field.upper())
        msg = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg}") from None
