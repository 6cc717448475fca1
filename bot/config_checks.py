"""The checks of single settings (bot/config.py applies them): each value cleaned, or a
ValueError that says what is wrong without echoing a secret."""

from __future__ import annotations

import re
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationInfo

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
MAILBOX = re.compile(r"^[a-z0-9._%-]+@[a-z0-9.-]+$")
# Slack ids: users U…/W…, user groups (subteams) S…; a group may also be named by its handle.
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
SLACK_HANDLE = re.compile(r"^@?[a-z0-9][a-z0-9._-]{0,79}$")


def secret(value: object) -> object:
    if value is None or isinstance(value, SecretStr):
        return value
    if not str(value).strip():
        return None
    if len(str(value).strip()) < 16:
        raise ValueError("too short: use at least 16 random characters (openssl rand -hex 32)")
    return str(value).strip()


def mail_from(value: object) -> object:
    if value is None or not str(value).strip():
        return None
    name, address = parseaddr(str(value).strip())
    if not MAILBOX.match(address.lower()) or "\n" in str(value) or "\r" in str(value):
        raise ValueError(
            f"{value!r} is not an address (expected e.g. Ours <partners@ours.example>)"
        )
    return formataddr((name, address.lower())) if name else address.lower()


def domains(value: object) -> object:
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, list):
        domains = [str(d).strip().lower().lstrip("@") for d in value]
        bad = [d for d in domains if not DOMAIN.match(d)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a domain name (expected e.g. ours.example)")
        return domains
    return value


def mailbox(value: object) -> object:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if not MAILBOX.match(text) or "+" in text:
        raise ValueError(
            f"{value!r} is not a plain mailbox address (expected e.g. partners@ours.example)"
        )
    return text


def database_url(value: str) -> str:
    scheme = value.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgres") or "://" not in value:
        raise ValueError(
            f"unsupported database URL {scheme + '://…'!r} "
            "(expected sqlite:///path/handoff.db or postgresql://user@host/db)"
        )
    return value


def currency(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (e.g. USD, EUR, GBP)")
    return code


def slack_token(value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
    if value is None or not value.get_secret_value().strip():
        return None
    prefix = "xoxb-" if info.field_name == "slack_bot_token" else "xapp-"
    if not value.get_secret_value().strip().startswith(prefix):
        kind = "bot token" if prefix == "xoxb-" else "app-level token (Socket Mode)"
        # Never echo a token, not even a wrong one.
        raise ValueError(f"not a Slack {kind}: it should start with {prefix}")
    return SecretStr(value.get_secret_value().strip())


def blank_secret(value: SecretStr | None) -> SecretStr | None:
    return value if value is not None and value.get_secret_value().strip() else None


def api_url(value: str) -> str:
    url = urlsplit(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError("not an http(s) URL (expected e.g. https://slack.com/api/)")
    # slack_sdk appends the method name to the base URL.
    return value.strip().rstrip("/") + "/"


def channel(value: object) -> object:
    text = str(value).strip().lstrip("#") if value is not None else ""
    if not text or len(text) > 80 or any(c.isspace() for c in text):
        raise ValueError(f"{value!r} is not a channel id or name (expected e.g. partner-intros)")
    return text


def group(value: object) -> object:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if not (SLACK_GROUP.match(text) or SLACK_HANDLE.match(text)):
        raise ValueError(f"{text!r} is not a user group id (S…) or handle (@sales-reps)")
    return text


def managers(value: object) -> object:
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, list):
        bad = [
            str(v)
            for v in value
            if not (
                SLACK_USER.match(str(v)) or SLACK_GROUP.match(str(v)) or SLACK_HANDLE.match(str(v))
            )
        ]
        if bad:
            raise ValueError(
                f"{bad[0]!r} is not a Slack user id (U…), user group id (S…) or group handle"
            )
    return value
