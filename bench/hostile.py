"""Benchmark: hostile mail through the parser, the way intake reads it (target: linear time).

    uv run python bench/hostile.py [--kib 256]

Each body is made of lines that look like the start of a forwarded block (Outlook's underscore
separator, Gmail's marker, `From:` lines under a `Fwd:` subject, signature dashes, quoting), the
size of the body text intake keeps (256 KiB; a larger mail is cut to it), then the same at a
quarter of that size: linear time takes about a quarter of the time. Then a message of tiny MIME
parts (8 MB, ~200,000 parts at scale 1) with the parser's peak memory. Each case runs in a child
process of its own, so that one case's memory is not the next one's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import own_settings, scaled  # noqa: E402

LINES = {
    "outlook separators": ("Hi", "__________\n"),
    "gmail markers": ("Fwd: hi", "---------- Forwarded message ---------\n"),
    "From: lines, Fwd: subject": ("Fwd: hi", "From: x\n"),
    "From:/To: blocks": ("Fwd: hi", "From: a@b.example\nTo: c@d.example\n"),
    "quoted markers": ("Re: hi", "> > -----Original Message-----\n"),
    "signature dashes": ("Re: hi", "-- \n"),
    "Yahoo one-line blocks": ("Fwd: hi", "----- Forwarded Message ----- From: a To: b\n"),
    "blank-separated From lines": ("FW: hi", "From: a@b.example\n\n"),
    "attributions under FW:": ("FW: hi", "On Mon, a@b.example wrote:\n"),
}
# Whole 4 MB bodies, as received (intake keeps 256 KiB of text; the parser reads all of it).
BLOCKS_4MB = {
    "one header block as long as that": (
        "Fwd: hi",
        "---------- Forwarded message ---------\nFrom: a@b.example\n",
        "To: c@d.example\n",
        "text/plain",
    ),
    "Yahoo's one-line block as long as that": (
        "Fwd: hi",
        "----- Forwarded Message ----- From: a@b.example",
        " To: c@d.example",
        "text/plain",
    ),
    "HTML header lines": (
        "Fwd: hi",
        "<div>---------- Forwarded message ---------</div>",
        '<div><b>From:</b> <a title="1 > 0" href="mailto:a@b.example">A</a></div>',
        "text/html",
    ),
    "HTML nesting": ("Fwd: hi", "", "<div><blockquote>", "text/html"),
    "HTML <br>s": ("Fwd: hi", "", "<br>", "text/html"),
    "HTML <div>s, then <p>s": ("Fwd: hi", "<div>" * 1000, "<p>x</p>", "text/html"),
}

CHILD = """
import json, resource, sys, time
from bot.email.parse import parse
from bot.email.extract import split_reply
raw = sys.stdin.buffer.read()
started = time.perf_counter()
parsed = parse(raw)
parsed_at = time.perf_counter()
split_reply(parsed.text)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "parse": parsed_at - started, "peak_mb": peak,
                  "defects": list(parsed.defects)}))
"""


def message(subject: str, body: str, content_type: str = "text/plain") -> bytes:
    head = (
        "From: Dana <dana@acme.example>\r\nTo: partners@ours.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <hostile@acme.example>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )
    return (head + body).encode()


def measure(raw: bytes) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=raw,
        capture_output=True,
        check=True,
        env={"PYTHONPATH": str(HERE.parent), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> int:
    own_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=256, help="body size of the line cases")
    parser.add_argument("--parts", type=int, default=scaled(200_000), help="tiny MIME parts")
    args = parser.parse_args()
    print(f"{'body of':<28}{args.kib:>6} KiB{args.kib // 4:>9} KiB   ratio (linear: ~4)")
    for name, (subject, line) in LINES.items():
        times = []
        for kib in (args.kib, args.kib // 4):
            body = line * (kib * 1024 // len(line))
            times.append(float(measure(message(subject, body))["seconds"]))  # type: ignore[arg-type]
        ratio = times[0] / times[1] if times[1] else float("nan")
        print(f"{name:<28}{times[0]:>8.3f} s{times[1]:>9.3f} s   {ratio:.1f}")
    size = scaled(4 * 1024 * 1024)  # tests run it at 0.01 of the size
    print(f"\n{f'a body of {size / 2**20:.2f} MiB':<44}{'parse':>9}{'+ reply split':>15}")
    for name, (subject, head, line, ctype) in BLOCKS_4MB.items():
        body = head + line * ((size - len(head)) // len(line))
        seen = measure(message(subject, body, ctype))
        parsed, total = float(seen["parse"]), float(seen["seconds"])  # type: ignore[arg-type]
        print(f"{name:<44}{parsed:>7.3f} s{total:>13.3f} s")
    parts = "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * args.parts + "--b--\r\n"
    raw = message("hi", parts, 'multipart/mixed; boundary="b"')
    seen = measure(raw)
    print(
        f"{args.parts:,} tiny MIME parts ({len(raw) / 1e6:.1f} MB): {seen['seconds']:.2f} s, "
        f"peak RSS {seen['peak_mb']:.0f} MB; {', '.join(seen['defects']) or 'no defect'}"  # type: ignore[arg-type]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
