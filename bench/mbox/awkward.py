"""Awkward intros: no Message-ID, a big base64 attachment, an unknown charset, no final boundary."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from .formats import random_hex
from .intros import intro_mail, new_intro

if TYPE_CHECKING:
    from .generator import Generator


def awkward(g: Generator) -> bool:
    """An intro with one awkward trait: no Message-ID, a PDF, an odd charset, a cut MIME body."""
    r = g.r
    kind = r.choices(
        ["no_msgid", "attachment", "unknown_charset", "no_final_boundary"], [33, 10, 28, 29]
    )[0]
    g.detail(f"awkward.{kind}")
    it = new_intro(g)
    bcc = r.random() < 0.1
    rep_cc = it.rep is not None and r.random() < 0.8
    if kind == "no_msgid":
        mail = intro_mail(g, it, rep_in_cc=rep_cc, bcc=bcc, msgid=False)
    elif kind == "attachment":
        size = int(r.triangular(50_000, 200_000, 70_000))
        pdf = (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            + r.randbytes(size - 120)
            + b"\n%%EOF\n"
        )
        fname = f"{re.sub(r'[^A-Za-z0-9]+', '_', it.company)}_overview.pdf"
        b64 = base64.encodebytes(pdf).decode("ascii")
        att = [
            (
                [
                    f'Content-Type: application/pdf; name="{fname}"',
                    f'Content-Disposition: attachment; filename="{fname}"; size={len(pdf)}',
                    "Content-Transfer-Encoding: base64",
                    f"Content-ID: <f_{random_hex(r, 10)}>",
                ],
                b64,
            )
        ]
        mail = intro_mail(g, it, rep_in_cc=rep_cc, bcc=bcc, attach=att)
    elif kind == "unknown_charset":
        mail = intro_mail(g, it, rep_in_cc=rep_cc, bcc=bcc, unknown_charset=True)
    else:
        mail = intro_mail(g, it, rep_in_cc=rep_cc, bcc=bcc, no_close=True, force_mp=True)
    g.register(it, mail if kind != "no_msgid" else None)
    g.emit(mail, g.now + timedelta(seconds=r.randint(2, 90)))
    return True
