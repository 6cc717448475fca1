"""OAuth 2.0 access tokens for IMAP and SMTP (SASL XOAUTH2, OAUTHBEARER RFC 7628).

Microsoft 365 takes only OAuth for IMAP and SMTP; a Google Workspace may too. A token comes from
the provider's token endpoint and is kept until shortly before it expires; when a server refuses
one (expired early, revoked), the next login fetches another. Tokens and secrets are never
logged, shown in errors, /metrics or --json.

- `microsoft`: app-only access with the client credentials grant (an Entra app with
  IMAP.AccessAsApp / SMTP.SendAsApp, granted the mailbox), or a refresh token.
- `google`: a service account with domain-wide delegation, acting as the mailbox user (the JWT
  bearer grant, RFC 7523, signed by google-auth with the key file), or a refresh token.
- `generic`: any token endpoint (HANDOFF_OAUTH_TOKEN_URL), client credentials or refresh token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from bot.credentials import OAuthConfig

EARLY = 300.0  # seconds before expiry a token is replaced (a fifth of a short lifetime)
TIMEOUT = 20.0


class OAuthRefused(Exception):  # noqa: N818 - a provider's answer, not a crash
    """The token endpoint refused us: a setting is wrong (one line naming it)."""


class OAuthUnavailable(Exception):  # noqa: N818 - a passing state
    """The token endpoint could not be reached or failed: try again later."""


# The setting an operator must look at when the provider answers with this error (RFC 6749
# section 5.2, and the AADSTS codes Microsoft puts in the description).
_BLAME = {
    "invalid_client": "HANDOFF_OAUTH_CLIENT_SECRET",
    "unauthorized_client": "HANDOFF_OAUTH_CLIENT_ID",
    "invalid_scope": "HANDOFF_OAUTH_SCOPE",
    "invalid_grant": "HANDOFF_OAUTH_REFRESH_TOKEN",
    "consent_required": "HANDOFF_OAUTH_CLIENT_ID",
}
_AADSTS = {
    "AADSTS90002": "HANDOFF_OAUTH_TENANT",  # tenant not found
    "AADSTS700016": "HANDOFF_OAUTH_CLIENT_ID",  # application not found in the directory
    "AADSTS7000215": "HANDOFF_OAUTH_CLIENT_SECRET",  # invalid client secret
    "AADSTS65001": "HANDOFF_OAUTH_CLIENT_ID",  # consent not granted
}


def _refusal(config: OAuthConfig, error: str, description: str) -> OAuthRefused:
    setting = next((s for code, s in _AADSTS.items() if code in description), None)
    if setting is None:
        setting = _BLAME.get(error, "HANDOFF_OAUTH_CLIENT_ID")
        if error == "invalid_grant" and config.grant == "jwt-bearer":
            setting = "HANDOFF_OAUTH_KEY_FILE"  # delegation missing, or the key revoked
    said = " ".join(f"{error}: {description}".split())[:300].rstrip(": ")
    return OAuthRefused(f"{setting}: {config.provider}'s token endpoint refused: {said}")


# Errors a token endpoint says are its own passing state (RFC 6749 section 4.1.2.1).
_PASSING = frozenset({"server_error", "temporarily_unavailable"})


class TokenSource:
    """Access tokens for one OAuthConfig, kept until shortly before they expire."""

    def __init__(self, config: OAuthConfig) -> None:
        self.config = config
        self._token: str | None = None
        self._renew_at = 0.0
        self._refresh_token = config.refresh_token  # a provider may rotate it

    def __repr__(self) -> str:
        return f"TokenSource({self.config.provider}, {self.config.grant})"

    async def token(self) -> str:
        if self._token is None or time.monotonic() >= self._renew_at:
            token, lifetime = await self._fetch()
            self._token = token
            self._renew_at = time.monotonic() + max(lifetime - min(EARLY, lifetime / 5), 0)
        return self._token

    def refused(self) -> None:
        """A server refused the token (expired, revoked): the next login fetches another."""
        self._token = None

    async def _fetch(self) -> tuple[str, float]:
        if self.config.grant == "jwt-bearer":
            return await asyncio.to_thread(self._service_account)
        return await self._grant()

    async def _grant(self) -> tuple[str, float]:
        from authlib.integrations.base_client.errors import OAuthError
        from authlib.integrations.httpx_client import AsyncOAuth2Client
        from httpx import HTTPError, HTTPStatusError

        config = self.config
        client = AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=config.scope,
            token_endpoint_auth_method="client_secret_post",
            timeout=TIMEOUT,
        )
        try:
            async with client:
                if self._refresh_token:
                    answer = await client.refresh_token(
                        config.token_url, refresh_token=self._refresh_token, scope=config.scope
                    )
                else:
                    answer = await client.fetch_token(
                        config.token_url, grant_type="client_credentials", scope=config.scope
                    )
        except OAuthError as exc:
            if exc.error in _PASSING:
                raise OAuthUnavailable(f"{config.provider}'s token endpoint: {exc.error}") from None
            raise _refusal(config, exc.error or "", exc.description or "") from None
        except HTTPStatusError as exc:  # an answer that is no token and no OAuth error
            status = exc.response.status_code
            raise OAuthUnavailable(
                f"{config.provider}'s token endpoint answered HTTP {status}"
            ) from None
        except (HTTPError, OSError, ValueError) as exc:  # unreachable, or not JSON
            raise OAuthUnavailable(
                f"{config.provider}'s token endpoint: {type(exc).__name__}"
            ) from None
        if answer.get("refresh_token"):
            self._refresh_token = answer["refresh_token"]
        return _token_of(answer)

    def _service_account(self) -> tuple[str, float]:
        from google.auth import exceptions
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        config = self.config
        assert config.key_file is not None
        try:
            info = json.loads(Path(config.key_file).read_text())
        except (OSError, ValueError) as exc:
            raise OAuthRefused(
                f"HANDOFF_OAUTH_KEY_FILE: not a service account key: {type(exc).__name__}"
            ) from None
        if self.config.token_url:
            info["token_uri"] = self.config.token_url
        try:
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=[config.scope], subject=config.user
            )
            credentials.refresh(Request())
        except exceptions.RefreshError as exc:
            error, description = _google_error(exc)
            raise _refusal(config, error, description) from None
        except (exceptions.TransportError, OSError) as exc:
            raise OAuthUnavailable(f"google's token endpoint: {type(exc).__name__}") from None
        except (ValueError, KeyError) as exc:
            raise OAuthRefused(
                f"HANDOFF_OAUTH_KEY_FILE: not a service account key: {type(exc).__name__}"
            ) from None
        expiry = credentials.expiry  # naive, in UTC
        lifetime = expiry.replace(tzinfo=UTC).timestamp() - time.time() if expiry else 3600.0
        return str(credentials.token), lifetime


def _token_of(answer: dict[str, Any]) -> tuple[str, float]:
    token = answer.get("access_token")
    if not token:
        raise OAuthUnavailable("the token endpoint answered without an access_token")
    try:
        lifetime = float(answer.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    return str(token), lifetime


def _google_error(exc: Exception) -> tuple[str, str]:
    """(error, description) out of google-auth's RefreshError."""
    details = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(details, dict):
        return str(details.get("error", "")), str(details.get("error_description", ""))
    return "invalid_grant", str(exc.args[0] if exc.args else exc)


async def with_fresh_token(source: TokenSource, log_in: Callable[[str], Awaitable[bool]]) -> bool:
    """`log_in(token)` with the kept token, and once more with a new one when the server
    refused it (expired early, revoked): whether a login was taken. Token errors propagate."""
    for _ in range(2):
        if await log_in(await source.token()):
            return True
        source.refused()
    return False


_sources: dict[OAuthConfig, TokenSource] = {}


def token_source(config: OAuthConfig) -> TokenSource:
    """The one source of tokens for these settings in this process."""
    source = _sources.get(config)
    if source is None:
        source = _sources[config] = TokenSource(config)
    return source
