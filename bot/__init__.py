"""Handoff: partner referrals by email, claimed in Slack."""

__version__ = "0.1.0"
