#!/usr/bin/env python3
"""Benchmark: reply extraction, Handoff against talon, email-reply-parser and mail-parser-reply.

    uv run --group bench python -m bench.replies [--verbose] [--json]

Every fixture of the reply corpora in ../shared/corpora/reply that has a label in
tests/fixtures/replies/, and each of our own cases in tests/fixtures/replies/own/ (replies to a
Handoff digest in nine languages, read as intake reads them), goes through each tool; a tool
scores a fixture when its output equals the label once whitespace is collapsed. Also printed:
the mean character-level similarity (difflib ratio) of output to label. HTML-only fixtures
reach the plain-text libraries as Handoff's rendering of the HTML (they take no HTML); talon
gets the HTML itself.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora" / "reply"
LABELS = ROOT / "tests" / "fixtures" / "replies"
sys.path.insert(0, str(ROOT))

from bot.email.extract import new_text  # noqa: E402
from bot.email.html import html_to_text  # noqa: E402
from bot.email.parse import parse  # noqa: E402


@dataclass(frozen=True)
class Fixture:
    name: str  # path under the corpus folder, without suffix
    folder: str
    text: str
    html: str | None
    label: str


def fixtures() -> list[Fixture]:
    """Every labelled corpus fixture, as the text (and HTML) a reply handler would be given."""
    found = []
    for label in sorted(LABELS.rglob("*.txt")):
        name = label.relative_to(LABELS).with_suffix("").as_posix()
        expected = label.read_text(encoding="utf-8").strip("\n")
        if (own := label.with_suffix(".eml")).is_file():  # our own cases: as intake reads them
            parsed = parse(own.read_bytes())
            found.append(Fixture(name, "own", parsed.text, parsed.html or None, expected))
            continue
        source = next(
            (p for s in (".txt", ".eml", ".html") if (p := CORPORA / (name + s)).is_file()), None
        )
        if source is None:
            continue
        raw = source.read_bytes()
        if source.suffix == ".eml":
            text, html = parse(raw).text, None
        elif source.suffix == ".html":
            text, html = "", raw.decode("utf-8")
        else:
            text, html = raw.decode("utf-8"), None
        found.append(Fixture(name, name.split("/")[0], text, html, expected))
    return found


def normal(text: str | None) -> str:
    return " ".join((text or "").split())


def handoff(f: Fixture) -> str:
    return new_text(f.text, f.html)


def tools() -> dict[str, Callable[[Fixture], str]]:
    import talon
    from email_reply_parser import EmailReplyParser as Erp
    from mailparser_reply import EmailReplyParser as Mpr
    from mailparser_reply.constants import MAIL_LANGUAGES
    from talon import quotations
    from talon.signature.bruteforce import extract_signature

    warnings.filterwarnings("ignore")  # html5lib, under talon, warns on every Outlook namespace
    talon.init()
    mpr = Mpr(languages=list(MAIL_LANGUAGES))

    def plain(f: Fixture) -> str:
        return f.text if f.html is None else html_to_text(f.html)

    def run_talon(f: Fixture) -> str:
        if f.html is None:
            reply = quotations.extract_from_plain(f.text)
        else:
            # Rendered with Handoff's converter, one line per block: talon's own html_to_text
            # puts "Thanks, Alex" on one line, where its signature step can no longer see it.
            rendered = html_to_text(quotations.extract_from_html(f.html))
            reply = "\n".join(line for line in rendered.splitlines() if line.strip())
        return str(extract_signature(reply)[0])

    return {
        "handoff": handoff,
        "talon": run_talon,
        "email-reply-parser": lambda f: str(Erp.parse_reply(plain(f))),
        "mail-parser-reply": lambda f: mpr.parse_reply(text=plain(f)) or "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list each tool's misses")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    cases = fixtures()
    if not cases:
        print(f"no labelled fixtures found under {CORPORA}", file=sys.stderr)
        return 0
    runners = tools()
    results: dict[str, dict[str, tuple[bool, float]]] = {}
    seconds: dict[str, float] = {}
    for tool, run in runners.items():
        started = time.perf_counter()
        results[tool] = {}
        for f in cases:
            try:
                out = normal(run(f))
            except Exception as exc:  # a library failing on a fixture is a miss, not a crash
                out = f"<{type(exc).__name__}>"
            want = normal(f.label)
            ratio = difflib.SequenceMatcher(None, out, want).ratio() if out or want else 1.0
            results[tool][f.name] = (out == want, ratio)
        seconds[tool] = time.perf_counter() - started

    groups = {"overall": cases}
    for f in cases:
        groups.setdefault(f.folder, []).append(f)
    table = {
        group: {
            tool: {
                "fixtures": len(members),
                "exact": sum(results[tool][f.name][0] for f in members),
                "similarity": sum(results[tool][f.name][1] for f in members) / len(members),
            }
            for tool in runners
        }
        for group, members in sorted(groups.items(), key=lambda g: g[0] == "overall")
    }
    misses = {tool: [name for name, (ok, _) in results[tool].items() if not ok] for tool in runners}
    if args.json:
        print(json.dumps({"table": table, "misses": misses, "seconds": seconds}, indent=2))
        return 0

    width = max(len(tool) for tool in runners)
    print(f"{'folder':<20} {'n':>3}  " + "  ".join(f"{tool:>{width}}" for tool in runners))
    for group, row in table.items():
        n = next(iter(row.values()))["fixtures"]
        exact = "  ".join(
            f"{row[t]['exact'] / n:>{width - 8}.0%} ({row[t]['exact']:>2}/{n:<2})" for t in runners
        )
        similar = "  ".join(f"{row[t]['similarity']:>{width}.3f}" for t in runners)
        print(f"{group:<20} {n:>3}  {exact}\n{'  similarity':<20} {'':>3}  {similar}")
    print("seconds: " + ", ".join(f"{t} {s:.2f}" for t, s in seconds.items()))
    if args.verbose:
        for tool, names in misses.items():
            print(f"\n{tool} misses {len(names)}:" + "".join(f"\n  {n}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
