"""How Handoff signs in to mail servers with OAuth 2.0: HANDOFF_OAUTH_*, checked and completed
with the provider's defaults (bot/mail/oauth.py fetches the tokens)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROVIDERS: dict[str, tuple[str, str]] = {
    # provider: (token endpoint, default scope)
    "microsoft": (
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "https://outlook.office365.com/.default",
    ),
    "google": ("https://oauth2.googleapis.com/token", "https://mail.google.com/"),
    "generic": ("", ""),
}


def token_endpoint(provider: str, tenant: str | None, override: str | None) -> str:
    """HANDOFF_OAUTH_TOKEN_URL, else the provider's endpoint (Microsoft's names the tenant;
    "organizations" is any work account's); "" for the generic provider without one."""
    default = PROVIDERS.get(provider, ("", ""))[0]
    return override or default.format(tenant=tenant or "organizations")


@dataclass(frozen=True)
class OAuthConfig:
    """HANDOFF_OAUTH_*: where tokens come from. Its repr shows no secret."""

    provider: str
    token_url: str
    scope: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    key_file: str | None = None  # google: the service account's JSON key
    user: str | None = None  # google: the mailbox the service account acts as

    @property
    def grant(self) -> str:
        if self.refresh_token:
            return "refresh_token"
        if self.provider == "google" and self.key_file:
            return "jwt-bearer"
        return "client_credentials"


def oauth_config(
    *,
    provider: str,
    tenant: str | None,
    token_url: str | None,
    scope: str | None,
    client_id: str | None,
    client_secret: str | None,
    refresh_token: str | None,
    key_file: str | None,
    user: str | None,
) -> OAuthConfig:
    """The settings checked and completed with the provider's defaults; ValueError says which
    setting is missing."""
    if provider not in PROVIDERS:
        raise ValueError(
            f"HANDOFF_OAUTH_PROVIDER: {provider!r} is not microsoft, google or generic"
        )
    if provider == "microsoft" and not token_url and not tenant:
        raise ValueError("HANDOFF_OAUTH_TENANT: required for microsoft (the directory's id)")
    url = token_endpoint(provider, tenant, token_url)
    if not url:
        raise ValueError("HANDOFF_OAUTH_TOKEN_URL: required for the generic provider")
    if provider == "google" and not refresh_token:
        if not key_file:
            raise ValueError(
                "HANDOFF_OAUTH_KEY_FILE: google needs the service account's key file "
                "(or HANDOFF_OAUTH_REFRESH_TOKEN)"
            )
        if not Path(key_file).is_file():
            raise ValueError(f"HANDOFF_OAUTH_KEY_FILE: no such file {key_file}")
    elif not client_id:
        raise ValueError("HANDOFF_OAUTH_CLIENT_ID: required")
    elif not refresh_token and not client_secret:
        raise ValueError(
            "HANDOFF_OAUTH_CLIENT_SECRET: required for the client credentials grant "
            "(or set HANDOFF_OAUTH_REFRESH_TOKEN)"
        )
    return OAuthConfig(
        provider=provider,
        token_url=url,
        scope=scope or PROVIDERS[provider][1],
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        key_file=key_file,
        user=user,
    )
