"""Settings: every HANDOFF_* environment variable, with its default (a `.env` file is read too)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "HANDOFF_"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_MAILBOX = re.compile(r"^[a-z0-9._%-]+@[a-z0-9.-]+$")


class ConfigError(Exception):
    """A setting is wrong; the message names the variable and is shown as one line."""


@dataclass(frozen=True)
class ImapTarget:
    """One folder to watch, from one `HANDOFF_IMAP_URL` entry. Its repr never shows the password."""

    tls: bool  # imaps://: TLS from the first byte; imap://: STARTTLS when the server offers it
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str

    @property
    def key(self) -> str:
        """Names the folder in the database and in logs: no password, stable across restarts."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_urls(value: str, password: str | None) -> list[ImapTarget]:
    """Comma-separated `imaps://user:password@host:993/INBOX` URLs, each naming one folder."""
    targets = []
    for text in (part.strip() for part in value.split(",")):
        if not text:
            continue
        try:
            url = urlsplit(text)
            port = url.port
        except ValueError:
            raise ValueError(
                "an entry is not a URL (expected imaps://user:password@host:993/INBOX)"
            ) from None
        if url.scheme not in ("imap", "imaps") or not url.hostname:
            shown = f"{url.scheme}://…" if url.scheme else "an entry"
            raise ValueError(
                f"{shown} is not an IMAP URL (expected imaps://user:password@host/INBOX)"
            )
        if not url.username:
            raise ValueError(f"no user name in imap URL for {url.hostname}")
        secret = unquote(url.password) if url.password is not None else password
        if not secret:
            raise ValueError(
                f"no password for {unquote(url.username)}@{url.hostname} "
                "(put it in the URL or in HANDOFF_IMAP_PASSWORD)"
            )
        folder = unquote(url.path.lstrip("/")) or "INBOX"
        if folder.upper() == "INBOX":
            folder = "INBOX"  # the one case-insensitive name (RFC 3501 section 5.1)
        targets.append(
            ImapTarget(
                tls=url.scheme == "imaps",
                host=url.hostname,
                port=port or (993 if url.scheme == "imaps" else 143),
                user=unquote(url.username),
                password=secret,
                folder=folder,
            )
        )
    keys = [t.key for t in targets]
    if len(set(keys)) != len(keys):
        raise ValueError("the same folder is listed twice")
    return targets


class Settings(BaseSettings):
    """Handoff's configuration, read from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = "sqlite:///./handoff.db"
    internal_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    partner_mailbox: str | None = None
    protection_days: int = Field(default=90, ge=0, le=3650)
    # IMAP watcher (`handoff serve`): see README, "Mailbox setup".
    imap_password: SecretStr | None = None  # for the URLs that carry none (validated first)
    imap_url: SecretStr | None = None  # one or more URLs, comma-separated; may carry passwords
    imap_poll_seconds: float = Field(default=60.0, ge=1, le=3600)
    # RFC 2177 lets a server drop an IDLE after 30 minutes; NAT boxes often forget a quiet
    # connection sooner, so IDLE is re-issued every 9 minutes.
    imap_idle_seconds: float = Field(default=540.0, ge=1, le=1740)
    imap_timeout_seconds: float = Field(default=30.0, ge=1, le=600)
    imap_move_to: str | None = None

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

    @field_validator("imap_url")
    @classmethod
    def _check_imap_urls(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            password = info.data.get("imap_password")
            parse_imap_urls(value.get_secret_value(), password and password.get_secret_value())
        return value

    @field_validator("imap_move_to", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def imap_targets(self) -> list[ImapTarget]:
        """The folders to watch (the URLs were checked when the settings were read)."""
        if self.imap_url is None:
            return []
        password = self.imap_password.get_secret_value() if self.imap_password else None
        return parse_imap_urls(self.imap_url.get_secret_value(), password)

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
