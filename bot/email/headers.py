"""Pure: header values as people wrote them, whatever the encoding: RFC 2047 encoded-words,
raw UTF-8 (RFC 6532), unknown charsets, and address lists a lenient reader still makes sense of."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from email.header import Header, decode_header
from email.utils import getaddresses
from typing import NamedTuple

_MAX_HEADER = 16 * 1024  # characters of one header value decoded (a Subject, say)


ADDR_SPEC = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


class Address(NamedTuple):
    name: str | None
    email: str  # lower-cased addr-spec

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    def display(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


def clean(text: str) -> str:
    """Drop NUL and other C0 controls but tab and newlines (PostgreSQL text cannot hold NUL)."""
    return _CONTROLS.sub("", text)


# Lone surrogates too: no database stores them (an encoded-word can produce one).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


_ENCODED_WORD = re.compile(r"=\?[^?\s]{1,40}\?[bBqQ]\?[^?\s]{0,1000}\?=")


def decode(value: object) -> str:
    """Decode an RFC 2047 header value in any charset, falling back rather than failing."""
    if value is None:
        return ""
    if isinstance(value, Header):
        # Raw 8-bit text (RFC 6532 allows UTF-8 headers): compat32 wraps it as unknown-8bit,
        # whose str() is U+FFFD; its bytes are read as UTF-8 (cp1252 failing that), and any
        # encoded-word written beside them is decoded on its own.
        text = raw_text(value)[:_MAX_HEADER]
        return " ".join(_ENCODED_WORD.sub(lambda m: decode(m[0]), text).split())
    text = str(value)[:_MAX_HEADER]
    if "=?" not in text and text.isascii():
        return " ".join(text.split())
    try:
        parts = decode_header(text)
    except Exception:  # noqa: BLE001 - a malformed encoded-word is kept as written
        parts = [(text, None)]
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "surrogateescape")
        out.append(decode_bytes(chunk, charset))
    return " ".join("".join(out).split())


def raw_text(value: object) -> str:
    """A header's value as text, its raw 8-bit bytes (RFC 6532) read as UTF-8 or cp1252."""
    if isinstance(value, Header):
        return "".join(
            decode_bytes(chunk[: _MAX_HEADER * 4], None) if isinstance(chunk, bytes) else chunk
            for chunk, _ in decode_header(value)
        )
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decode_bytes(data: bytes, charset: str | None) -> str:
    for candidate in (_text_codec(charset), "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except Exception:  # noqa: BLE001, S112 - any codec failure: try the next one
            continue
    return data.decode("cp1252", "replace")


def _text_codec(charset: str | None) -> str | None:
    """A charset a message may name, if it is a real text encoding (not unicode_escape, rot13…)."""
    if not charset:
        return None
    try:
        info = codecs.lookup(charset.strip().strip('"'))
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or "escape" in info.name:
        return None
    return info.name


def addresses(values: Sequence[object]) -> list[Address]:
    """Addresses of one header (all its occurrences), names decoded, lower-cased, de-duplicated."""
    found: dict[str, Address] = {}
    raw_values = [raw_text(v) for v in values if v is not None]
    try:
        pairs = [pair for v in raw_values for pair in _simple_addresses(v[: _MAX_HEADER * 4])]
    except Exception:  # noqa: BLE001 - e.g. RecursionError on "((((…": take the bare addresses
        pairs = [("", found) for v in raw_values for found in ADDR_SPEC.findall(v[:_MAX_HEADER])]
    for name, addr in pairs:
        addr = clean(addr).strip().strip("<>").lower()
        if "@" not in addr or " " in addr or addr.startswith("@") or addr.endswith("@"):
            continue
        if addr not in found:
            display = decode(name).strip().strip("'\"").strip() or None
            if display and display.lower() == addr:
                display = None
            found[addr] = Address(clean(display) if display else None, addr)
    return list(found.values())


# `Name <addr>` and bare `addr`, the forms nearly every header takes; anything else (quotes,
# comments, groups, routes) goes to getaddresses, the full RFC 5322 parser (and 10x slower).
_SIMPLE = re.compile(
    r"\s*(?:([^\"<>,;:@()\\]*?)\s*<([^<>\s,;:\"()\\]+@[^<>\s,;:\"()\\]+)>"
    r"|([^<>\s,;:\"()\\]+@[^<>\s,;:\"()\\]+))\s*"
)


def _simple_addresses(value: str) -> list[tuple[str, str]]:
    pairs = []
    for part in value.split(","):
        match = _SIMPLE.fullmatch(part)
        if match is None:
            if part.strip():
                return getaddresses([value])
            continue
        pairs.append((match[1] or "", match[2] or match[3]))
    return pairs
