"""Settings: every HANDOFF_* environment variable, with its default (a `.env` file is read too)."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import formataddr, parseaddr
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.servers import (
    ImapTarget,
    Listen,
    SmtpTarget,
    parse_imap_urls,
    parse_listen,
    parse_smtp_url,
)
from bot.text import parse_cron, parse_duration, zone_named

ENV_PREFIX = "HANDOFF_"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_MAILBOX = re.compile(r"^[a-z0-9._%-]+@[a-z0-9.-]+$")
# Slack ids: users U…/W…, user groups (subteams) S…; a group may also be named by its handle.
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_SLACK_HANDLE = re.compile(r"^@?[a-z0-9][a-z0-9._-]{0,79}$")


class ConfigError(Exception):
    """A setting is wrong; the message names the variable and is shown as one line."""


LogFormat = Literal["text", "json"]


def parse_log_format(value: object) -> LogFormat:
    """`text` (blank too) or `json`; ValueError naming the value otherwise."""
    text = str(value if value is not None else "").strip().lower() or "text"
    if text not in ("text", "json"):
        raise ValueError(f"{value!r} is not a log format (expected text or json)")
    return "json" if text == "json" else "text"


class Settings(BaseSettings):
    """Handoff's configuration, read from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )

    database_url: str = "sqlite:///./handoff.db"
    internal_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    partner_mailbox: str | None = None
    protection_days: int = Field(default=90, ge=0, le=3650)
    # Our receiving mail server's authserv-id (RFC 8601): its Authentication-Results must
    # vouch for a sender before the sender's From is believed. Unset: From is taken as written.
    trusted_authserv_id: str | None = None
    # The currency of won amounts (ISO 4217): shown wherever an amount is asked for or shown.
    currency: str = "USD"
    # What only guarded a retry is deleted after this many days (bot/retention); 0: never.
    retention_days: int = Field(default=30, ge=0, le=36500)
    # IMAP watcher (`handoff serve`): see README, "Mailbox setup".
    imap_password: SecretStr | None = None  # for the URLs that carry none (validated first)
    imap_url: SecretStr | None = None  # one or more URLs, comma-separated; may carry passwords
    imap_poll_seconds: float = Field(default=60.0, ge=1, le=3600)
    # RFC 2177 lets a server drop an IDLE after 30 minutes; NAT boxes often forget a quiet
    # connection sooner, so IDLE is re-issued every 9 minutes.
    imap_idle_seconds: float = Field(default=540.0, ge=1, le=1740)
    imap_timeout_seconds: float = Field(default=30.0, ge=1, le=600)
    imap_move_to: str | None = None
    # A message the server would not hand over waits in triage and is asked for again this often.
    imap_unfetchable_retry_seconds: float = Field(default=3600.0, ge=1, le=7 * 86400)
    # Slack (`handoff serve`): Slack's own variable names, as its tools and docs use them.
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    # How long a Slack call may take; a post whose answer comes later is looked for, not redone.
    slack_timeout_seconds: int = Field(default=15, ge=1, le=120)
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_channel: str = "partner-intros"  # a channel id, or a public channel's name
    rep_group: str | None = None  # a user group (id S… or @handle) whose members may claim
    managers: Annotated[list[str], NoDecode] = Field(default_factory=list)  # user ids, groups
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on every interface
    port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port (tests)
    # A job whose worker vanished (killed mid-post) is taken up again after this long.
    outbox_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    # Nudges and reminders (bot/nudges/): durations such as 30m, 4h, 2d.
    claim_sla: timedelta = timedelta(minutes=30)  # unclaimed: thread nudge, then 2x: managers
    first_response_sla: timedelta = timedelta(hours=24)  # owner DM, then 2x: managers
    overdue_every: timedelta = timedelta(days=2)  # overdue next steps, reminded again
    inactive_after: timedelta = timedelta(days=60)  # a partner this quiet is noted weekly
    sweep_every: timedelta = timedelta(minutes=1)  # how often the sweeps look
    timezone: str = "UTC"  # reports' periods; reminders for people whose zone Slack won't say
    # Partner digests and notices by email (bot/digests/sweep.py, bot/mail/).
    smtp_url: SecretStr | None = None  # smtp://user:password@host:587 or smtps://…:465
    # Passwords and tokens go only over TLS, but to loopback; true lets them go in clear to
    # any host (a trusted private network), with a warning at every login.
    insecure_cleartext_login: bool = False
    # LMTP (RFC 2033): mail handed to `handoff serve` by the MTA, on host:port or a socket path.
    lmtp_listen: str | None = None
    lmtp_reject_unknown: bool = False  # 550 a recipient no partner address or mailbox matches
    lmtp_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, le=1024**3)
    mail_from: str | None = None  # "Ours Partnerships <partners@ours.example>"; else the mailbox
    secret: SecretStr | None = None  # signs the reply addresses of digests (HMAC)
    digest_schedule: str = "0 9 * * mon"  # cron, in each partner's zone; a partner may override
    log_format: LogFormat = "text"  # json: one object per line (bot/logs.py; read before the rest)

    @field_validator(
        "claim_sla",
        "first_response_sla",
        "overdue_every",
        "inactive_after",
        "sweep_every",
        mode="before",
    )
    @classmethod
    def _check_duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("log_format", mode="before")
    @classmethod
    def _check_log_format(cls, value: object) -> LogFormat:
        return parse_log_format(value)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        zone_named(value)
        return value.strip()

    @field_validator("digest_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_cron(value, ZoneInfo("UTC"))
        return " ".join(value.split())

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _check_smtp_url(cls, value: object) -> object:
        if value is None or isinstance(value, SecretStr):
            return value
        if not str(value).strip():
            return None
        parse_smtp_url(str(value))  # the error names no password
        return value

    @field_validator("lmtp_listen", mode="before")
    @classmethod
    def _check_lmtp_listen(cls, value: object) -> object:
        if value is None or not str(value).strip():
            return None
        parse_listen(str(value))
        return str(value).strip()

    @field_validator("secret", mode="before")
    @classmethod
    def _check_secret(cls, value: object) -> object:
        if value is None or isinstance(value, SecretStr):
            return value
        if not str(value).strip():
            return None
        if len(str(value).strip()) < 16:
            raise ValueError("too short: use at least 16 random characters (openssl rand -hex 32)")
        return str(value).strip()

    @field_validator("mail_from", mode="before")
    @classmethod
    def _check_mail_from(cls, value: object) -> object:
        if value is None or not str(value).strip():
            return None
        name, address = parseaddr(str(value).strip())
        if not _MAILBOX.match(address.lower()) or "\n" in str(value) or "\r" in str(value):
            raise ValueError(
                f"{value!r} is not an address (expected e.g. Ours <partners@ours.example>)"
            )
        return formataddr((name, address.lower())) if name else address.lower()

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

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. USD, EUR, GBP)")
        return code

    @field_validator("imap_move_to", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        prefix = "xoxb-" if info.field_name == "slack_bot_token" else "xapp-"
        if not value.get_secret_value().strip().startswith(prefix):
            kind = "bot token" if prefix == "xoxb-" else "app-level token (Socket Mode)"
            # Never echo a token, not even a wrong one.
            raise ValueError(f"not a Slack {kind}: it should start with {prefix}")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("slack_signing_secret")
    @classmethod
    def _blank_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("slack_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        url = urlsplit(value.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("not an http(s) URL (expected e.g. https://slack.com/api/)")
        # slack_sdk appends the method name to the base URL.
        return value.strip().rstrip("/") + "/"

    @field_validator("slack_channel", mode="before")
    @classmethod
    def _check_channel(cls, value: object) -> object:
        text = str(value).strip().lstrip("#") if value is not None else ""
        if not text or len(text) > 80 or any(c.isspace() for c in text):
            raise ValueError(
                f"{value!r} is not a channel id or name (expected e.g. partner-intros)"
            )
        return text

    @field_validator("rep_group", mode="before")
    @classmethod
    def _check_group(cls, value: object) -> object:
        if value is None or not str(value).strip():
            return None
        text = str(value).strip()
        if not (_SLACK_GROUP.match(text) or _SLACK_HANDLE.match(text)):
            raise ValueError(f"{text!r} is not a user group id (S…) or handle (@sales-reps)")
        return text

    @field_validator("managers", mode="before")
    @classmethod
    def _split_managers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, list):
            bad = [
                str(v)
                for v in value
                if not (
                    _SLACK_USER.match(str(v))
                    or _SLACK_GROUP.match(str(v))
                    or _SLACK_HANDLE.match(str(v))
                )
            ]
            if bad:
                raise ValueError(
                    f"{bad[0]!r} is not a Slack user id (U…), user group id (S…) or group handle"
                )
        return value

    @model_validator(mode="after")
    def _mailbox_from_imap(self) -> Settings:
        # The watched mailbox is the partner mailbox unless told otherwise: with
        # imaps://partners%40ours.example@…, partners+acme@ours.example is acme's.
        if self.partner_mailbox is None:
            for target in self.imap_targets:
                user = target.user.strip().lower()
                if _MAILBOX.match(user) and "+" not in user:
                    self.partner_mailbox = user
                    break
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def imap_targets(self) -> list[ImapTarget]:
        """The folders to watch (the URLs were checked when the settings were read)."""
        if self.imap_url is None:
            return []
        password = self.imap_password.get_secret_value() if self.imap_password else None
        return parse_imap_urls(
            self.imap_url.get_secret_value(),
            password,
            insecure_cleartext=self.insecure_cleartext_login,
        )

    @property
    def lmtp(self) -> Listen | None:
        """Where LMTP is taken, or None (checked when the settings were read)."""
        return parse_listen(self.lmtp_listen) if self.lmtp_listen else None

    @property
    def secret_bytes(self) -> bytes | None:
        return self.secret.get_secret_value().encode() if self.secret else None

    @property
    def smtp(self) -> SmtpTarget | None:
        """Where mail goes, or None when Handoff sends none (checked when settings were read)."""
        if self.smtp_url is None:
            return None
        url = self.smtp_url.get_secret_value()
        return parse_smtp_url(url, insecure_cleartext=self.insecure_cleartext_login)

    @property
    def sender(self) -> str | None:
        """The From of every email Handoff sends: HANDOFF_MAIL_FROM, else the partner mailbox."""
        return self.mail_from or self.partner_mailbox

    def mail_ready(self, *, sending: bool = True) -> None:
        """Raise ConfigError naming what partner email still needs (to record it: no SMTP)."""
        if sending and self.smtp_url is None:
            raise ConfigError("HANDOFF_SMTP_URL: not set (e.g. smtp://user:password@host:587)")
        if self.partner_mailbox is None:
            raise ConfigError(
                "HANDOFF_PARTNER_MAILBOX: not set; replies to digests come back to "
                "partners+r-…@ at that mailbox (e.g. partners@ours.example)"
            )
        if self.secret is None:
            raise ConfigError(
                "HANDOFF_SECRET: not set; it signs the reply addresses of digests "
                "(e.g. the output of: openssl rand -hex 32)"
            )

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
        # Slack's variables keep Slack's names (SLACK_BOT_TOKEN); ours carry the prefix.
        info = Settings.model_fields.get(field)
        alias = info.validation_alias if info is not None else None
        if isinstance(alias, str):
            name = alias
        elif field.isupper():
            name = field  # pydantic named the alias itself
        else:
            name = ENV_PREFIX + field.upper()
        raise ConfigError(f"{name}: {message}") from None
