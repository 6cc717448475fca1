"""Listener groups, each with a `register(app, services)`."""
