"""How mail clients write dates, addresses, subjects, Message-IDs and MIME boundaries."""

from __future__ import annotations

import base64
import random
import re
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header

from .cast import Person

TZ_NAMES = {
    -480: "PST",
    -420: "MST",
    -360: "CST",
    -300: "EST",
    -240: "EDT",
    0: "UTC",
    60: "CET",
    120: "EET",
    330: "IST",
    540: "JST",
    600: "AEST",
}

_QP_UTF8 = Charset("utf-8")
_QP_UTF8.header_encoding = QP
_NEEDS_QUOTE = re.compile(r'[()<>@,;:\\".\[\]]')

SLASHLESS = str.maketrans("/", "_")


def date_header(dt: datetime) -> str:
    """An RFC 5322 Date."""
    off = dt.utcoffset() or timedelta(0)
    mins = int(off.total_seconds() // 60)
    sign = "+" if mins >= 0 else "-"
    mins = abs(mins)
    return f"{dt:%a}, {dt.day} {dt:%b %Y %H:%M:%S} {sign}{mins // 60:02d}{mins % 60:02d}"


def date_header_named(dt: datetime) -> str:
    """An RFC 5322 Date with the zone's name in a comment, as Postfix writes it."""
    name = TZ_NAMES.get(int((dt.utcoffset() or timedelta(0)).total_seconds() // 60))
    return date_header(dt) + (f" ({name})" if name else "")


def asctime(dt: datetime) -> str:
    """The date of an mbox envelope line, in UTC."""
    dt = dt.astimezone(UTC)
    return f"{dt:%a %b} {dt.day:2d} {dt:%H:%M:%S %Y}"


def random_b64(r: random.Random, n: int) -> str:
    """`n` random bytes in base64 (signatures, IDs)."""
    return base64.b64encode(r.randbytes(n)).decode("ascii")


def random_hex(r: random.Random, n: int) -> str:
    """`n` random hex digits."""
    return r.randbytes((n + 1) // 2).hex()[:n]


def fold(s: str, width: int, sep: str = "\n\t ") -> str:
    return sep.join(s[i : i + width] for i in range(0, len(s), width))


def wrap_text(text: str, width: int = 72) -> str:
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        cur = ""
        for w in line.split(" "):
            if cur and len(cur) + 1 + len(w) > width:
                out.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        out.append(cur)
    return "\n".join(out)


def display_name(name: str, r: random.Random) -> str:
    """A display name, quoted or RFC 2047-encoded as clients do."""
    if not name:
        return ""
    if not name.isascii():
        x = r.random()
        try:
            name.encode("latin-1")
            latin = True
        except UnicodeEncodeError:
            latin = False
        if latin and x < 0.35:
            return Header(name, "iso-8859-1").encode()
        if x < 0.75:
            return Header(name, "utf-8").encode()
        return Header(name, _QP_UTF8).encode()
    if _NEEDS_QUOTE.search(name) or r.random() < 0.3:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def address(
    p: Person | None, r: random.Random, email: str | None = None, name: str | None = None
) -> str:
    """An address as a header shows it, with the person's display name if any."""
    if p is not None:
        email = email or p.email
        name = p.name if name is None else name
        if p.outlook_name and name == p.name and p.last:
            name = f"{p.last}, {p.first}"
    assert email is not None
    if not name:
        return email if r.random() < 0.5 else f"<{email}>"
    return f"{display_name(name, r)} <{email}>"


def address_header(field: str, addrs: list[str]) -> str:
    """An address header, folded one address a line when long."""
    line = f"{field}: " + ", ".join(addrs)
    if len(line) <= 78 and "\n" not in line:
        return line
    return f"{field}: " + ",\n\t".join(addrs)


def subject_header(subject: str, field: str = "Subject") -> str:
    """A Subject (or another field), RFC 2047-encoded when not ASCII."""
    if subject.isascii():
        return f"{field}: {subject}"
    return f"{field}: " + Header(subject, "utf-8", header_name=field).encode()


def message_id(kind: str, r: random.Random, domain: str) -> str:
    """A Message-ID in the style of the client (or service) `kind`."""
    if kind == "gmail":
        core = random_b64(r, 33).translate(SLASHLESS).replace("+", "-")
        if r.random() < 0.5:
            core = core[:20] + "=" + core[21:]
        return f"<CA{r.choice('BFHJKLMNOP+')}{core}@mail.gmail.com>"
    if kind == "outlook":
        srv = (
            f"{r.choice(['DM6PR', 'BN8PR', 'SA1PR', 'PH0PR', 'CH2PR', 'AM9PR'])}"
            f"{r.randint(10, 19)}MB{r.randint(1000, 9999)}"
        )
        return (
            f"<{srv}{random_hex(r, 32).upper()}@{srv}.namprd{r.randint(10, 19)}"
            ".prod.outlook.example>"
        )
    if kind == "apple":
        h = random_hex(r, 32).upper()
        return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}>"
    if kind == "ses":
        return (
            f"<0100018{random_hex(r, 9)}-{random_hex(r, 8)}-{random_hex(r, 4)}-"
            f"{random_hex(r, 4)}-{random_hex(r, 4)}-{random_hex(r, 12)}"
            "-000000@email.amazonses.example>"
        )
    return f"<{r.randint(20260101000000, 20261231235959)}.{random_hex(r, 10).upper()}@{domain}>"


def boundary(client: str, r: random.Random) -> str:
    """A MIME boundary in the style of the client."""
    if client == "gmail":
        return "000000000000" + random_hex(r, 16)
    if client == "outlook":
        return (
            f"_000_{r.choice(['DM6PR', 'BN8PR', 'SA1PR'])}{r.randint(10, 19)}MB"
            f"{r.randint(1000, 9999)}{random_hex(r, 20).upper()}namprd12prodoutlookcom_"
        )
    if client == "apple":
        h = random_hex(r, 32).upper()
        return f"Apple-Mail=_{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return f"=_{random_hex(r, 24)}"


def received_for(rcpt: str | None) -> str:
    """The `for <rcpt>` clause of a Received header."""
    return f"\n\tfor <{rcpt}>" if rcpt else ""


def plain_address(p: Person) -> str:
    return f"{p.name} <{p.email}>"


def ampm(d: datetime, seconds: bool = False) -> str:
    """A 12-hour clock time, as forward and reply headers show it."""
    h = d.hour % 12 or 12
    s = f":{d.second:02d}" if seconds else ""
    return f"{h}:{d.minute:02d}{s} {'AM' if d.hour < 12 else 'PM'}"
