"""Local stand-ins for what Handoff talks to: Slack's Web API, and Slack's signed requests.

The tests and `handoff demo` use them alike, so that both run the real code paths with no
network and no accounts.
"""
