"""Pure: what marks a message as written by a machine on a person's behalf."""

from __future__ import annotations

import re

# Out-of-office subjects as clients write them: the phrase, then ":" (or nothing more).
OOO_SUBJECT = re.compile(
    r"^[ \t]*(auto(matic|matische)?[ -]?(reply|antwort|response)|autoreply|auto"
    r"|out of (the )?office( auto ?reply)?|abwesenheitsnotiz|r[ée]ponse automatique"
    r"|respuesta autom[áa]tica|risposta automatica|automatisch antwoord|absence|ooo"
    r"|on vacation|vacation reply)[ \t]*(:|$)",
    re.IGNORECASE,
)
