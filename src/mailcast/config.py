"""Every setting of mailcast, read from MAILCAST_* variables and an optional TOML file."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mailcast.domain import FeedbackMode


class RelaySettings(BaseModel):
    """The MTA (or provider endpoint) that messages are handed to."""

    host: str = "127.0.0.1"
    port: int = 2525
    tls: Literal["none", "starttls", "implicit"] = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    # Ask for RFC 3461 DSNs (ENVID, ORCPT, NOTIFY) when the relay advertises DSN.
    request_dsn: bool = True


class SendSettings(BaseModel):
    """The send engine: how many connections, how fast, how much per claim."""

    concurrency: int = Field(default=10, ge=1)
    rate_per_second: float = Field(default=0.0, ge=0.0, description="0 means no limit")
    batch_size: int = Field(default=200, ge=1)
    lease_seconds: float = Field(default=60.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0)
    max_consecutive_errors: int = Field(default=200, ge=1)


class SandboxSettings(BaseModel):
    """The built-in MTA that accepts mail on loopback for the demo and the tests."""

    host: str = "127.0.0.1"
    port: int = 2525


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MAILCAST_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = "sqlite:///mailcast.db"
    # Signs VERP return paths and tracking tokens; kept in the database when not set here.
    secret_key: str | None = None
    feedback_mode: FeedbackMode = FeedbackMode.LEGACY
    validity_hours: float = 84.0  # 3.5 days (ACS)
    approval_required: bool = False
    bounce_domain: str = "bounces.mailcast.localhost"
    message_id_domain: str = "mailcast.localhost"
    max_proof_addresses: int = 100
    relay: RelaySettings = RelaySettings()
    send: SendSettings = SendSettings()
    sandbox: SandboxSettings = SandboxSettings()

    @property
    def validity_period(self) -> dt.timedelta:
        return dt.timedelta(hours=self.validity_hours)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("MAILCAST_CONFIG", "mailcast.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )
