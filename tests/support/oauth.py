"""A token endpoint (RFC 6749, with the JWT bearer grant of RFC 7523) and an introspection
endpoint (RFC 7662) on loopback, issuing short-lived tokens: what Microsoft's and Google's
token services and a mail server's token check are to Handoff, in the shapes they publish."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from tests.support.ports import free_port

ASSERTION = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# A service account's assertion names Google's token endpoint as audience, wherever it is sent.
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass
class Issued:
    token: str
    user: str
    expires: float


@dataclass
class TokenStandIn:
    client_id: str = "handoff-app"
    client_secret: str = "app-s3cret"
    mailbox: str = "partners@ours.example"  # the mailbox the app was granted
    lifetime: float = 3600.0
    refresh_token: str | None = None
    public_key: Any = None  # a service account's key: JWT assertions are checked with it
    service_account: str = "handoff@project.iam.gserviceaccount.com"
    issued: list[Issued] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    grants: list[str] = field(default_factory=list)  # the grant_type of every request
    introspected: int = 0
    inactive: int = 0  # introspections answered "not active": a token used expired or revoked
    down: bool = False  # the token service has an outage: 503, as a provider's does
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code: (challenge, redirect)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    async def start(self) -> TokenStandIn:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)  # Microsoft's shape
        app.router.add_post("/introspect", self._introspect)
        app.router.add_get("/authorize", self._authorize)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def revoke_all(self) -> None:
        """Every token issued so far stops working (an admin revoked the app's sessions)."""
        self.revoked.update(i.token for i in self.issued)

    def _error(self, status: int, error: str, description: str) -> web.Response:
        return web.json_response({"error": error, "error_description": description}, status=status)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        self.grants.append(grant)
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        tenant = request.match_info.get("tenant")
        if tenant is not None and tenant != "contoso.onmicrosoft.com":
            return self._error(
                400,
                "invalid_request",
                f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )
        if grant == ASSERTION:
            return self._assertion(str(form.get("assertion", "")))
        if form.get("client_id") != self.client_id:
            return self._error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not "
                "found in the directory.",
            )
        if grant == "client_credentials":
            if form.get("client_secret") != self.client_secret:
                return self._error(
                    401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
                )
            if not str(form.get("scope", "")).endswith("/.default"):
                return self._error(
                    400,
                    "invalid_scope",
                    "AADSTS1002012: The provided value for scope is not valid.",
                )
            return self._issue(self.mailbox)
        if grant == "authorization_code":
            challenge, redirect = self.codes.pop(str(form.get("code", "")), ("", ""))
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            if not challenge or form.get("redirect_uri") != redirect:
                return self._error(400, "invalid_grant", "AADSTS70000: The code is not valid.")
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                return self._error(
                    400,
                    "invalid_grant",
                    "AADSTS501481: The Code_Verifier does not match the code_challenge supplied.",
                )
            self.refresh_token = "1//" + secrets.token_urlsafe(24)
            return self._issue(self.mailbox, refresh=self.refresh_token)
        if grant == "refresh_token":
            if self.refresh_token is None or form.get("refresh_token") != self.refresh_token:
                return self._error(400, "invalid_grant", "Token has been expired or revoked.")
            return self._issue(self.mailbox)
        return self._error(400, "unsupported_grant_type", grant)

    def _assertion(self, assertion: str) -> web.Response:
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=GOOGLE_AUDIENCE,
                issuer=self.service_account,
            )
        except jwt.PyJWTError as exc:
            return self._error(400, "invalid_grant", f"Invalid JWT Signature. ({exc})")
        if claims.get("sub") != self.mailbox:
            return self._error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
            )
        return self._issue(str(claims["sub"]))

    def _issue(self, user: str, *, refresh: str | None = None) -> web.Response:
        token = "ya29." + secrets.token_urlsafe(24)
        self.issued.append(Issued(token, user, time.time() + self.lifetime))
        answer: dict[str, object] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if refresh:
            answer["refresh_token"] = refresh
        return web.json_response(answer)

    async def _authorize(self, request: web.Request) -> web.Response:
        """The consent page, consented at once: back to the redirect URI with a code."""
        query = request.query
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return web.Response(status=400, text="unknown client\n")
        if query.get("code_challenge_method") != "S256" or not redirect.startswith(
            "http://localhost:"
        ):
            return web.Response(status=400, text="PKCE S256 and a loopback redirect, please\n")
        code = secrets.token_urlsafe(16)
        self.codes[code] = (query.get("code_challenge", ""), redirect)
        state = query.get("state", "")
        raise web.HTTPFound(f"{redirect}?code={code}&state={state}")

    async def _introspect(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.introspected += 1
        token = str(form.get("token", ""))
        found = next((i for i in self.issued if i.token == token), None)
        if found is None or token in self.revoked or found.expires <= time.time():
            self.inactive += 1
            return web.json_response({"active": False})
        return web.json_response(
            {"active": True, "username": found.user, "exp": int(found.expires)}
        )
