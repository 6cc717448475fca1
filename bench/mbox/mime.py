"""A body's MIME structure and transfer encoding, as each mail client picks them."""

from __future__ import annotations

import base64
import binascii
import random

from .formats import boundary


def text_part(
    r: random.Random,
    client: str,
    text: str,
    ctype: str,
    force_cte: str | None = None,
    charset: str | None = None,
) -> tuple[list[str], str]:
    """Headers and payload of a text part, in the charset and encoding the client picks."""
    is_ascii = text.isascii()
    if charset is None:
        if is_ascii:
            charset = {"gmail": '"UTF-8"', "outlook": '"us-ascii"', "apple": "us-ascii"}.get(
                client, "us-ascii"
            )
        elif client == "outlook" and r.random() < 0.5:
            try:
                text.encode("iso-8859-1")
                charset = '"iso-8859-1"'
            except UnicodeEncodeError:
                charset = '"utf-8"'
        else:
            charset = '"UTF-8"' if client == "gmail" else "utf-8"
    codec = charset.strip('"').lower()
    longest = max(len(x) for x in text.split("\n"))
    cte = force_cte
    if cte is None:
        if client == "outlook" or not is_ascii or longest > 900:
            cte = "8bit" if (not is_ascii and r.random() < 0.15) else "quoted-printable"
        elif client == "apple" or r.random() < 0.3:
            cte = "7bit"
        else:
            cte = ""
    hdrs = [f"Content-Type: {ctype}; charset={charset}"]
    if cte:
        hdrs.append(f"Content-Transfer-Encoding: {cte}")
    if cte == "quoted-printable":
        payload = binascii.b2a_qp(text.encode(codec)).decode("ascii")
    elif cte == "base64":
        payload = base64.encodebytes(text.encode(codec)).decode("ascii")
    else:
        payload = text
    return hdrs, payload


def content(
    r: random.Random,
    client: str,
    plain: str,
    html_body: str | None,
    *,
    attach=None,
    no_close: bool = False,
    unknown_charset: bool = False,
) -> tuple[list[str], str]:
    """Returns (Content-Type related header lines, body)."""
    if unknown_charset:
        cs = r.choice(["x-unknown", "unknown-8bit", "x-user-defined", "windows-1259", "klingon"])
        return (
            [f'Content-Type: text/plain; charset="{cs}"', "Content-Transfer-Encoding: 8bit"],
            plain,
        )
    if html_body is not None:
        b = boundary(client, r)
        ph, pp = text_part(r, client, plain, "text/plain")
        hh, hp = text_part(r, client, html_body, "text/html")
        parts = [
            f"--{b}\n" + "\n".join(ph) + "\n\n" + pp.rstrip("\n") + "\n",
            f"--{b}\n" + "\n".join(hh) + "\n\n" + hp.rstrip("\n") + "\n",
        ]
        body = "\n".join(parts) + ("" if no_close else f"\n--{b}--\n")
        if client == "outlook":
            ctl = [f'Content-Type: multipart/alternative;\n\tboundary="{b}"']
        else:
            ctl = [f'Content-Type: multipart/alternative; boundary="{b}"']
        inner = (ctl, body)
    else:
        inner = text_part(r, client, plain, "text/plain")
    if attach is None:
        return inner
    b = boundary(client, r)
    first = "\n".join(inner[0]) + "\n\n" + inner[1].rstrip("\n") + "\n"
    parts = [f"--{b}\n{first}"]
    for ahdrs, apayload in attach:
        parts.append(f"--{b}\n" + "\n".join(ahdrs) + "\n\n" + apayload.rstrip("\n") + "\n")
    body = "\n".join(parts) + ("" if no_close else f"\n--{b}--\n")
    return [f'Content-Type: multipart/mixed; boundary="{b}"'], body
