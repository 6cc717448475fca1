"""Logging for `handoff`: one line per event on stderr, as text or JSON, secrets masked in both.

The format is read on its own (HANDOFF_LOG_FORMAT, from the environment or `.env`) before the
other settings, so that it applies even when another setting is wrong and to commands such as
`handoff demo` that need none. Masking happens in a filter on the handler, before any
formatting, so that neither format (nor a traceback) can carry a token or a password out.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, get_args
from urllib.parse import quote, unquote, urlsplit

from dotenv import dotenv_values
from pydantic import SecretStr

from bot.config import ENV_PREFIX, ConfigError, Settings, parse_log_format

MASK = "***"
SECRET_MIN = 4  # shorter values are not masked: they would turn up inside ordinary words

# Slack's tokens (docs.slack.dev/authentication/tokens): bot xoxb-, user xoxp-, app-level
# xapp-, and the rest of the family; masked wherever they appear, configured or not.
_TOKEN = re.compile(r"\b(xox[abeposr]|xapp)-[A-Za-z0-9-]+")
# scheme://user:password@host (RFC 3986 userinfo): the password goes, the rest stays readable.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@]+(@)")
# json.dumps leaves these raw with ensure_ascii=False, yet str.splitlines() and some log
# shippers break lines at them: escaped, one event stays one line.
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_PLAIN = logging.Formatter()


def _environment() -> dict[str, str]:
    """Settings' variables as pydantic-settings sees them: the environment over `.env`."""
    env_file = str(Settings.model_config.get("env_file") or ".env")
    try:
        values = {k.lower(): v for k, v in dotenv_values(env_file).items() if v is not None}
    except (OSError, UnicodeDecodeError):
        values = {}  # the settings themselves will say what is wrong with the file
    values.update({k.lower(): v for k, v in os.environ.items()})  # names are case-insensitive
    return values


def read_log_format() -> str:
    """HANDOFF_LOG_FORMAT as set (unchecked), without reading any other setting."""
    return _environment().get(f"{ENV_PREFIX}log_format".lower(), "text")


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _url_passwords(value: str) -> list[str]:
    """The passwords in a setting holding URLs (comma-separated, as HANDOFF_IMAP_URL)."""
    found = []
    for part in value.split(","):
        try:
            password = urlsplit(part.strip()).password
        except ValueError:
            continue
        if password:
            found += [password, unquote(password)]
    return found


def configured_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of every SecretStr setting that is set, and every password in a URL setting."""
    values = _environment() if environ is None else {k.lower(): v for k, v in environ.items()}
    found = []
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        variable = alias if isinstance(alias, str) else ENV_PREFIX + name.upper()
        raw = values.get(variable.lower())
        if not raw or not raw.strip():
            continue
        if _is_secret(info.annotation):
            found.append(raw.strip())
        found += _url_passwords(raw)  # HANDOFF_DATABASE_URL is no SecretStr, yet has one
    return found


class Redactor(logging.Filter):
    """Masks configured secrets, Slack tokens and URL passwords in a record, traceback too."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        values = {
            s
            for secret in secrets
            if len(secret) >= SECRET_MIN
            for s in (secret, quote(secret, safe=""))
        }
        self._values = sorted(values, key=len, reverse=True)  # a longer one may contain another

    def redact(self, text: str) -> str:
        """The text with every secret replaced by ***."""
        for value in self._values:
            text = text.replace(value, MASK)
        text = _TOKEN.sub(rf"\1-{MASK}", text)
        return _URL_PASSWORD.sub(rf"\1{MASK}\2", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - arguments that do not fit: shown anyway, masked
            message = f"{record.msg} {record.args!r}"
        # The message is fixed here, masked, so that no handler formats the raw arguments.
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO-8601, UTC), level, logger, message; exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False).translate(_LINE_BREAKS)


def setup_logging(command: str, fmt: str, *, secrets: Iterable[str] | None = None) -> None:
    """Log to stderr for one command (serve: INFO with times; others: WARNING), masked."""
    try:
        chosen = parse_log_format(fmt)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}LOG_FORMAT: {exc}") from None
    serving = command == "serve"
    handler = logging.StreamHandler()
    handler.addFilter(Redactor(configured_secrets() if secrets is None else secrets))
    if chosen == "json":
        handler.setFormatter(JsonFormatter())
    elif serving:
        # A service's log: one timestamped line per event.
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("handoff: %(levelname)s %(message)s"))
    # As before, through basicConfig: logging set up already (pytest, a host program) is kept.
    logging.basicConfig(level=logging.INFO if serving else logging.WARNING, handlers=[handler])
    if serving:
        logging.getLogger("aioimaplib").setLevel(logging.WARNING)
