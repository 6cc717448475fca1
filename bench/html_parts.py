"""Benchmark: HTML parts to text (bot.email.html, quoted_text), crafted and real (target: linear).

    uv run python bench/html_parts.py [--mib 4]

First crafted parts of --mib MiB (the size html_to_text reads, _MAX_HTML) built to make a parser
super-linear: open tags without end, deep nesting, many attributes, formatting elements left open
across blocks (lexbor/lexbor#340). Then every text/html part of the .eml files in the shared MIME
and reply corpora (../shared/corpora), read with the stdlib email package: their count and total
time. The issue's target is a 4 MB part in under a second on the two-core CI machine.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import own_settings, scaled  # noqa: E402
from bot.email.extract_html import quoted_text  # noqa: E402
from bot.email.html import html_to_text  # noqa: E402

CORPORA = HERE.parent.parent / "shared" / "corpora"


def crafted(size: int) -> dict[str, str]:
    """Parts of about `size` characters, each aimed at one super-linear path of a parser."""
    n = size // 8
    return {
        '"<a " repeated': "<a " * (size // 3),
        "nested <div>": "<div>" * (size // 5),
        "nested <blockquote>": "<blockquote>" * (size // 12),
        "nested <div>, then <p>s": "<div>" * 1000 + "<p>x</p>" * (size // 8),
        "unclosed comments": "<!--" * (size // 4),
        "a million attributes": "<div " + "a=1 " * (size // 4) + ">x</div>",
        "distinct attributes": "<div " + "".join(f"a{i} " for i in range(size // 8)) + ">x",
        "distinct <b>s left open": "".join(f"<b {i}>" for i in range(n // 8)) + "<p>x" * n,
        "<b> <i> misnested (#340)": "".join(f"<b {i}><i {i}>" for i in range(n // 2)) + "x</b>" * n,
        "<select> of <option>s": "<select>" + "<option>x" * (size // 9),
        "<span>s then </div>s": "<div>" + "<span>" * 250 + "</div>" * (size // 6),
        "<table> rows": "<table>" + "<tr><td>x</td><td>y</td></tr>" * (size // 29),
        "<br>s": "<br>" * (size // 4),
        "text": "word " * (size // 5),
    }


def timed(convert: Callable[[str], str], html: str) -> float:
    started = time.perf_counter()
    convert(html)
    return time.perf_counter() - started


def html_parts() -> list[str]:
    """Every text/html part in the corpora's .eml files."""
    parts: list[str] = []
    for path in sorted([*CORPORA.glob("mime/**/*.eml"), *CORPORA.glob("reply/**/*.eml")]):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/html":
                try:
                    parts.append(str(part.get_content()))
                except (LookupError, ValueError):  # an unknown charset, as intake meets it
                    payload = part.get_payload(decode=True)
                    parts.append(payload.decode("utf-8", "replace") if payload else "")
    return parts


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    own_settings()
    mib = scaled(4 * 1024 * 1024) / (1024 * 1024)  # tests run it at 0.01 of the size
    options.add_argument("--mib", type=float, default=mib, help="size of each crafted part")
    args = options.parse_args()
    size = int(args.mib * 1024 * 1024)
    print(f"crafted parts of {size / 1e6:.1f} MB      html_to_text  quoted_text")
    for name, html in crafted(size).items():
        print(f"  {name:30} {timed(html_to_text, html):8.2f} s {timed(quoted_text, html):8.2f} s")
    parts = html_parts()
    if not parts:
        print(f"no corpora under {CORPORA}")
        return
    total = sum(len(p) for p in parts)
    to_text = sum(timed(html_to_text, p) for p in parts)
    quoted = sum(timed(quoted_text, p) for p in parts)
    print(f"corpora: {len(parts)} text/html parts, {total / 1e3:.0f} kB")
    print(f"  html_to_text {to_text:.3f} s, quoted_text {quoted:.3f} s in all")


if __name__ == "__main__":
    main()
