"""Settings: every HANDOFF_* environment variable, with its default (a `.env` file is read too)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "HANDOFF_"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_MAILBOX = re.compile(r"^[a-z0-9._%-]+@[a-z0-9.-]+$")


class ConfigError(Exception):
    """A setting is wrong; the message names the variable and is shown as one line."""


class Settings(BaseSettings):
    """Handoff's configuration, read from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = "sqlite:///./handoff.db"
    internal_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    partner_mailbox: str | None = None
    protection_days: int = Field(default=90, ge=0, le=3650)

    @field_validator("internal_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, list):
            domains = [str(d).strip().lower().lstrip("@") for d in value]
            bad = [d for d in domains if not _DOMAIN.match(d)]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a domain name (expected e.g. ours.example)")
            return domains
        return value

    @field_validator("partner_mailbox", mode="before")
    @classmethod
    def _check_mailbox(cls, value: object) -> object:
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        if not _MAILBOX.match(text) or "+" in text:
            raise ValueError(
                f"{value!r} is not a plain mailbox address (expected e.g. partners@ours.example)"
            )
        return text

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme not in ("sqlite", "postgresql", "postgres") or "://" not in value:
            raise ValueError(
                f"unsupported database URL {scheme + '://…'!r} "
                "(expected sqlite:///path/handoff.db or postgresql://user@host/db)"
            )
        return value

    @property
    def mailbox_domain(self) -> str | None:
        return self.partner_mailbox.split("@", 1)[1] if self.partner_mailbox else None

    @property
    def all_internal_domains(self) -> frozenset[str]:
        """Our domains, including the partner mailbox's own."""
        extra = {self.mailbox_domain} if self.mailbox_domain else set()
        return frozenset(self.internal_domains) | extra


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's errors into one ConfigError line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}: {message}") from None
