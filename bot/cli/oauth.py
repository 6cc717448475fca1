"""`handoff oauth authorize`: a person consents once; Handoff prints the refresh token to keep.

For a provider that needs a person's consent rather than an app's (a Google OAuth client
without a service account, a Microsoft app with delegated IMAP.AccessAsUser.All): the
authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252), so nothing but
this machine's browser and the provider take part. The refresh token is printed once, to be set
as HANDOFF_OAUTH_REFRESH_TOKEN; it is never logged.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli import UsageError
from bot.credentials import token_endpoint

if TYPE_CHECKING:
    from bot.cli import Commands
    from bot.config import Settings

AUTHORIZE = {
    "microsoft": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
    "google": "https://accounts.google.com/o/oauth2/v2/auth",
}
# What a person grants: the mailbox for IMAP and SMTP, and a token that outlives the session.
DELEGATED = {
    "microsoft": "https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/SMTP.Send offline_access",
    "google": "https://mail.google.com/",
}
WAIT_SECONDS = 600.0


def add(commands: Commands) -> None:
    oauth = commands.add_parser(
        "oauth",
        help="get an OAuth refresh token, once, where a person must consent",
        description="OAuth 2.0 helpers for HANDOFF_IMAP_AUTH/HANDOFF_SMTP_AUTH=oauth2.",
    )
    verbs = oauth.add_subparsers(dest="verb", required=True, metavar="VERB")
    authorize = verbs.add_parser(
        "authorize",
        help="open the provider's consent page and print the refresh token",
        description="Prints a URL to open in a browser; after consent the provider sends the "
        "browser back to this machine, and the refresh token is printed for "
        "HANDOFF_OAUTH_REFRESH_TOKEN. Uses HANDOFF_OAUTH_PROVIDER, _TENANT, _CLIENT_ID, "
        "_CLIENT_SECRET (if the client has one), _SCOPE and _TOKEN_URL.",
    )
    authorize.add_argument(
        "--port",
        type=int,
        default=0,
        help="the loopback port the provider redirects to (default: any free one); register "
        "http://localhost:PORT as the app's redirect URI where the provider wants it exact",
    )
    authorize.add_argument(
        "--authorize-url", help="the provider's authorization endpoint (default: the provider's)"
    )
    authorize.set_defaults(run=run, database=False)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from aiohttp import web
    from authlib.common.security import generate_token
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    provider = settings.oauth_provider.strip().lower()
    authorize_url = args.authorize_url or AUTHORIZE.get(provider, "").format(
        tenant=settings.oauth_tenant or "organizations"
    )
    if not authorize_url:
        raise UsageError("--authorize-url: required for the generic provider")
    if not settings.oauth_client_id:
        raise UsageError("HANDOFF_OAUTH_CLIENT_ID: required")
    token_url = token_endpoint(provider, settings.oauth_tenant, settings.oauth_token_url)
    if not token_url:
        raise UsageError("HANDOFF_OAUTH_TOKEN_URL: required for the generic provider")
    scope = settings.oauth_scope or DELEGATED.get(provider, "")
    secret = settings.oauth_client_secret

    got: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def back(request: web.Request) -> web.Response:
        if not got.done():
            got.set_result(dict(request.query))
        return web.Response(text="Handoff has the answer; you can close this tab.\n")

    app = web.Application()
    app.router.add_get("/", back)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(
            f"--port: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}"
        ) from None
    port = runner.addresses[0][1]
    redirect = f"http://localhost:{port}/"
    client = AsyncOAuth2Client(
        client_id=settings.oauth_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scope=scope,
        redirect_uri=redirect,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if secret else "none",
    )
    verifier = generate_token(64)
    extra = {"access_type": "offline", "prompt": "consent"} if provider == "google" else {}
    url, state = client.create_authorization_url(authorize_url, code_verifier=verifier, **extra)
    print(f"Open this in a browser on this machine and consent:\n\n  {url}\n", file=sys.stderr)
    try:
        try:
            answer = await asyncio.wait_for(got, WAIT_SECONDS)
        except TimeoutError:
            raise UsageError(f"no answer from the browser in {WAIT_SECONDS:.0f}s") from None
        if answer.get("state") != state:
            raise UsageError("the answer's state is not ours: start again")
        if "error" in answer:
            said = f"{answer['error']}: {answer.get('error_description', '')}".strip(": ")
            raise UsageError(f"{provider} refused: {said}")
        try:
            async with client:
                token = await client.fetch_token(
                    token_url, code=answer.get("code", ""), code_verifier=verifier
                )
        except OAuthError as exc:
            said = f"{exc.error}: {exc.description or ''}".strip(": ")
            raise UsageError(
                f"HANDOFF_OAUTH_TOKEN_URL: {provider} refused the code: {said}"
            ) from None
    finally:
        await runner.cleanup()
    refresh = token.get("refresh_token")
    if not refresh:
        raise UsageError(
            f"{provider} gave no refresh token (ask for offline access: HANDOFF_OAUTH_SCOPE)"
        )
    print("Keep this as HANDOFF_OAUTH_REFRESH_TOKEN (shown once):", file=sys.stderr)
    print(f"HANDOFF_OAUTH_REFRESH_TOKEN={refresh}")
    return 0
