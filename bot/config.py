"""Settings: every HANDOFF_* environment variable, with its default (a `.env` file is read too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Literal
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

from bot import config_checks as checks
from bot.credentials import OAuthConfig, oauth_config
from bot.servers import (
    ImapTarget,
    Listen,
    SmtpTarget,
    parse_imap_urls,
    parse_listen,
    parse_smtp_url,
)
from bot.text import parse_cron, parse_duration, zone_named
from bot.vocabulary import DEFAULT_HUBSPOT_STAGES

ENV_PREFIX = "HANDOFF_"


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
    # OAuth 2.0 instead of passwords (Microsoft 365, Google Workspace): HANDOFF_OAUTH_* below.
    imap_auth: Literal["password", "oauth2"] = "password"
    smtp_auth: Literal["password", "oauth2"] = "password"
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
    # A referral whose partner did nothing recorded for this long is in the attached lane.
    attached_after: timedelta = timedelta(days=60)
    # Issue 23's partner mail: a logged referral's "did you introduce …?" waits this long for
    # an answer before its rep hears; protection lapsing is announced this long before.
    confirm_wait: timedelta = timedelta(days=7)
    expiry_notice: timedelta = timedelta(days=7)
    sweep_every: timedelta = timedelta(minutes=1)  # how often the sweeps look
    timezone: str = "UTC"  # reports' periods; reminders for people whose zone Slack won't say
    # Partner digests and notices by email (bot/digests/sweep.py, bot/mail/).
    smtp_url: SecretStr | None = None  # smtp://user:password@host:587 or smtps://…:465
    # Passwords and tokens go only over TLS, but to loopback; true lets them go in clear to
    # any host (a trusted private network), with a warning at every login.
    insecure_cleartext_login: bool = False
    # Where OAuth tokens come from (bot/credentials.py).
    oauth_provider: str = "generic"
    oauth_tenant: str | None = None
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    oauth_scope: str | None = None
    oauth_refresh_token: SecretStr | None = None
    oauth_key_file: str | None = None
    # LMTP (RFC 2033): mail handed to `handoff serve` by the MTA, on host:port or a socket path.
    lmtp_listen: str | None = None
    lmtp_reject_unknown: bool = False  # 550 a recipient no partner address or mailbox matches
    lmtp_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, le=1024**3)
    # Mail posted by a mail service to /inbound/<service> (bot/mail/webhooks.py); each route is
    # on when its secret is set.
    mailgun_signing_key: SecretStr | None = None
    sendgrid_basic_auth: SecretStr | None = None  # user:password, as in the Parse URL
    postmark_basic_auth: SecretStr | None = None  # user:password, as in the webhook URL
    # Outgoing webhooks (bot/webhooks/): each attempt's timeout, how long a delivery is retried,
    # how long an endpoint fails every attempt before it is paused, deliveries at once.
    webhook_timeout_seconds: float = Field(default=10.0, ge=0.1, le=120)
    webhook_retry_for: timedelta = timedelta(days=3)
    webhook_pause_after: timedelta = timedelta(days=1)
    webhook_workers: int = Field(default=4, ge=1, le=64)
    # HubSpot (bot/hubspot/): a private app's access token turns the two-way deal sync on.
    hubspot_token: SecretStr | None = None
    hubspot_api_url: str = Field(
        default="https://api.hubapi.com", validation_alias="HUBSPOT_API_URL"
    )
    hubspot_pipeline: str = "default"  # the deal pipeline's id
    # HubSpot deal stage id = Handoff stage, for reading deals back (and, first match, writing).
    hubspot_stages: str = DEFAULT_HUBSPOT_STAGES
    hubspot_sync_every: timedelta = timedelta(minutes=5)
    mail_from: str | None = None  # "Ours Partnerships <partners@ours.example>"; else the mailbox
    secret: SecretStr | None = None  # signs the reply addresses of digests (HMAC)
    digest_schedule: str = "0 9 * * mon"  # cron, in each partner's zone; a partner may override
    log_format: LogFormat = "text"  # json: one object per line (bot/logs.py; read before the rest)

    @field_validator(
        "claim_sla",
        "first_response_sla",
        "overdue_every",
        "inactive_after",
        "attached_after",
        "confirm_wait",
        "expiry_notice",
        "sweep_every",
        "webhook_retry_for",
        "webhook_pause_after",
        "hubspot_sync_every",
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
    def _check_smtp_url(cls, value: object, info: ValidationInfo) -> object:
        if value is None or isinstance(value, SecretStr):
            return value
        if not str(value).strip():
            return None
        # The error names no password.
        parse_smtp_url(str(value), oauth=info.data.get("smtp_auth") == "oauth2")
        return value

    @field_validator("lmtp_listen", mode="before")
    @classmethod
    def _check_lmtp_listen(cls, value: object) -> object:
        if value is None or not str(value).strip():
            return None
        parse_listen(str(value))
        return str(value).strip()

    _secret = field_validator("secret", mode="before")(checks.secret)

    _mail_from = field_validator("mail_from", mode="before")(checks.mail_from)

    _domains = field_validator("internal_domains", mode="before")(checks.domains)

    _mailbox = field_validator("partner_mailbox", mode="before")(checks.mailbox)

    _database_url = field_validator("database_url")(checks.database_url)

    @field_validator("imap_url")
    @classmethod
    def _check_imap_urls(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            password = info.data.get("imap_password")
            parse_imap_urls(
                value.get_secret_value(),
                password and password.get_secret_value(),
                oauth=info.data.get("imap_auth") == "oauth2",
            )
        return value

    _currency = field_validator("currency")(checks.currency)

    @field_validator("imap_move_to", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    _slack_token = field_validator("slack_bot_token", "slack_app_token")(checks.slack_token)

    _blank_secret = field_validator("slack_signing_secret")(checks.blank_secret)

    _api_url = field_validator("slack_api_url")(checks.api_url)

    _channel = field_validator("slack_channel", mode="before")(checks.channel)

    _group = field_validator("rep_group", mode="before")(checks.group)

    _managers = field_validator("managers", mode="before")(checks.managers)

    @model_validator(mode="after")
    def _check_oauth(self) -> Settings:
        if "oauth2" in (self.imap_auth, self.smtp_auth):
            self.oauth_for(None)  # raises naming the missing setting
        return self

    def oauth_for(self, user: str | None) -> OAuthConfig:
        """The OAuth settings, for signing in as `user` (google's service account acts as it)."""
        secret, refresh = self.oauth_client_secret, self.oauth_refresh_token
        return oauth_config(
            provider=self.oauth_provider.strip().lower(),
            tenant=self.oauth_tenant,
            token_url=self.oauth_token_url,
            scope=self.oauth_scope,
            client_id=self.oauth_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            refresh_token=refresh.get_secret_value() if refresh else None,
            key_file=self.oauth_key_file,
            user=user,
        )

    @model_validator(mode="after")
    def _mailbox_from_imap(self) -> Settings:
        # The watched mailbox is the partner mailbox unless told otherwise: with
        # imaps://partners%40ours.example@…, partners+acme@ours.example is acme's.
        if self.partner_mailbox is None:
            for target in self.imap_targets:
                user = target.user.strip().lower()
                if checks.MAILBOX.match(user) and "+" not in user:
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
        targets = parse_imap_urls(
            self.imap_url.get_secret_value(),
            password,
            insecure_cleartext=self.insecure_cleartext_login,
            oauth=self.imap_auth == "oauth2",
        )
        if self.imap_auth != "oauth2":
            return targets
        return [replace(t, oauth=self.oauth_for(t.user)) for t in targets]

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
        oauth = self.smtp_auth == "oauth2"
        target = parse_smtp_url(url, insecure_cleartext=self.insecure_cleartext_login, oauth=oauth)
        return replace(target, oauth=self.oauth_for(target.user)) if oauth else target

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
        if not error["loc"] and message.startswith(ENV_PREFIX):
            raise ConfigError(message) from None  # a check across settings names its own
        raise ConfigError(f"{name}: {message}") from None
