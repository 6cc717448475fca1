"""Sender authentication (issue 20): a From is believed on our own server's word alone."""

from __future__ import annotations

import pytest

from bot.email.authresults import verdict

OURS = "mx.ours.example"


@pytest.mark.parametrize(
    ("headers", "trusted"),
    [
        ([f"{OURS}; dmarc=pass (p=reject) header.from=acmeconsulting.example"], True),
        ([f"{OURS}; spf=pass smtp.mailfrom=dana@acmeconsulting.example"], True),
        ([f"{OURS}; dkim=pass header.d=mail.acmeconsulting.example header.s=s1"], True),
        ([f"{OURS} 1; dkim=pass (2048-bit key) header.i=@acmeconsulting.example"], True),
        # Another server's word, or a forger's, counts for nothing.
        (["mx.evil.example; dmarc=pass header.from=acmeconsulting.example"], False),
        ([f"{OURS}; dmarc=fail (p=none) header.from=acmeconsulting.example"], False),
        # Passing for another domain is not passing for the From's.
        ([f"{OURS}; spf=pass smtp.mailfrom=bounce@mailer.example; dkim=none"], False),
        ([f"{OURS}; dkim=pass header.d=mailer.example"], False),
        ([f"{OURS}; dmarc=pass header.from=other.example"], False),
        ([], False),
        # Only the topmost of ours counts: our server prepends its own (and strips look-alikes
        # that came with the message), so a pass further down is a forger's.
        (
            [
                f"{OURS}; dmarc=fail header.from=acmeconsulting.example",
                f"{OURS}; dmarc=pass header.from=acmeconsulting.example",
            ],
            False,
        ),
    ],
)
def test_what_our_server_vouches_for(headers: list[str], trusted: bool) -> None:
    assert (
        verdict(tuple(headers), authserv_id=OURS, from_domain="acmeconsulting.example").trusted
        is trusted
    )


def test_the_reason_names_what_was_checked() -> None:
    said = verdict(
        (f"{OURS}; dmarc=fail header.from=acmeconsulting.example; spf=softfail",),
        authserv_id=OURS,
        from_domain="acmeconsulting.example",
    )
    assert (
        said.reason
        == f"{OURS} did not authenticate acmeconsulting.example (dmarc=fail, spf=softfail)"
    )
