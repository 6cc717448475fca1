"""Slack: Block Kit builders and, in time, the app and its listeners."""
