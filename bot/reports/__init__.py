"""/attribution and `handoff report`: what each partner brought in a period, and what became of it.

periods.py parses what people type; summary.py and listing.py ask the database (aggregates,
the same on SQLite and PostgreSQL); render.py shows it as tables, JSON and CSV; chart.py draws
it. bot/slack/attribution.py is the slash command.
"""
