"""Generate a realistic, deterministic mbox of partner-referral mail for benchmarking Handoff.

    uv run python -m bench.mbox OUT.mbox [--messages 10000] [--seed 1]

The file is mboxrd-style: every message starts with a ``From <envelope-sender> <asctime>`` line,
body lines matching ``^>*From `` get one more ``>``, and a blank line separates messages.
Line endings are LF. Messages are written one at a time; only small per-intro records (and a
bounded ring of recent messages for re-delivery duplicates) are kept in memory.

Mix (exact counts after rounding, shuffled; the first few messages are always intros):
  intro      45%  partner contact -> prospect, Cc (or Bcc) the partner address
  forward    10%  internal person forwards a partner's intro (Gmail/Outlook/Apple, some rfc822)
  reply      20%  replies to earlier intros (In-Reply-To/References), quoted history
  duplicate   8%  an earlier message re-delivered: same Message-ID, new delivery headers
  conflict    5%  another partner introduces an already-introduced prospect
  noise       7%  out-of-office, bulk newsletters, DSN bounces, unknown plus tag
  awkward     5%  no Message-ID, big base64 attachment, unknown charset, missing final boundary

API for the benchmark runner:
  PARTNERS           list of {"slug", "name", "contacts", "contact_names", "domains", "addresses"}
                     contacts: e-mail addresses; domains: ["<slug>.example"]; addresses: the
                     partner's alias at ours.example (["<slug>-intros@ours.example"] for the 5
                     alias partners, [] otherwise: partners+<slug>@ needs no registration)
  INTERNAL_DOMAINS   ["ours.example"]
  PARTNER_MAILBOX    "partners@ours.example"
  write_mbox(path, messages=10000, seed=1) -> dict   counts per category (sums to `messages`)
  generate(path, messages=10000, seed=1) -> (counts, details)   details: per sub-kind counts

All domains are .example, except freemail prospects at gmail.com (and Gmail-style Message-IDs
@mail.gmail.com). Standard library only.

Modules: cast (partners, reps, our mailbox), names and phrases (text pools), formats, html_mail
and mime (how clients write headers and bodies), sending and delivery (each side's headers), one
module per kind (intros, forwards, replies, noise, awkward; re-deliveries in delivery), generator
(the state they share), writer (the schedule and the file).
"""

from .cast import INTERNAL_DOMAINS, PARTNER_MAILBOX, PARTNERS
from .writer import CATEGORIES, WEIGHTS, generate, write_mbox

__all__ = [
    "CATEGORIES",
    "INTERNAL_DOMAINS",
    "PARTNERS",
    "PARTNER_MAILBOX",
    "WEIGHTS",
    "generate",
    "write_mbox",
]
