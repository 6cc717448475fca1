"""SASL with an OAuth 2.0 bearer token over IMAP: XOAUTH2 (Google's and Microsoft's) and
OAUTHBEARER (RFC 7628).

aioimaplib sends XOAUTH2 but waits forever when the server refuses the token: the server then
sends a challenge carrying its error (RFC 7628 section 3.2.2), and only after the client's
answer to it (an empty line for XOAUTH2, a lone %x01 for OAUTHBEARER) the tagged NO. This
module runs the exchange with aioimaplib's protocol, answering that challenge.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aioimaplib import aioimaplib

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")  # preferred first


def _saslname(user: str) -> str:
    """RFC 5801 section 4: ',' and '=' escaped in a GS2 authzid."""
    return user.replace("=", "=3D").replace(",", "=2C")


def initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> str:
    if mechanism == "XOAUTH2":
        message = f"user={user}\x01auth=Bearer {token}\x01\x01"
    else:
        message = (
            f"n,a={_saslname(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
        )
    return base64.b64encode(message.encode()).decode("ascii")


def server_error(challenge: bytes) -> str:
    """The `status` of the JSON error a server sent in its challenge, if it sent one."""
    text = challenge.removeprefix(b"+").strip()
    try:
        said = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return ""
    return str(said.get("status", "")) if isinstance(said, dict) else ""


async def authenticate(
    protocol: Any, mechanism: str, initial: str, *, sasl_ir: bool
) -> tuple[aioimaplib.Response, str]:
    """AUTHENTICATE with the initial response; (the server's tagged answer, the status its
    error challenge named, if any). The caller races this against the connection and a timeout.
    """
    original = protocol._continuation
    sent = sasl_ir
    status = ""

    def continuation(line: bytes) -> None:
        nonlocal sent, status
        command = protocol.pending_sync_command
        if command is None or command.name != "AUTHENTICATE":
            original(line)
            return
        if not sent:  # no SASL-IR: the server asks for the initial response
            sent = True
            protocol.transport.write(initial.encode("ascii") + b"\r\n")
            return
        status = server_error(line) or status
        protocol.transport.write(b"AQ==\r\n" if mechanism == "OAUTHBEARER" else b"\r\n")

    protocol._continuation = continuation
    try:
        args = [mechanism, initial] if sasl_ir else [mechanism]
        command = aioimaplib.Command("AUTHENTICATE", protocol.new_tag(), *args, loop=protocol.loop)
        response = await protocol.execute(command, scrub=initial)
    finally:
        protocol._continuation = original
    return response, status
