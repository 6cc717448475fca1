"""Every change leaves Handoff as a signed webhook (Standard Webhooks), through the outbox.

emit.py writes one delivery per subscribed endpoint in the transaction of the change;
sending.py carries them out in a lane of the outbox of their own; endpoints.py is what
`handoff webhooks` does; signing.py is the specification's signature.
"""
