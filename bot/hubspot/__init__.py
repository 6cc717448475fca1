"""The HubSpot wire: its API through the official client (api.py), the deal written on each
change (push.py), deals read back on a schedule (pull.py), and the one-time setup (setup.py)."""
