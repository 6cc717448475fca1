"""The README's first command: `handoff demo` tells the story of the bundled sample emails."""

from __future__ import annotations

from pathlib import Path


def test_demo(handoff, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = handoff("demo")
    assert "new_intro       ACME-1  Jane Doe <jane.doe@hooli.example>" in out
    assert "thread_reply    ACME-1  (first response)" in out
    assert "duplicate       ACME-1" in out
    assert "(conflicts with ACME-1: disputed)" in out
    assert "auto_reply" in out and "unknown_partner" in out
    assert "GLOBEX-2     globex       Jane Doe <jane.doe@hooli.example>" in out
    assert "disputed (vs ACME-1)" in out
    # Throwaway: nothing is left behind in the working folder.
    assert list(tmp_path.iterdir()) == []
