"""Listener groups, each with a `register(app)` that wires its module-level callbacks.

Callbacks take what they need by name, as Bolt injects it: `ack`, `body`, `action`, `view`,
`command`, `respond`, and `services` (the Services that bot/slack/app.py puts in the context).
"""
